"""``Client``'s methods for named models and aliases (docs/api.md "Names, tags and deleting",
"Aliases"): a mixin, so that ``api`` keeps one screen per resource."""

from __future__ import annotations

from typing import Any

from . import tables
from .transport import Transport
from .types import Alias, Model, PredictResult

# ``update_model``'s fields that are not given (``None`` clears one).
UNCHANGED: Any = object()


class ModelNaming:
    _t: Transport

    def update_model(self, model_id: str, *, name: str | None = UNCHANGED,
                     description: str | None = UNCHANGED,
                     tags: list[str] | None = UNCHANGED) -> Model:
        """Set the model's ``name``, ``description`` and/or ``tags`` (the tags replace the
        old ones); a field not given stays, ``None`` clears it."""
        body = {k: v for k, v in (("name", name), ("description", description),
                                  ("tags", tags)) if v is not UNCHANGED}
        return Model.from_dict(self._t.json("PATCH", f"/v1/models/{model_id}", json=body))

    def delete_model(self, model_id: str) -> None:
        """Delete the model with its stored predictions and evaluations (409 while an alias
        names it or a queued or running job uses it)."""
        self._t.request("DELETE", f"/v1/models/{model_id}")

    def set_alias(self, alias: str, model_id: str) -> Alias:
        """Point ``alias`` at ``model_id``, creating it or moving it (atomically)."""
        return Alias.from_dict(self._t.json("PUT", f"/v1/models/aliases/{alias}",
                                            json={"model_id": model_id}))

    def get_alias(self, alias: str) -> Alias:
        return Alias.from_dict(self._t.json("GET", f"/v1/models/aliases/{alias}"))

    def list_aliases(self, model_id: str | None = None) -> list[Alias]:
        params = {"model_id": model_id} if model_id else None
        data = self._t.json("GET", "/v1/models/aliases", params=params)["data"]
        return [Alias.from_dict(item) for item in data]

    def delete_alias(self, alias: str) -> None:
        self._t.request("DELETE", f"/v1/models/aliases/{alias}")

    def predict_by_alias(self, alias: str, inputs: Any, store: bool = False) -> PredictResult:
        """``predict`` with the model ``alias`` names at the time of the request."""
        body = {"inputs": tables.predict_inputs(inputs), "store": store}
        return PredictResult.from_dict(
            self._t.json("POST", f"/v1/models/by-alias/{alias}/predict", json=body))
