"""`descent models evaluate MODEL DATASET`: the model's report on a dataset with targets,
printed as tables (the per-class numbers and the confusion matrix) or as JSON (``--json``)."""

from __future__ import annotations

import argparse
from typing import Any

from ..api import Client
from .output import emit_json, fields, number, say, table


def add_parser(actions: Any, common: argparse.ArgumentParser) -> None:
    evaluate = actions.add_parser("evaluate", parents=[common],
                                  help="evaluate a model on a dataset with targets")
    evaluate.add_argument("id", help="model id (mdl_…)")
    evaluate.add_argument("dataset", help="dataset id (ds_…) with targets")
    evaluate.add_argument("--timeout", type=float, default=None,
                          help="seconds to wait for a large dataset's evaluate job")
    evaluate.set_defaults(handler=evaluate_model)


def evaluate_model(args: argparse.Namespace, client: Client) -> int:
    evaluation = client.evaluate(args.id, args.dataset, timeout=args.timeout)
    if args.json:
        emit_json(evaluation.to_dict())
        return 0 if evaluation.report is not None else 1
    if evaluation.report is None:
        error = evaluation.error or {}
        say(f"evaluation {evaluation.id} {evaluation.status}: {error.get('message', '')}")
        return 1
    print(f"evaluation {evaluation.id} of model {evaluation.model_id} on dataset "
          f"{evaluation.dataset_id} ({evaluation.n_rows} rows)")
    print_report(evaluation.report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    """A report as text: its headline numbers, then its tables."""
    task = report.get("task")
    if task == "classification":
        _classification(report)
    elif task == "regression":
        fields([(k, number(report.get(k))) for k in ("mae", "rmse", "r2")])
        print()
        table(["TARGET", "MAE", "RMSE", "R2"], [
            [t["name"], number(t["mae"]), number(t["rmse"]), number(t["r2"])]
            for t in report["targets"]])
    else:  # multilabel
        fields([(k, number(report.get(k))) for k in
                ("hamming_accuracy", "subset_accuracy", "micro_f1", "macro_f1")])
        print()
        table(["LABEL", "PRECISION", "RECALL", "F1", "SUPPORT"], [
            [r["label"], number(r["precision"]), number(r["recall"]), number(r["f1"]),
             r["support"]] for r in report.get("per_label", [])])


def _classification(report: dict[str, Any]) -> None:
    fields([(k, number(report.get(k))) for k in
            ("accuracy", "balanced_accuracy", "log_loss", "roc_auc")])
    print()
    rows = [[c["class"], number(c["precision"]), number(c["recall"]), number(c["f1"]),
             c["support"]] for c in report["per_class"]]
    total = sum(c["support"] for c in report["per_class"])
    for name in ("macro_avg", "weighted_avg"):
        avg = report[name]
        rows.append([name.replace("_", " "), number(avg["precision"]), number(avg["recall"]),
                     number(avg["f1"]), total])
    table(["CLASS", "PRECISION", "RECALL", "F1", "SUPPORT"], rows)
    print()
    print("confusion matrix (rows: true, columns: predicted)")
    classes = [str(c) for c in report["classes"]]
    table(["TRUE \\ PRED", *classes],
          [[label, *row] for label, row in zip(classes, report["confusion_matrix"], strict=True)])
