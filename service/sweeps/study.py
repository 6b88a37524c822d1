"""Optuna's view of a sweep, rebuilt from our trial rows whenever a decision is needed.

Our tables are the source of truth; Optuna is used as a library of samplers and pruners through
its ask-and-tell interface. Each decision builds a fresh in-memory study, adds every trial we
know of (``create_trial``/``add_trial``: complete with its value, pruned with its values so far,
failed, or running), then either asks for the next trial's parameters (`sample`) or asks the
pruner about a running trial (`should_prune`). Nothing Optuna holds outlives the call.

Sampling is deterministic: the sampler is seeded with the sweep's seed and the trial's number,
so trial ``n`` sampled again after a crash (its transaction rolled back) gets the same values,
and a random sweep's trials are a function of ``seed`` alone.
"""

from __future__ import annotations

import math
import warnings
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from service.sweeps import space as spaces
from service.sweeps.config import HyperbandRule, MedianRule, SweepCreate

# A trial's state in Optuna's terms (service.sweeps.trials maps a job's status to one).
STATES = ("running", "complete", "pruned", "failed")


@dataclass(frozen=True)
class TrialRecord:
    number: int
    params: dict[str, Any]
    state: str
    value: float | None = None
    # epoch → the metric after that epoch (the pruner's intermediate values).
    curve: dict[int, float] = field(default_factory=dict)


def trial_seed(seed: int, number: int) -> int:
    """The sampler's seed for trial ``number`` of a sweep seeded ``seed``."""
    return (seed * 1_000_003 + number * 7_919 + 1) % 2**32


