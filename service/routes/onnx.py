"""``GET /v1/models/{model_id}/onnx``: the model as ONNX, its whole pipeline included.

The lead includes ``router`` beside ``service.routes.models``. Export goes through the same
in-process model cache as predict, so the file is built from exactly the network and the fitted
steps that answer ``/predict``; the graph is described in ``service.onnx_export``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service import inference
from service.deps import CallerDep, DbDep
from service.errors import InvalidInput, field_error
from service.onnx_export import NameClash, to_onnx
from service.problems import problem_responses

router = APIRouter(prefix="/v1/models", tags=["models"])

ONNX_MEDIA = "application/octet-stream"


@router.get(
    "/{model_id}/onnx",
    response_class=Response,
    responses={
        200: {
            "description": "An ONNX model (opset 17, ai.onnx.ml 3). Inputs: one per raw column, "
            "named as the column, [N, 1] — double for numeric (NaN = missing), string for "
            "categorical (\"\" = missing) — when the model has categorical columns or missing "
            "indicators; otherwise `input` [N, n_features] double. Outputs: `output` (class "
            "probabilities, or the regression values; double) and, for classification, "
            "`label` [N]. Metadata properties: classes, feature_names, feature_kinds, task, "
            "inputs, descent_version.",
            "content": {ONNX_MEDIA: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 404, 422),
    },
)
def get_onnx(model_id: str, request: Request, caller: CallerDep, db: DbDep) -> Response:
    loaded = inference.load_cached(request.app.state.model_cache, db,
                                   tenant_id=caller.tenant_id, model_id=model_id)
    try:
        content = to_onnx(loaded)
    except NameClash as exc:  # a column named `output` or `label`
        msg = f"model {model_id} cannot be exported as ONNX: {exc}"
        raise InvalidInput(msg, errors=[field_error(["path", "model_id"], msg)]) from None
    return Response(
        content,
        media_type=ONNX_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="{loaded.id}.onnx"'},
    )
