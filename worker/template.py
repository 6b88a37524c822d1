"""The template process: imports (and warms) what every job needs once, then forks training
processes from itself in a few milliseconds, instead of each job paying ~1 s of interpreter
start and imports (``python -m worker.template --spare``, started by `worker.spare.Launcher`).

Each training process is still a process of its own, started fresh from the template's memory:
its crash or ``MemoryError`` cannot touch the supervisor, its address-space limit is set from
the template's size as before, its BLAS pools are pinned to ``blas_threads``, and SIGTERM/SIGKILL
reach it by its pid. And it is the supervisor's child: the template forks twice and the middle
process exits at once, so the kernel hands the new process to the supervisor — a *child
subreaper* (``PR_SET_CHILD_SUBREAPER``) — which waits for it like any child it started itself;
the supervisor's death (``PR_SET_PDEATHSIG``, set once it is the supervisor's) kills it. A dead
template takes no training process with it; the supervisor starts another.

A process is forked *ahead* of its job (a spare, as ``python -m worker.runner --spare`` was): it
is adopted and ready while the supervisor waits for work, and starts training the moment the
supervisor writes the job's payload into its pipe — the fork is off the job's critical path.

The protocol, on the ``--socket-fd`` Unix socket (SOCK_SEQPACKET): the template's first message
is ``ready`` once warm; then each message from the supervisor carries the read end of a pipe
(``SCM_RIGHTS``) and is answered with the pid of a new process waiting on that pipe for its
payload (JSON; closed empty: it exits), or ``error <message>``. The socket closed: the template
exits.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import socket
import sys
import time

from worker.runner import SPARE_FLAG, StopFlag, die_with_parent, preload, set_process_name
from worker.warm import Warm, get_ready, warm_database, warm_up

SOCKET_FD_FLAG = "--socket-fd"
BLAS_THREADS_FLAG = "--blas-threads"
LEASE_SECONDS_FLAG = "--lease-seconds"
READY = b"ready"
TEMPLATE_NAME = "descent-tmpl"  # in ps/top (a forked spare is "descent-spare" until its job)
SPARE_NAME = "descent-spare"
MESSAGE_BYTES = 4096
# How long a new process waits to become the supervisor's child (its middle process exits
# right after forking it: microseconds, unless the machine is very loaded).
ADOPTION_SECONDS = 10.0

log = logging.getLogger("descent.worker.template")


def fork_spare(payload_fd: int, sock: socket.socket, supervisor_pid: int) -> int:
    """Fork twice: the grandchild waits on ``payload_fd`` for its job; the middle process tells
    us its pid and exits, which hands the grandchild to the supervisor (the subreaper). Returns
    the grandchild's pid once it is the supervisor's."""
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:  # the middle process
        try:
            os.close(read_end)
            pid = os.fork()
            if pid == 0:
                os.close(write_end)
                _spare(payload_fd, sock, supervisor_pid)  # never returns
            os.write(write_end, f"{pid}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(middle, 0)  # the grandchild is the supervisor's from here on
    if not answer.strip():
        raise OSError("the middle process could not fork")
    return int(answer)


def _spare(payload_fd: int, sock: socket.socket, supervisor_pid: int) -> None:
    """A forked spare: become the supervisor's child, wait for the job, run it and exit."""
    code = 1
    try:
        sock.close()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        set_process_name(SPARE_NAME)
        stop = StopFlag()
        stop.install()
        deadline = time.monotonic() + ADOPTION_SECONDS
        while os.getppid() != supervisor_pid:
            if time.monotonic() > deadline:
                os._exit(1)
            time.sleep(0.0002)
        die_with_parent(supervisor_pid)
        get_ready()
        with os.fdopen(payload_fd, "rb") as pipe:
            text = pipe.read()
        if not text.strip():
            os._exit(0)  # discarded: no job for us
        set_process_name_for_job()
        payload = json.loads(text)
        from worker.runner import run

        code = run(payload, stop, db=Warm.database_for(payload))
    except BaseException:  # noqa: BLE001 - whatever happens, this process must not return
        logging.getLogger("descent.worker.runner").exception("training process failed")
        code = 1
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def set_process_name_for_job() -> None:
    from worker.runner import TRAINING_NAME

    set_process_name(TRAINING_NAME)


def serve(sock: socket.socket, supervisor_pid: int) -> int:
    """Fork a spare for each pipe the supervisor sends, until it closes the socket.

    A supervisor that closes the socket with our ``ready`` or a reply still unread (it stopped,
    or gave up on this template) resets it rather than closing it: that is the same goodbye,
    not a traceback on the worker's stderr at every shutdown."""
    try:
        return _serve(sock, supervisor_pid)
    except (ConnectionResetError, BrokenPipeError):
        return 0


def _serve(sock: socket.socket, supervisor_pid: int) -> int:
    sock.send(READY)
    while True:
        message, fds, _, _ = socket.recv_fds(sock, MESSAGE_BYTES, 1)
        if not message:
            return 0
        if not fds:
            sock.send(b"error no pipe came with the request")
            continue
        try:
            reply = str(fork_spare(fds[0], sock, supervisor_pid)).encode()
        except Exception as exc:  # noqa: BLE001 - told to the supervisor, which falls back
            reply = f"error {type(exc).__name__}: {exc}".encode()
        finally:
            os.close(fds[0])
        sock.send(reply)


def _option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def main(argv: list[str]) -> int:
    from service.logging import configure_logging
    from service.settings import get_settings
    from worker.blas import limit_blas_threads
    from worker.memory import return_freed_memory

    gc.disable()  # no collection until the fork: see gc.freeze below
    sock = socket.socket(fileno=int(_option(argv, SOCKET_FD_FLAG)))
    return_freed_memory()
    configure_logging(get_settings().log_json)
    StopFlag().install()  # SIGINT ignored (the supervisor relays Ctrl-C); SIGTERM: see below
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # nothing of ours to save: just go
    supervisor_pid = os.getppid()
    die_with_parent(supervisor_pid)
    set_process_name(TEMPLATE_NAME)
    preload()
    limit_blas_threads(int(_option(argv, BLAS_THREADS_FLAG)))
    try:
        warm_up()
        warm_database(os.environ["DESCENT_DATABASE_URL"], float(_option(argv, LEASE_SECONDS_FLAG)))
    except Exception:  # noqa: BLE001 - a colder start, not a failure
        log.warning("warming the template process up failed", exc_info=True)
    # Everything so far lives as long as the template: out of the collector's sight, the
    # children's collections never touch (and so never copy) the pages it shares with them.
    gc.collect()
    gc.freeze()
    return serve(sock, supervisor_pid)


if __name__ == "__main__":
    assert SPARE_FLAG in sys.argv  # so that tools listing training processes skip us
    code = main(sys.argv)
    logging.shutdown()
    os._exit(code)
