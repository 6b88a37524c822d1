"""A training process's memory: its limit (``RLIMIT_AS``), its peak, and running out of it.

The limit is on address space, not resident memory: the kernel refuses an ``mmap``/``brk`` that
would take the process past it, so a runaway allocation fails with ``MemoryError`` in the
process that made it (a clean, reportable failure) instead of waking the OOM killer, which may
kill any process on the machine. Address space counts memory a process has reserved but not
touched (thread stacks, malloc arenas, OpenBLAS buffers), so the limit is set once the imports
are done, at the virtual size then plus the job's budget plus ``ADDRESS_SPACE_SLACK`` for what
the process reserves later without using much of it.
"""

from __future__ import annotations

import ctypes
import logging
import resource
from pathlib import Path

log = logging.getLogger("descent.worker.runner")

MiB = 1024 * 1024
# Address space a training process reserves after the limit is set beyond what its arrays
# use. Measured: ~150 MiB for a small job — each new thread's stack and malloc arena (72 MiB
# for the progress writer), the first matrix products' BLAS buffers, the database driver's.
# (BLAS pools start with NumPy, before the limit, so their threads' buffers are not in it.)
# Three times that, so that no job within its budget meets the limit.
ADDRESS_SPACE_SLACK = 512 * MiB
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's initial threshold, fixed


def return_freed_memory() -> None:
    """Serve every allocation of ``MMAP_THRESHOLD_BYTES`` or more with a mapping of its own, so
    that freeing it returns it to the system at once (glibc; elsewhere nothing changes).

    glibc's default threshold moves: each large block freed raises it (up to 32 MiB), after
    which blocks below it come from the heap and stay resident once freed. The resident size
    then follows the history of the job's allocations rather than what is live, and neither
    the estimate nor the budget can follow it (measured: +20–30 % on a job whose arrays are
    just under 32 MiB). The cost is a fresh mapping per large temporary, which the engine
    avoids in its loops (its batch buffers are preallocated).
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        pass


def status_bytes(field: str, pid: int | str = "self") -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmSize``, ``VmRSS``, ``VmHWM``) in bytes;
    0 where there is no ``/proc`` (not Linux)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def limit_address_space(budget_bytes: int) -> int | None:
    """Limit this process's address space to its current size + ``budget_bytes`` + slack.

    Returns the limit set, or None when it could not be (no ``/proc``, or a hard limit lower
    than ours: then the lower one stays).
    """
    current = status_bytes("VmSize")
    if not current:
        return None
    limit = current + budget_bytes + ADDRESS_SPACE_SLACK
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY and hard < limit:
        log.warning("address space hard limit %d is below the job budget's %d", hard, limit)
        return None
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    log.debug("address space limited to %d bytes (%d in use + budget + slack)", limit, current)
    return limit


def memory_limit_message(budget_bytes: int | None, detail: str = "") -> str:
    """What a job that ran out of memory is told (its error message)."""
    limit = "its memory limit" if budget_bytes is None else (
        f"its memory limit of {_size(budget_bytes)} (DESCENT_MAX_JOB_MEMORY_BYTES)"
    )
    message = (
        f"the job ran out of memory: it needs more than {limit}; use a smaller network,"
        " a smaller batch_size, float32 or less data"
    )
    return f"{message} ({detail})" if detail else message


def out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is, or was raised while handling or because of, a ``MemoryError``."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, MemoryError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def log_peak(job_id: str) -> None:
    """Log this process's peak resident memory (``VmHWM``): what the estimate is held to."""
    log.info(
        "job %s: peak memory %d bytes (VmHWM), address space %d bytes (VmPeak)",
        job_id, status_bytes("VmHWM"), status_bytes("VmPeak"),
    )


def _size(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB" if n >= 1024**3 else f"{n / MiB:.0f} MiB"
