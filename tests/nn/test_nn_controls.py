"""Training controls against their formulas (NumPy only, always run): learning-rate schedules
and warmup, ReduceLROnPlateau by hand, gradient clipping, class weights, dropout; and resume from
every epoch with all of them on is bit-identical. The same controls against PyTorch are in
``test_nn_controls_torch``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from test_nn_training import blobs, without_seconds

from worker.nn import Network, SpecError, TrainingState, gradcheck, train
from worker.nn.class_weights import class_weight_vector
from worker.nn.clipping import clip_grad_norm
from worker.nn.schedules import Schedule

PLAIN = {"validation_split": None, "early_stopping": None, "standardize": False,
         "shuffle": False, "dtype": "float64"}


def net64(hidden: list[dict[str, Any]] | None = None, output: str = "softmax",
          loss: str = "cross_entropy", seed: int = 0) -> Network:
    hidden = hidden if hidden is not None else [{"units": 7, "activation": "tanh"},
                                                {"units": 6, "activation": "relu"}]
    return Network.from_spec({"hidden_layers": hidden, "output_activation": output,
                              "loss": loss}, 5, 3, seed=seed, dtype="float64")


# -- schedules ---------------------------------------------------------------------------------

def formula(spec: dict[str, Any] | None, lr0: float, e: int, warmup: int = 0) -> float:
    if e < warmup:
        return lr0 * (e + 1) / warmup
    s = e - warmup
    if spec is None:
        return lr0
    if spec["name"] == "step":
        return lr0 * spec["gamma"] ** (s // spec["step_size"])
    if spec["name"] == "exponential":
        return lr0 * spec["gamma"] ** s
    eta_min = spec["eta_min"]
    return eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * s / spec["t_max"])) / 2


SCHEDULES = [
    None,
    {"name": "step", "step_size": 3, "gamma": 0.5},
    {"name": "exponential", "gamma": 0.8},
    {"name": "cosine", "t_max": 4, "eta_min": 0.001},
]


@pytest.mark.parametrize("warmup", [0, 3])
@pytest.mark.parametrize("spec", SCHEDULES, ids=["constant", "step", "exponential", "cosine"])
def test_history_learning_rate_is_the_formula(spec: dict[str, Any] | None, warmup: int) -> None:
    X, Y = blobs(60)
    history = train(net64(), X, Y, {**PLAIN, "epochs": 9, "lr_schedule": spec,
                                    "warmup_epochs": warmup,
                                    "optimizer": {"name": "sgd", "learning_rate": 0.05}})
    expected = [formula(spec, 0.05, e, warmup) for e in range(9)]
    assert [row["learning_rate"] for row in history] == pytest.approx(expected, rel=1e-15)
    if warmup:
        assert history[0]["learning_rate"] == pytest.approx(0.05 / 3)
        assert history[3]["learning_rate"] == pytest.approx(0.05)  # schedule at s = 0


PLATEAU = {"name": "plateau", "factor": 0.5, "patience": 1, "threshold": 0.1, "min_lr": 0.0}


def rates(schedule: Schedule, losses: list[float]) -> list[float]:
    out = []
    for e, loss in enumerate(losses):
        out.append(schedule.rate(e))
        schedule.observe(e, loss)
    return out


def test_plateau_by_hand() -> None:
    # e0: best 1.0; e1: 0.95 ≥ 1.0·0.9, bad 1; e2: bad 2 > patience 1 → lr 0.5, bad 0;
    # e3: 0.5 < 0.9, best 0.5; e4: bad 1; e5: bad 2 → lr 0.25; e6: bad 1.
    losses = [1.0, 0.95, 0.95, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert rates(Schedule(1.0, PLATEAU), losses) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    # min_lr bounds it, and a reduction of no more than 1e-8 is not applied (torch's eps)
    floored = Schedule(1.0, {**PLATEAU, "min_lr": 0.3})
    assert rates(floored, losses) == [1, 1, 1, 0.5, 0.5, 0.5, 0.3, 0.3]
    tiny = Schedule(1e-8, {**PLATEAU, "factor": 0.5})
    assert rates(tiny, losses) == [1e-8] * 8
    # patience 0: every epoch without improvement reduces
    eager = Schedule(1.0, {**PLATEAU, "patience": 0, "threshold": 0.0})
    assert rates(eager, [1.0, 1.0, 0.9, 0.9]) == [1, 1, 0.5, 0.5]


def test_plateau_after_warmup_starts_from_lr0() -> None:
    schedule = Schedule(1.0, PLATEAU, warmup=2)
    # warmup epochs are not watched; then as above from s = 0
    assert rates(schedule, [9.0, 9.0, 1.0, 0.95, 0.95, 0.5]) == [0.5, 1, 1, 1, 1, 0.5]


def test_plateau_watches_val_loss_else_loss() -> None:
    X, Y = blobs(60)
    for split, key in ((0.25, "val_loss"), (None, "loss")):
        spec = {**PLATEAU, "threshold": 0.5, "patience": 0}
        history = train(net64(), X, Y, {**PLAIN, "epochs": 6, "validation_split": split,
                                        "lr_schedule": spec, "optimizer": {"name": "sgd"}})
        schedule = Schedule(0.01, spec)
        assert [r["learning_rate"] for r in history] == rates(schedule, [r[key] for r in history])
        assert history[-1]["learning_rate"] < 0.01


# -- clipping ----------------------------------------------------------------------------------

def test_clip_grad_norm_scales_to_the_norm() -> None:
    g = np.array([3.0, 4.0])
    assert clip_grad_norm(g, 1.0) == 5.0
    np.testing.assert_allclose(g, np.array([3.0, 4.0]) / (5 + 1e-6), rtol=1e-15)
    small = np.array([0.3, 0.4])
    clip_grad_norm(small, 1.0)
    assert small.tolist() == [0.3, 0.4]  # min(1, c / (‖g‖ + 1e-6)) = 1


def test_clipping_comes_before_weight_decay() -> None:
    """One full-batch SGD step: W ← W − lr (clip(g) + λ W), biases undecayed."""
    X, Y = blobs(40)
    net = net64()
    loss, grads = net.loss_and_grads(X, Y)
    flat = np.concatenate([g.ravel() for g in grads[0::2]] + [g.ravel() for g in grads[1::2]])
    c, lr, decay = 0.05, 0.1, 0.01
    assert np.linalg.norm(flat) > c
    before = net.flat_params.copy()
    expected = before - lr * flat * min(1.0, c / (np.linalg.norm(flat) + 1e-6))
    expected[: net.n_weights] -= lr * decay * before[: net.n_weights]
    train(net, X, Y, {**PLAIN, "epochs": 1, "batch_size": 40, "clip_grad_norm": c,
                      "weight_decay": decay, "optimizer": {"name": "sgd", "learning_rate": lr}})
    np.testing.assert_allclose(net.flat_params, expected, rtol=1e-12, atol=1e-15)


# -- class weights -----------------------------------------------------------------------------

def test_balanced_is_n_over_k_n_c() -> None:
    Y = np.eye(3)[[0, 0, 0, 0, 1, 1, 2, 0]]
    np.testing.assert_allclose(class_weight_vector("balanced", Y, "cross_entropy"),
                               [8 / (3 * 5), 8 / (3 * 2), 8 / (3 * 1)])
    absent = np.eye(3)[[0, 0, 1]]  # class 2 is not in the training part: k = 2, weight 1
    np.testing.assert_allclose(class_weight_vector("balanced", absent, "cross_entropy"),
                               [3 / 4, 3 / 2, 1.0])
    assert class_weight_vector({"b": 2.0}, Y, "cross_entropy", ["a", "b", "c"]).tolist() == [
        1, 2, 1]
    with pytest.raises(SpecError) as info:
        class_weight_vector({"d": 2.0}, Y, "cross_entropy", ["a", "b", "c"])
    assert info.value.loc == ("training", "class_weight", "d")
    with pytest.raises(SpecError, match="class_weight"):
        class_weight_vector("balanced", Y, "mse")


@pytest.mark.parametrize(("output", "loss"), [("softmax", "cross_entropy"),
                                              ("sigmoid", "binary_cross_entropy")])
def test_weighted_loss_value_and_gradient(output: str, loss: str) -> None:
    X, Y = blobs(30)
    net = net64(output=output, loss=loss)
    w = np.array([0.5, 2.0, 3.0])[Y.argmax(axis=1)]
    Z, A = net.logits_and_outputs(net.prepare_inputs(X))
    if loss == "cross_entropy":
        per_row = -(Y * np.log(A)).sum(axis=1)
    else:
        per_row = -(Y * np.log(A) + (1 - Y) * np.log(1 - A)).mean(axis=1)
    value = net.loss(X, Y, sample_weight=w)
    assert value == pytest.approx((w * per_row).sum() / w.sum(), rel=1e-12)
    assert gradcheck(net, X, Y, sample_weight=w) < 1e-7
    # equal weights are the plain mean
    assert net.loss(X, Y, sample_weight=np.full(30, 4.0)) == pytest.approx(net.loss(X, Y))


def test_class_weights_step_and_history_loss() -> None:
    X, Y = blobs(40)
    net = net64()
    cw = class_weight_vector({"0": 3.0}, Y, "cross_entropy")
    w = cw[Y.argmax(axis=1)]
    loss, grads = net.loss_and_grads(X, Y, sample_weight=w)
    flat = np.concatenate([g.ravel() for g in grads[0::2]] + [g.ravel() for g in grads[1::2]])
    expected = net.flat_params - 0.1 * flat
    history = train(net, X, Y, {**PLAIN, "epochs": 1, "batch_size": 40, "class_weight": {"0": 3},
                                "optimizer": {"name": "sgd", "learning_rate": 0.1}})
    np.testing.assert_allclose(net.flat_params, expected, rtol=1e-12, atol=1e-15)
    assert history[0]["loss"] == pytest.approx(loss, rel=1e-12)


# -- dropout -----------------------------------------------------------------------------------

def test_dropout_with_a_fixed_mask_passes_gradcheck() -> None:
    X, Y = blobs(20)
    net = net64([{"units": 7, "activation": "tanh", "dropout": 0.5},
                 {"units": 6, "activation": "elu", "dropout": 0.3}])
    rng = np.random.default_rng(1)
    masks = [(rng.random((20, 7)) >= 0.5) / 0.5, (rng.random((20, 6)) >= 0.3) / 0.7]
    assert gradcheck(net, X, Y, masks=masks) < 1e-7
    assert net.loss(X, Y, masks=masks) != net.loss(X, Y)  # the masks matter
    ones = [np.ones((20, 7)), np.ones((20, 6))]
    assert net.loss(X, Y, masks=ones) == pytest.approx(net.loss(X, Y), rel=1e-14)


def test_dropout_masks_are_inverted_and_off_at_evaluation() -> None:
    from worker.nn.dropout import draw_masks

    mask = np.empty((2000, 50))
    draw_masks(np.random.default_rng(0), [0.2], [mask])
    assert set(np.unique(mask).tolist()) == {0.0, 1.25}
    assert abs(float((mask == 0).mean()) - 0.2) < 0.01
    X, Y = blobs(60)
    hidden = [{"units": 7, "activation": "relu", "dropout": 0.5}]
    a, b = net64(hidden), net64([{"units": 7, "activation": "relu"}])
    np.testing.assert_array_equal(a.forward(X), b.forward(X))  # identity at predict
    train(a, X, Y, {**PLAIN, "epochs": 2})
    train(b, X, Y, {**PLAIN, "epochs": 2})
    assert not np.array_equal(a.flat_params, b.flat_params)  # but not while training


def test_dropout_masks_drawn_into_buffers_are_the_fresh_arrays_ones() -> None:
    """Masks drawn with or without the loop's preallocated float64 buffers are
    ``[U ≥ p] / (1 − p)`` of the stream's next uniforms, and leave the stream alike."""
    from worker.nn.dropout import draw_masks

    reference, fresh, buffered = (np.random.default_rng(7) for _ in range(3))
    for dtype in (np.float32, np.float64):
        want = [((reference.random((30, 9)) >= 0.3) / 0.7).astype(dtype), None,
                ((reference.random((30, 4)) >= 0.55) / 0.45).astype(dtype)]
        a = [np.empty((30, 9), dtype), None, np.empty((30, 4), dtype)]
        b = [np.empty((30, 9), dtype), None, np.empty((30, 4), dtype)]
        draw_masks(fresh, [0.3, 0.0, 0.55], a)
        draw_masks(buffered, [0.3, 0.0, 0.55], b, [np.empty((30, 9)), None, np.empty((30, 4))])
        for got in (a, b):
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[2], want[2])
        assert fresh.bit_generator.state == reference.bit_generator.state
        assert buffered.bit_generator.state == reference.bit_generator.state


