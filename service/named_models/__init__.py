"""Named models: the columns ``PATCH /v1/models/{id}`` sets and a fine-tuned model's parent
(``columns``, a mixin of ``service.tables.Model``), and model aliases (``tables``). Their
storage is ``service.repository.models`` and ``service.repository.aliases``."""
