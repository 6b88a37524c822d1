"""Training controls against PyTorch in float64 from the same initial weights: each learning-rate
schedule (torch.optim.lr_scheduler, plateau and warmup included), gradient clipping
(clip_grad_norm_) and class weights give the same parameter trajectory within 1e-8 relative
over 6 epochs. Skipped without torch (not a dependency of Descent; the closed-form checks of the
same controls in ``test_nn_controls`` always run)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_nn_training import blobs

from worker.nn import Network, RandomStreams, fill_training_defaults, run_fit
from worker.nn.class_weights import class_weight_vector

torch = pytest.importorskip("torch", reason="torch is not installed: the PyTorch comparisons "
                                            "of the training controls are skipped")
F = torch.nn.functional
EPOCHS, TOLERANCE = 6, 1e-8
HIDDEN = [{"units": 8, "activation": "tanh"}, {"units": 6, "activation": "relu"}]


def torch_model(net: Network) -> list[Any]:
    """The engine's ``[W0, b0, …]`` as torch leaf tensors (W kept ``(fan_in, fan_out)``)."""
    return [torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True) for p in net.params]


def torch_logits(params: list[Any], X: Any) -> Any:
    A = X
    for i in range(0, len(params) - 2, 2):
        Z = A @ params[i] + params[i + 1]
        A = torch.tanh(Z) if HIDDEN[i // 2]["activation"] == "tanh" else torch.relu(Z)
    return A @ params[-2] + params[-1]


def torch_loss(logits: Any, Y: Any, loss: str, class_weights: Any) -> Any:
    if loss == "cross_entropy":
        return F.cross_entropy(logits, Y.argmax(dim=1), weight=class_weights)
    per_row = F.binary_cross_entropy_with_logits(logits, Y, reduction="none").mean(dim=1)
    if class_weights is None:
        return per_row.mean()
    w = class_weights[Y.argmax(dim=1)]
    return (w * per_row).sum() / w.sum()


def make_scheduler(optimizer: Any, spec: dict[str, Any] | None) -> Any:
    lr = torch.optim.lr_scheduler
    if spec is None:
        return None
    name = spec["name"]
    if name == "step":
        return lr.StepLR(optimizer, step_size=spec["step_size"], gamma=spec["gamma"])
    if name == "exponential":
        return lr.ExponentialLR(optimizer, gamma=spec["gamma"])
    if name == "cosine":
        return lr.CosineAnnealingLR(optimizer, T_max=spec["t_max"], eta_min=spec["eta_min"])
    return lr.ReduceLROnPlateau(optimizer, mode="min", factor=spec["factor"],
                                patience=spec["patience"], threshold=spec["threshold"],
                                threshold_mode="rel", cooldown=0, min_lr=spec["min_lr"])


def torch_run(net: Network, data: tuple[Any, ...], config: dict[str, Any],
              class_weights: np.ndarray | None) -> list[list[np.ndarray]]:
    """The reference loop: per epoch, per batch zero_grad, loss, backward, clip, step; the
    scheduler stepped once per epoch (plateau on the validation loss); warmup by hand."""
    X, Y, Xv, Yv = (torch.tensor(a) for a in data)
    params = torch_model(net)
    opt_spec, decay = config["optimizer"], config["weight_decay"]
    groups = [{"params": params[0::2], "weight_decay": decay},
              {"params": params[1::2], "weight_decay": 0.0}]
    lr0 = opt_spec["learning_rate"]
    optimizer = (torch.optim.SGD(groups, lr=lr0) if opt_spec["name"] == "sgd" else
                 torch.optim.Adam(groups, lr=lr0, betas=(opt_spec["beta1"], opt_spec["beta2"]),
                                  eps=opt_spec["epsilon"]))
    cw = None if class_weights is None else torch.tensor(class_weights)
    warmup, scheduler, trajectory = config["warmup_epochs"], None, []
    for e in range(EPOCHS):
        if e < warmup:
            for group in optimizer.param_groups:
                group["lr"] = lr0 * (e + 1) / warmup
        elif e == warmup:
            for group in optimizer.param_groups:
                group["lr"] = lr0
            scheduler = make_scheduler(optimizer, config["lr_schedule"])
        for start in range(0, X.shape[0], config["batch_size"]):
            rows = slice(start, start + config["batch_size"])
            optimizer.zero_grad()
            torch_loss(torch_logits(params, X[rows]), Y[rows], net.loss_name, cw).backward()
            if config["clip_grad_norm"] is not None:
                norm = torch.nn.utils.clip_grad_norm_(params, config["clip_grad_norm"])
                NORMS.append(float(norm) / config["clip_grad_norm"])
            optimizer.step()
        with torch.no_grad():
            val_loss = float(torch_loss(torch_logits(params, Xv), Yv, net.loss_name, cw))
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


CASES = {
    "step": {"lr_schedule": {"name": "step", "step_size": 2, "gamma": 0.5}},
    "exponential": {"lr_schedule": {"name": "exponential", "gamma": 0.7}},
    "cosine": {"lr_schedule": {"name": "cosine", "t_max": 4, "eta_min": 0.002}},
    "plateau": {"lr_schedule": {"name": "plateau", "factor": 0.5, "patience": 0,
                                "threshold": 0.2}},
    "warmup-step": {"warmup_epochs": 2,
                    "lr_schedule": {"name": "step", "step_size": 1, "gamma": 0.5}},
    "warmup-plateau": {"warmup_epochs": 2, "lr_schedule": {
        "name": "plateau", "factor": 0.3, "patience": 0, "threshold": 0.3, "min_lr": 0.004}},
    "clip-decay-adam": {"clip_grad_norm": 0.3, "weight_decay": 0.01,
                        "optimizer": {"name": "adam", "learning_rate": 0.02}},
    "clip-sgd": {"clip_grad_norm": 0.2, "weight_decay": 0.05},
    "class-weights-ce": {"class_weight": {"0": 0.5, "2": 4.0}},
    "class-weights-balanced-bce": {"class_weight": "balanced", "loss": "binary_cross_entropy"},
    "everything": {"warmup_epochs": 1, "clip_grad_norm": 0.3, "class_weight": "balanced",
                   "lr_schedule": {"name": "cosine", "t_max": 3, "eta_min": 0.0},
                   "optimizer": {"name": "adam", "learning_rate": 0.03}},
}
NORMS: list[float] = []  # ‖g‖ / c of every clipped step: some must be > 1


@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_equals_pytorch(case: str) -> None:
    options = dict(CASES[case])
    loss = options.pop("loss", "cross_entropy")
    output = "softmax" if loss == "cross_entropy" else "sigmoid"
    # imbalanced classes, so that class weights matter
    X, Y = blobs(90, classes=3, seed=4)
    keep = np.flatnonzero((Y.argmax(axis=1) != 2) | (np.arange(90) % 3 == 0))
    X, Y = (X[keep] - 10.0) / 10.0, Y[keep]
    Xv, Yv = X[:20], Y[:20]
    X, Y = X[20:], Y[20:]
    config = fill_training_defaults({
        "epochs": EPOCHS, "batch_size": 16, "shuffle": False, "dtype": "float64",
        "validation_split": None, "early_stopping": None, "standardize": False,
        "optimizer": {"name": "sgd", "learning_rate": 0.2}, **options})
    net = Network.from_spec({"hidden_layers": HIDDEN, "output_activation": output,
                             "loss": loss}, 5, 3, seed=7, dtype="float64")
    class_weights = class_weight_vector(config["class_weight"], Y, loss)
    NORMS.clear()
    reference = torch_run(net, (X, Y, Xv, Yv), config, class_weights)
    ours: list[list[np.ndarray]] = []
    run = run_fit(net, X, Y, config, task="classification", streams=RandomStreams(0),
                  validation=(Xv, Yv), on_epoch=lambda e, m, s: ours.append(s.params))
    assert len(ours) == EPOCHS
    worst = 0.0
    for epoch, (a, b) in enumerate(zip(ours, reference, strict=True), start=1):
        for p, q in zip(a, b, strict=True):
            worst = max(worst, float(np.linalg.norm(p - q) / np.linalg.norm(q)))
        assert worst <= TOLERANCE, f"epoch {epoch}: relative difference {worst:.3g}"
    moved = np.linalg.norm(ours[-1][0] - ours[0][0])
    assert moved > 1e-3  # the trajectory goes somewhere
    if config["clip_grad_norm"] is not None:
        assert max(NORMS) > 1 and min(NORMS) < 10, "clipping must be active in this case"
    rates = [row["learning_rate"] for row in run.history]
    print(f"{case}: max relative difference {worst:.3g}; learning rates {rates}")