EVERYTHING = {"epochs": 6, "batch_size": 16, "validation_split": 0.25, "early_stopping": None,
              "lr_schedule": {"name": "plateau", "factor": 0.5, "patience": 0,
                              "threshold": 0.5},
              "warmup_epochs": 2, "clip_grad_norm": 0.5, "class_weight": "balanced",
              "optimizer": {"name": "adam", "learning_rate": 0.02}}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("schedule", [EVERYTHING["lr_schedule"],
                                      {"name": "cosine", "t_max": 3, "eta_min": 0.0}],
                         ids=["plateau", "cosine"])
def test_resume_from_every_epoch_with_dropout_and_a_schedule(
        dtype: str, schedule: dict[str, Any]) -> None:
    X, Y = blobs(80)
    hidden = [{"units": 9, "activation": "relu", "dropout": 0.3},
              {"units": 5, "activation": "tanh", "dropout": 0.1}]
    training = {**EVERYTHING, "lr_schedule": schedule, "dtype": dtype}

    def run(state: TrainingState | None = None) -> tuple[Network, list[Any], list[bytes]]:
        net = Network.from_spec({"hidden_layers": hidden}, 5, 3, dtype=dtype,
                                task="classification")
        states: list[bytes] = []
        history = train(net, X, Y, training, state=state,
                        on_epoch=lambda e, m, s: states.append(s.to_bytes()))
        return net, history, states

    full, history, states = run()
    assert len({row["learning_rate"] for row in history}) >= 3
    for k in range(1, 7):
        resumed, resumed_history, _ = run(TrainingState.from_bytes(states[k - 1]))
        assert np.array_equal(full.flat_params, resumed.flat_params), f"after epoch {k}"
        assert without_seconds(resumed_history) == without_seconds(history)
