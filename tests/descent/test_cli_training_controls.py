"""`descent jobs submit|estimate` flags for the training controls build the spec's fields."""

from __future__ import annotations

import pytest

from descent.cli import build_parser
from descent.cli.jobs import build_spec
from descent.cli.output import UsageError


def spec_of(*flags: str) -> dict:
    return build_spec(build_parser().parse_args(["jobs", "estimate", "--dataset", "ds_1", *flags]))


def test_control_flags_fill_the_spec() -> None:
    spec = spec_of("--hidden", "16:relu:0.25,8", "--lr-schedule",
                   '{"name": "cosine", "t_max": 10}', "--warmup-epochs", "2",
                   "--clip-grad-norm", "1.5", "--class-weight", '{"yes": 2}')
    assert spec["network"]["hidden_layers"] == [
        {"units": 16, "activation": "relu", "dropout": 0.25}, {"units": 8}]
    assert spec["training"] == {"lr_schedule": {"name": "cosine", "t_max": 10},
                                "warmup_epochs": 2, "clip_grad_norm": 1.5,
                                "class_weight": {"yes": 2}}
    assert spec_of("--class-weight", "balanced")["training"] == {"class_weight": "balanced"}


@pytest.mark.parametrize("flags", [("--hidden", "16:relu:lots"), ("--lr-schedule", "step"),
                                   ("--class-weight", "{yes: 2}")])
def test_bad_control_flags_are_usage_errors(flags: tuple[str, ...]) -> None:
    with pytest.raises(UsageError):
        spec_of(*flags)
