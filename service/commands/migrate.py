"""`descent migrate`: bring the database schema up to date (safe from many places at once)."""

from __future__ import annotations

import argparse
import json
import sys

from service import migration
from service.db_location import describe, make_home
from service.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv[1:]
    parser = argparse.ArgumentParser(
        prog="descent migrate", description="Bring the database schema up to date."
    )
    parser.add_argument(
        "--database-url",
        help=(
            "the database (default: DESCENT_DATABASE_URL, else descent.db in the user's "
            "data directory)"
        ),
    )
    parser.add_argument("--json", action="store_true",
                        help='print {"database", "from", "to", "migrated"} as one JSON document')
    args = parser.parse_args(args_in)
    url = args.database_url or get_settings().database_url
    try:
        make_home(url)
        before, after = migration.upgrade(url)
    except Exception as exc:  # an operator command: say what failed, without a traceback
        print(f"descent migrate: could not migrate {describe(url)}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"database": describe(url), "from": before, "to": after,
                          "migrated": before != after}))
    elif before == after:
        print(f"{describe(url)}: schema already at {after}, nothing to do")
    else:
        print(f"{describe(url)}: schema migrated from {before or 'empty'} to {after}")
    return 0
