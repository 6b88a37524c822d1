"""Hyperparameter sweeps: a search over a job spec's fields whose trials are train jobs.

``config`` (the request), ``space`` (dotted paths and distributions), ``study`` (Optuna's
view, rebuilt from our rows for each decision), ``trials`` (the rows as read), ``specs`` (a
trial's job spec), ``advance`` (sampling the next trials under the sweep's row lock),
``tables``. The train job's per-epoch pruning check is ``worker.jobs.pruning``.
"""
