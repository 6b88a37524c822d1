"""Descent's data plane: the worker process, the job runner and the engine (`worker.nn`)."""
