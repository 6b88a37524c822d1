"""Optuna's view rebuilt from trial rows (``service.sweeps.study``): sampling is a function of
the seed, the trial's number and the trials before it; a grid visits every point once, also
with trials in flight; the median and Hyperband rules stop a trial that is behind and let one
that is ahead go on."""

from __future__ import annotations

from typing import Any

from service.sweeps.config import SweepCreate
from service.sweeps.space import apply
from service.sweeps.study import TrialRecord, sample, should_prune


def config(**over: Any) -> SweepCreate:
    body: dict[str, Any] = {
        "dataset_id": "ds_x", "base": {"training": {"epochs": 9}},
        "space": {"training.optimizer.learning_rate": {"log_uniform": [1e-4, 1e-1]},
                  "network.hidden_layers": {"choice": [[{"units": 8}], [], [{"units": 4}]]},
                  "training.batch_size": {"int": [8, 64]}},
        "max_trials": 20, **over}
    return SweepCreate.model_validate(body)


def test_a_trials_parameters_depend_on_seed_and_number_only_for_random() -> None:
    c = config()
    first = sample(c, [], 3)
    assert sample(c, [TrialRecord(0, sample(c, [], 0), "complete", 1.0)], 3) == first
    assert sample(config(seed=1), [], 3) != first
    assert first != sample(c, [], 4)
    assert 1e-4 <= first["training.optimizer.learning_rate"] <= 1e-1
    assert first["network.hidden_layers"] in ([{"units": 8}], [], [{"units": 4}])
    assert isinstance(first["training.batch_size"], int)


def test_tpe_sees_the_trials_and_stays_deterministic() -> None:
    c = config(method="tpe")
    trials = []
    for n in range(12):
        params = sample(c, trials, n)
        value = abs(params["training.optimizer.learning_rate"] - 0.01)
        trials.append(TrialRecord(n, params, "complete" if n % 4 else "pruned", value,
                                  {1: value}))
    assert sample(c, trials, 12) == sample(c, trials, 12)


def test_a_grid_visits_every_point_once_with_trials_in_flight() -> None:
    c = config(method="grid", max_trials=6, space={
        "network.hidden_layers": {"choice": [[{"units": 8}], [], [{"units": 4}]]},
        "training.seed": {"int": [1, 2]}})
    trials: list[TrialRecord] = []
    for n in range(6):
        trials.append(TrialRecord(n, sample(c, trials, n), "running" if n % 2 else "failed"))
    assert len({repr(sorted(t.params.items())) for t in trials}) == 6


def test_apply_sets_dotted_paths_without_touching_the_base() -> None:
    base = {"network": {"hidden_layers": [{"units": 3, "activation": "relu"}]}}
    spec = apply(base, {"network.hidden_layers.0.units": 9, "training.optimizer.name": "sgd"})
    assert spec == {"network": {"hidden_layers": [{"units": 9, "activation": "relu"}]},
                    "training": {"optimizer": {"name": "sgd"}}}
    assert base["network"]["hidden_layers"][0]["units"] == 3


def curve(value: float, epochs: int) -> dict[int, float]:
    return dict.fromkeys(range(1, epochs + 1), value)


def test_the_median_rule_stops_a_trial_behind_the_median_after_warmup() -> None:
    c = config(early_termination={"type": "median", "startup_trials": 3, "warmup_epochs": 2})
    done = [TrialRecord(n, sample(c, [], n), "complete", 1.0, curve(1.0, 9)) for n in range(3)]
    params = sample(c, [], 3)
    assert not should_prune(c, done, TrialRecord(3, params, "running", None, curve(5.0, 1)))
    assert should_prune(c, done, TrialRecord(3, params, "running", None, curve(5.0, 2)))
    assert not should_prune(c, done, TrialRecord(3, params, "running", None, curve(0.5, 5)))
    # Fewer completed trials than startup_trials: nothing is stopped yet.
    assert not should_prune(c, done[:2], TrialRecord(2, params, "running", None, curve(5.0, 5)))


def test_hyperband_compares_rungs_rebuilt_from_the_curves() -> None:
    c = config(early_termination={"type": "hyperband", "min_epochs": 1, "reduction_factor": 3})
    done = [TrialRecord(n, sample(c, [], n), "complete", 1.0, curve(1.0, 9)) for n in range(30)]
    params = sample(c, [], 30)
    # By epoch 9 every bracket has a rung to compare at (1, 3 or 9 epochs).
    assert should_prune(c, done, TrialRecord(30, params, "running", None, curve(9.0, 9)))
    assert not should_prune(c, done, TrialRecord(30, params, "running", None, curve(0.1, 9)))


def test_a_pruning_decision_copies_one_value_per_other_trial_and_decides_the_same(
        monkeypatch: Any) -> None:
    """Optuna copies every curve it is told about: handing it the other trials' whole curves
    made each epoch's decision O(trials × epochs). Trimmed to the running trial's epoch (what
    the pruners read), the decisions are those of the whole curves."""
    import random

    from service.sweeps import study

    rng = random.Random(0)
    for rule in ({"type": "median", "startup_trials": 3, "warmup_epochs": 2},
                 {"type": "hyperband", "min_epochs": 1, "reduction_factor": 3}):
        c = config(early_termination=rule)
        others = [TrialRecord(n, sample(c, [], n), rng.choice(["complete", "pruned", "failed"]),
                              rng.random(), {e: rng.random() for e in range(1, 10)})
                  for n in range(24)]
        built = study._study(c, "s", [*others, TrialRecord(24, {**others[0].params},
                             "running", None, {1: 0.5, 2: 0.5})], 24, running=24)
        assert max(len(t.intermediate_values) for t in built.trials[:24]) == 1
        currents = [TrialRecord(24, others[0].params, "running", None,
                                {e: rng.uniform(0.3, 1.5) for e in range(1, k + 1)})
                    for k in (1, 2, 3, 5, 9) for _ in range(4)]
        trimmed = [should_prune(c, others, t) for t in currents]
        monkeypatch.setattr(study, "replace", lambda trial, **_: trial)  # whole curves
        assert [should_prune(c, others, t) for t in currents] == trimmed
        assert any(trimmed) and not all(trimmed)
        monkeypatch.undo()