def tpe_startup_trials(max_trials: int) -> int:
    """Random trials before TPE models the results: Optuna's 10, fewer for a small budget."""
    return max(2, min(10, max_trials // 4))


def _sampler(config: SweepCreate, number: int) -> Any:
    import optuna

    seed = trial_seed(config.seed, number)
    if config.method == "grid":
        return optuna.samplers.BruteForceSampler(seed=seed)
    if config.method == "tpe":
        # constant_liar: trials still running count as bad guesses, so parallel asks spread.
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=tpe_startup_trials(config.max_trials), constant_liar=True)
    return optuna.samplers.RandomSampler(seed=seed)


def _pruner(config: SweepCreate) -> Any:
    import optuna

    rule = config.early_termination
    if isinstance(rule, MedianRule):
        return optuna.pruners.MedianPruner(
            n_startup_trials=rule.startup_trials, n_warmup_steps=rule.warmup_epochs)
    if isinstance(rule, HyperbandRule):
        from worker.spec import spec_defaults

        epochs = int((config.base.get("training") or {}).get("epochs")
                     or spec_defaults()["training"]["epochs"])
        return optuna.pruners.HyperbandPruner(
            min_resource=rule.min_epochs, max_resource=max(epochs, rule.min_epochs),
            reduction_factor=rule.reduction_factor)
    return optuna.pruners.NopPruner()


def _frozen(config: SweepCreate, trial: TrialRecord, distributions: dict[str, Any],
            rungs: dict[str, float] | None) -> Any:
    from optuna.trial import TrialState, create_trial

    state = {"running": TrialState.RUNNING, "complete": TrialState.COMPLETE,
             "pruned": TrialState.PRUNED, "failed": TrialState.FAIL}[trial.state]
    value = trial.value if trial.state == "complete" else None
    if state == TrialState.COMPLETE and (value is None or not math.isfinite(value)):
        state, value = TrialState.FAIL, None
    curve = {k: v for k, v in trial.curve.items() if math.isfinite(v)}
    if trial.state == "pruned" and not curve and trial.value is not None:
        curve = {1: trial.value}  # what TPE ranks a pruned trial by
    return create_trial(
        state=state, value=value, params=spaces.to_optuna(config.space, trial.params),
        distributions=distributions, intermediate_values=curve, system_attrs=rungs,
    )


def _rungs(pruner: Any, study: Any, number: int, curve: dict[int, float],
           running: bool) -> dict[str, float] | None:
    """The rungs a trial completed, as Hyperband's successive halving records them on the
    trial while it runs (``completed_rung_<r>``: the value at the first epoch at or past the
    rung's epoch ``min_epochs·reduction_factor^(bracket + r)``); rebuilt from the curve, since
    we keep the curve and not Optuna's attributes. A running trial's rung at its latest epoch
    is left for the pruner to record (that is the decision being asked for). Reads Hyperband's
    private brackets (``_get_bracket_id``…): tests/sweeps/test_study.py pins the behaviour."""
    import optuna

    if not isinstance(pruner, optuna.pruners.HyperbandPruner):
        return None
    if not pruner._pruners:  # brackets from max_resource: no trials needed (once: it appends)
        pruner._try_initialization(study)
    bracket = pruner._get_bracket_id(study, _Numbered(number))  # type: ignore[arg-type]
    steps = sorted(curve)
    if running and steps:
        steps = steps[:-1]
    rungs: dict[str, float] = {}
    rung = 0
    while True:  # rung r holds the value at the first epoch at or past its epoch
        first = bisect_left(steps, pruner._min_resource * pruner._reduction_factor ** (
            bracket + rung))
        if first == len(steps):
            return rungs
        rungs[f"completed_rung_{rung}"] = curve[steps[first]]
        rung += 1


@dataclass(frozen=True)
class _Numbered:
    """What Hyperband's bracket choice reads of a trial: its number."""

    number: int


def _study(config: SweepCreate, name: str, trials: Sequence[TrialRecord], number: int,
           running: int | None = None) -> Any:
    """A fresh in-memory study holding ``trials`` in number order (Optuna numbers them as
    added, so a sweep's trial ``n`` is Optuna's ``n`` when every earlier one is there).
    ``running``: the trial whose pruning is asked about."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name, direction=config.metric.goal, sampler=_sampler(config, number),
        pruner=_pruner(config))
    distributions = spaces.distributions(config.space)
    step = max((e for t in trials if t.number == running for e in t.curve), default=0)
    for trial in sorted(trials, key=lambda t: t.number):
        rungs = _rungs(study.pruner, study, trial.number, trial.curve, trial.number == running)
        if running is not None and trial.number != running:
            # What a pruner reads of another trial: its value at the running trial's epoch
            # (median) or its rungs, just rebuilt (hyperband). Optuna copies every curve it
            # is given, so a whole one made each decision O(trials × epochs).
            trial = replace(trial, curve={step: trial.curve[step]} if step in trial.curve
                            else {})
        study.add_trial(_frozen(config, trial, distributions, rungs))
    return study


def sample(config: SweepCreate, trials: Sequence[TrialRecord], number: int,
           name: str = "sweep") -> dict[str, Any]:
    """Parameters for trial ``number``, given every trial sampled before it (``trials``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning (BruteForce, liar)
        study = _study(config, name, trials, number)
        asked = study.ask(spaces.distributions(config.space))
        return spaces.from_optuna(config.space, asked.params)


def should_prune(config: SweepCreate, trials: Sequence[TrialRecord], current: TrialRecord,
                 name: str = "sweep") -> bool:
    """Whether the early-termination rule stops ``current`` (a running trial, its curve so far)
    given the other trials (``trials``, ``current`` not among them)."""
    if config.early_termination is None or not current.curve:
        return False
    rule = config.early_termination
    if isinstance(rule, MedianRule) and (
            max(current.curve) < rule.warmup_epochs
            or sum(t.state == "complete" for t in trials) < max(rule.startup_trials, 1)):
        return False  # what MedianPruner answers then, without importing Optuna
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        everyone = sorted([*(t for t in trials if t.number != current.number), current],
                          key=lambda t: t.number)
        study = _study(config, name, everyone, current.number, running=current.number)
        position = [t.number for t in everyone].index(current.number)
        frozen = study.get_trials(deepcopy=False)[position]
        return bool(study.pruner.prune(study, frozen))
