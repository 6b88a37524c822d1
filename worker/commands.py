"""`descent worker [--concurrency K] [--database-url URL]`: run jobs from the queue until SIGTERM.

Refuses to start (exit 2) on a database whose schema is not at this code's revision: run
`descent migrate` first. SIGTERM or Ctrl-C stops it gracefully (running jobs checkpoint and go
back to the queue, see `worker.supervisor`); a second one exits at once.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from service.db import connect
from service.logging import configure_logging
from service.settings import get_settings

EXIT_USAGE = 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="descent worker",
        description="Run worker processes that train queued jobs (until SIGTERM or Ctrl-C).",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=1,
        metavar="K",
        help="jobs run side by side, each in its own process (default 1)",
    )
    p.add_argument(
        "--database-url",
        metavar="URL",
        help="the database to take jobs from (default: DESCENT_DATABASE_URL)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args((argv or ["worker"])[1:])
    if args.concurrency < 1:
        print("descent worker: --concurrency must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    settings = get_settings()
    url = args.database_url or settings.database_url
    configure_logging(settings.log_json)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # check_schema's chatter

    from service.db_location import DatabaseMissingError, require_existing
    from service.migration import SchemaBehindError, check_schema
    from worker.supervisor import Supervisor

    try:
        require_existing(url)  # a worker never creates the database it takes jobs from
    except DatabaseMissingError as exc:
        print(f"descent worker: refusing to start: {exc}", file=sys.stderr)
        return EXIT_USAGE
    db = connect(url)
    try:
        check_schema(db)
    except SchemaBehindError as exc:
        print(f"descent worker: refusing to start: {exc}", file=sys.stderr)
        db.dispose()
        return EXIT_USAGE
    except SQLAlchemyError as exc:
        print(f"descent worker: cannot reach the database: {exc}", file=sys.stderr)
        db.dispose()
        return EXIT_USAGE
    supervisor = Supervisor(
        db=db, database_url=url, concurrency=args.concurrency, settings=settings
    )
    supervisor.install_signal_handlers()
    try:
        return supervisor.run()
    finally:
        db.dispose()
