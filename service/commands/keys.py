"""`descent keys create|list|revoke`: API keys, administered on a machine that reaches the DB.

``create`` prints the new key alone on the last line of standard output (only its hash is
stored, so this is the one time it is shown). ``--json`` prints one JSON document instead (for
``create``, ``{"id", "tenant", "label", "key"}``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from service import keys, migration
from service.db import Database, connect
from service.db_location import DatabaseMissingError, require_existing
from service.settings import get_settings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="descent keys", description="Create, list and revoke API keys."
    )
    p.add_argument("--database-url", help="the database (default: DESCENT_DATABASE_URL)")
    sub = p.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a key for a tenant (created if new)")
    create.add_argument("--tenant", required=True, help="the tenant's name, e.g. acme")
    create.add_argument("--label", help="a note on what the key is for")
    sub.add_parser("list", help="list keys (never the keys themselves)")
    revoke = sub.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key's id (key_…), see `list`")
    for action in (create, revoke, sub.choices["list"]):
        action.add_argument("--database-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        action.add_argument("--json", action="store_true", help="print one JSON document")
    return p


def _emit(document: Any) -> None:
    print(json.dumps(document, indent=2, default=str))


def _listing(rows: list[keys.KeyInfo], as_json: bool) -> None:
    if as_json:
        _emit({"data": [dataclasses.asdict(k) for k in rows]})
        return
    print(f"{'ID':<32} {'TENANT':<20} {'CREATED':<20} {'REVOKED':<20} LABEL")
    for k in rows:
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if k.revoked_at else "-"
        created = k.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{k.id:<32} {k.tenant:<20} {created:<20} {revoked:<20} {k.label or ''}")


def _run(db: Database, args: argparse.Namespace) -> int:
    if args.action == "create":
        key_id, key = keys.create_key(db, tenant=args.tenant, label=args.label)
        if args.json:
            _emit({"id": key_id, "tenant": args.tenant, "label": args.label, "key": key})
            return 0
        print(f"Created API key {key_id} for tenant {args.tenant!r}. It is shown only once:")
        print(key)
        return 0
    if args.action == "list":
        _listing(keys.list_keys(db), args.json)
        return 0
    if not keys.revoke_key(db, key_id=args.key_id):
        print(f"descent keys: there is no key {args.key_id!r}", file=sys.stderr)
        return 1
    if args.json:
        _emit({"id": args.key_id, "revoked": True})
    else:
        print(f"Revoked {args.key_id}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args((sys.argv[1:] if argv is None else argv)[1:])
    url = args.database_url or get_settings().database_url
    try:
        # Keys live in a database `descent serve` made: opening a missing SQLite file would
        # create an empty one (in whatever directory this was run from) and answer from it.
        require_existing(url)
    except DatabaseMissingError as exc:
        print(f"descent keys: {exc}", file=sys.stderr)
        return 1
    db = connect(url)
    try:
        migration.check_schema(db)
        return _run(db, args)
    except migration.SchemaBehindError as exc:
        print(f"descent keys: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"descent keys: the database failed: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
