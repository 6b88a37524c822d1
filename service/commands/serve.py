"""`descent serve [--host H] [--port P] [--workers N] [--database-url URL]`.

Migrates the database, makes sure an API key exists (DESCENT_BOOTSTRAP_KEY, or one generated and
printed once), starts the embedded workers (one `descent worker --concurrency N` process, in its
own process group so a terminal's Ctrl-C reaches only us) and the API (uvicorn). Ctrl-C or
SIGTERM stops the API, then SIGTERMs the workers — they put running jobs back in the queue — waits
for them and exits 0.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import logging
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

import uvicorn
from threadpoolctl import threadpool_limits

from service import keys, migration
from service.app import create_app
from service.connections import MAX_HEAD_BYTES, timed_protocol
from service.db import connect
from service.db_location import describe, make_home
from service.deploy_checks import UnsafeBindError, check_bind, has_api_key
from service.logging import configure_logging
from service.settings import Settings, get_settings

EXTRA_WAIT_SECONDS = 10.0
SWITCH_INTERVAL_SECONDS = 0.0005
PR_SET_PDEATHSIG = 1  # prctl(2)

log = logging.getLogger("descent.serve")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="descent serve", description="Run the API and workers.")
    p.add_argument("--host", help="address to listen on (default: DESCENT_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: DESCENT_PORT, 8000)")
    p.add_argument("--workers", type=int, help="embedded worker processes (0 = API only)")
    p.add_argument("--database-url", help="the database (default: DESCENT_DATABASE_URL)")
    return p


class _Server(uvicorn.Server):
    """Says where it listens once the socket is bound."""

    banner = ""

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self.banner, flush=True)


def start_workers(count: int, url: str) -> subprocess.Popen[bytes] | None:
    if count <= 0:
        return None
    command = [sys.executable, "-m", "service.cli", "worker", "--concurrency", str(count)]
    return subprocess.Popen(
        [*command, "--database-url", url],
        start_new_session=True,
        preexec_fn=_terminate_with_parent,
    )


def _terminate_with_parent() -> None:
    """Runs in the worker before exec: SIGTERM it (a graceful release of its jobs) when
    `descent serve` dies, even by SIGKILL, so no worker is left orphaned (Linux only)."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def stop_workers(process: subprocess.Popen[bytes] | None, *, wait_seconds: float) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=wait_seconds)
    except subprocess.TimeoutExpired:
        print("descent serve: workers did not stop in time; killing them", file=sys.stderr)
        process.kill()
        process.wait()


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    """The API under uvicorn, with the connection limits of `service.connections`."""
    return uvicorn.Config(
        create_app(settings=settings), host=settings.host, port=settings.port,
        log_config=None, access_log=False, timeout_graceful_shutdown=5,
        # h11 (httptools has no head-size bound), with head and body timeouts added.
        http=timed_protocol(header_seconds=settings.header_timeout_seconds,
                            body_seconds=settings.body_timeout_seconds),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_keep_alive=settings.keep_alive_seconds,
        # Beyond this many open connections (or requests in progress) new requests get 503.
        limit_concurrency=settings.max_connections,
    )


def prepare_database(settings: Any) -> int:
    """Migrate, check the bind address against the keys, make sure a key exists (printing a
    generated one once); a non-zero exit code when serving must not start."""
    url = settings.database_url
    # Said first, so a second `descent serve` that found another database is plain to see.
    print(f"Descent database: {describe(url)}", flush=True)
    log.info("database", extra={"database": describe(url)})
    try:
        make_home(url)
        migration.upgrade(url)
    except Exception as exc:
        print(f"descent serve: could not migrate the database: {exc}", file=sys.stderr)
        return 1
    db = connect(url)
    try:
        check_bind(
            settings.host, has_key=bool(settings.bootstrap_key) or has_api_key(db),
            bootstrap_key=settings.bootstrap_key,
        )
        generated = keys.ensure_initial_key(db, bootstrap_key=settings.bootstrap_key)
    except UnsafeBindError as exc:
        print(f"descent serve: {exc}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    if generated:
        print(
            "No API key existed, so one was created for the 'default' tenant. "
            "It is shown only this once — keep it:", flush=True,
        )
        print(generated, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args((sys.argv[1:] if argv is None else argv)[1:])
    overrides = {
        k: v
        for k, v in {
            "host": args.host, "port": args.port, "workers": args.workers,
            "database_url": args.database_url,
        }.items()
        if v is not None
    }
    settings = get_settings().model_copy(update=overrides)
    configure_logging(settings.log_json)
    url = settings.database_url

    refused = prepare_database(settings)
    if refused:
        return refused

    # uvicorn re-raises the signal that stopped it; ours turns that into a plain return.
    def stopped(signum: int, _frame: FrameType | None) -> None:
        pass

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)

    workers = start_workers(settings.workers, url)
    # The API's arithmetic (predict) runs in request threads, one BLAS thread each: a BLAS pool
    # per call fights the other requests (and the training) for the cores, and on a busy
    # machine a 1,000-row product took 6 ms with two threads against 0.2 ms with one.
    # (After starting the workers: they size their own pools.)
    blas = threadpool_limits(limits=1, user_api="blas")
    # The event loop gives up the GIL at every socket write and must then wait for a request
    # thread's switch interval (5 ms by default) to get it back: under load that wait, not the
    # work, set the latency. A shorter interval hands it back sooner.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    base = f"http://{settings.host}:{settings.port}"
    server = _Server(uvicorn_config(settings))
    server.banner = f"Descent listening on {base} (docs: {base}/docs)"
    # Everything loaded so far (modules, the app) lives as long as the process: keep it out of
    # the cyclic collector's full passes, which otherwise stall the event loop for tens of ms
    # whenever a large request allocates many objects.
    gc.freeze()
    try:
        server.run()
    finally:
        stop_workers(workers, wait_seconds=settings.grace_seconds + EXTRA_WAIT_SECONDS)
        blas.restore_original_limits()
    if not server.started:
        where = f"{settings.host}:{settings.port}"
        print(f"descent serve: could not listen on {where}", file=sys.stderr)
        return 1
    return 0
