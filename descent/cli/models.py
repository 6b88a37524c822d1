"""`descent models list|show|export|evaluate` and `descent predict MODEL FILE.csv` (naming
models and aliases: ``naming``)."""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path
from typing import Any

from ..api import Client
from ..types import Model
from . import evaluate, naming
from .csv_inputs import read_inputs
from .output import UsageError, emit_json, fields, first, number, page_size, say, table, when

CHUNK_ROWS = 5000  # rows per predict request: keeps bodies far below the upload limit


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("models", help="list, show, export, name and alias models")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="list models, newest first")
    listing.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    listing.add_argument("--name", help="only models of this name")
    listing.add_argument("--tag", help="only models with this tag")
    listing.set_defaults(handler=list_models)
    show = actions.add_parser("show", parents=[common], help="show one model")
    show.add_argument("id")
    show.set_defaults(handler=show_model)
    export = actions.add_parser("export", parents=[common], help="download weights or ONNX")
    export.add_argument("id")
    export.add_argument("--format", choices=("npz", "onnx"),
                        help="npz (weights, mean/scale) or onnx (default: from -o's suffix)")
    export.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    export.set_defaults(handler=export_model)
    evaluate.add_parser(actions, common)
    naming.add_parsers(actions, common)


def add_predict_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("predict", parents=[common], help="predict a CSV file")
    parser.add_argument("model", help="model id (mdl_…), or an alias (the model it names now "
                        "answers every row)")
    parser.add_argument("file", type=Path, help="CSV with a header row naming the model's "
                        "columns, in any order (empty cell: missing; other columns ignored)")
    parser.add_argument("-o", "--output", type=Path, help="write predictions here (default: "
                        "stdout); text cells starting with = + - @ get a leading ' so a "
                        "spreadsheet shows them instead of running them; numbers stay as they are")
    parser.add_argument("--store", action="store_true", help="keep the predictions on the server")
    parser.set_defaults(handler=predict_csv)


def list_models(args: argparse.Namespace, client: Client) -> int:
    found = first(client.list_models(page_size=page_size(args.limit), name=args.name,
                                     tag=args.tag), args.limit)
    if args.json:
        emit_json({"data": [m.to_dict() for m in found]})
        return 0
    table(["ID", "NAME", "TASK", "FEATURES", "EPOCHS", "VAL_LOSS", "JOB", "CREATED"], [
        [m.id, m.name or "-", m.task, m.n_features, m.epochs_trained,
         number((m.metrics or {}).get("val_loss")), m.job_id or "-", when(m.created_at)]
        for m in found])
    return 0


def show_model(args: argparse.Namespace, client: Client) -> int:
    model = client.get_model(args.id)
    if args.json:
        emit_json(model.to_dict())
        return 0
    fields([("id", model.id), ("name", model.name), ("tags", model.tags or None),
            ("description", model.description), ("parent", model.parent_model_id),
            ("task", model.task), ("job", model.job_id),
            ("dataset", model.dataset_id), ("features", model.n_features),
            ("columns", None if not model.columns else
             [f"{c['name']} ({c['kind']})" for c in model.columns]),
            ("classes", model.classes), ("targets", model.n_targets),
            ("epochs trained", model.epochs_trained), ("best epoch", model.best_epoch),
            ("metrics", model.metrics),
            ("weights sha256", model.weights_sha256), ("created", when(model.created_at)),
            ("network", model.spec.get("network"))])
    return 0


def export_model(args: argparse.Namespace, client: Client) -> int:
    output: Path = args.output
    kind = args.format or output.suffix.lower().lstrip(".")
    if kind not in ("npz", "onnx"):
        raise UsageError("--format npz or onnx (or an -o file ending in .npz or .onnx)")
    download = client.download_onnx if kind == "onnx" else client.download_weights
    content = download(args.id, output)
    if args.json:
        emit_json({"id": args.id, "format": kind, "path": str(output), "bytes": len(content)})
    else:
        say(f"wrote {output} ({kind}, {len(content)} bytes)")
    return 0


def predict_csv(args: argparse.Namespace, client: Client) -> int:
    # An alias is read once: a file of many chunks is predicted by one model even if the alias
    # moves meanwhile.
    model_id = args.model if args.model.startswith("mdl_") else client.get_alias(
        args.model).model_id
    model = client.get_model(model_id)
    rows, _ = read_inputs(args.file, model)  # records by column name when the model has names
    predictions: list[Any] = []
    probabilities: list[Any] | None = None
    ids = []
    ignored: dict[str, None] = {}
    for start in range(0, len(rows), CHUNK_ROWS):
        result = client.predict(model.id, rows[start:start + CHUNK_ROWS], store=args.store)
        predictions += result.predictions
        if result.probabilities is not None:
            probabilities = (probabilities or []) + result.probabilities
        if result.prediction_id:
            ids.append(result.prediction_id)
        ignored.update(dict.fromkeys(result.ignored_columns or []))
    if ignored:
        say(f"ignored column(s) that model {model.id} does not take: {', '.join(ignored)}")
    if args.json:
        emit_json({"model_id": model.id, "predictions": predictions,
                   "probabilities": probabilities, "prediction_ids": ids,
                   "ignored_columns": list(ignored)})
        return 0
    text = predictions_csv(model, predictions, probabilities)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        say(f"wrote {len(predictions)} predictions to {args.output}")
    return 0


# A cell a spreadsheet would run as a formula (OWASP, "CSV Injection"); \t and \r too, as some
# spreadsheets skip them before a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(cell: Any) -> Any:
    """``cell`` with a leading ``'`` when it is text that starts like a formula.

    Numbers — ``-0.25``, and labels that are numbers such as ``"-5"`` — are left as they are: a
    spreadsheet reads them as numbers, never as formulas, and they round-trip unchanged.
    """
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def predictions_csv(
    model: Model, predictions: list[Any], probabilities: list[Any] | None
) -> str:
    """``prediction`` (or ``prediction_0…`` for several targets; ``labels``, the label set
    joined by ``;``, for multilabel) then ``p_<class>`` columns.

    Labels come from whoever uploaded the dataset: text that a spreadsheet would run as a
    formula gets a leading ``'`` (`spreadsheet_safe`)."""
    if model.task == "multilabel":
        return _label_sets_csv(list(model.classes or []), predictions, probabilities or [])
    several = bool(predictions) and isinstance(predictions[0], list)
    header = ([f"prediction_{i}" for i in range(len(predictions[0]))] if several
              else ["prediction"])
    if probabilities is not None:
        header += [f"p_{c}" for c in (model.classes or range(len(probabilities[0])))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_safe(cell) for cell in header])
    for i, prediction in enumerate(predictions):
        row = list(prediction) if several else [prediction]
        if probabilities is not None:
            row += [repr(float(p)) for p in probabilities[i]]
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue()


def _label_sets_csv(labels: list[Any], predictions: list[Any],
                    probabilities: list[Any]) -> str:
    """Multilabel: ``labels`` (each row's set, joined by ``;``) then ``p_<label>`` columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_safe(cell) for cell in ["labels", *(f"p_{c}" for c in labels)]])
    for chosen, row in zip(predictions, probabilities, strict=True):
        cells = [";".join(str(c) for c in chosen), *(repr(float(row[str(c)])) for c in labels)]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    return buffer.getvalue()
