"""`descent models rename|tag|untag|alias|aliases|unalias|delete`: naming models and shipping
one by moving an alias (``descent models alias production mdl_…``)."""

from __future__ import annotations

import argparse
from typing import Any

from ..api import Client
from ..types import Alias, Model
from .output import emit_json, say, table, when


def add_parsers(actions: Any, common: argparse.ArgumentParser) -> None:
    rename = actions.add_parser("rename", parents=[common], help="set a model's name")
    rename.add_argument("id")
    rename.add_argument("name", help="the new name ('' clears it)")
    rename.add_argument("--description", help="also set the description ('' clears it)")
    rename.set_defaults(handler=rename_model)
    for action, verb in (("tag", "add"), ("untag", "remove")):
        tag = actions.add_parser(action, parents=[common], help=f"{verb} tags of a model")
        tag.add_argument("id")
        tag.add_argument("tags", nargs="+", metavar="TAG")
        tag.set_defaults(handler=tag_model, remove=action == "untag")
    alias = actions.add_parser("alias", parents=[common], help=(
        "point an alias at a model (create or move it), or show where it points"))
    alias.add_argument("alias")
    alias.add_argument("id", nargs="?", help="the model (mdl_…); without it, show the alias")
    alias.set_defaults(handler=set_alias)
    aliases = actions.add_parser("aliases", parents=[common], help="list aliases")
    aliases.add_argument("--model", help="only the aliases of this model")
    aliases.set_defaults(handler=list_aliases)
    unalias = actions.add_parser("unalias", parents=[common], help="delete an alias")
    unalias.add_argument("alias")
    unalias.set_defaults(handler=delete_alias)
    delete = actions.add_parser("delete", parents=[common], help=(
        "delete a model with its stored predictions and evaluations (refused while an alias "
        "names it)"))
    delete.add_argument("id")
    delete.set_defaults(handler=delete_model)


def rename_model(args: argparse.Namespace, client: Client) -> int:
    changes: dict[str, Any] = {"name": args.name or None}
    if args.description is not None:
        changes["description"] = args.description or None
    return _show(args, client.update_model(args.id, **changes))


def tag_model(args: argparse.Namespace, client: Client) -> int:
    tags = client.get_model(args.id).tags
    if args.remove:
        tags = [t for t in tags if t not in set(args.tags)]
    else:
        tags = list(dict.fromkeys([*tags, *args.tags]))
    return _show(args, client.update_model(args.id, tags=tags))


def _show(args: argparse.Namespace, model: Model) -> int:
    if args.json:
        emit_json(model.to_dict())
    else:
        say(f"{model.id}: name {model.name or '-'}, tags {', '.join(model.tags) or '-'}")
    return 0


def set_alias(args: argparse.Namespace, client: Client) -> int:
    if args.id is None:
        alias = client.get_alias(args.alias)
    else:
        before = _current(client, args.alias)
        alias = client.set_alias(args.alias, args.id)
        if not args.json:
            moved = f" (was {before})" if before and before != alias.model_id else ""
            say(f"{alias.alias} → {alias.model_id}{moved}")
            return 0
    if args.json:
        emit_json(alias.to_dict())
    else:
        say(f"{alias.alias} → {alias.model_id} (since {when(alias.updated_at)})")
    return 0


def _current(client: Client, alias: str) -> str | None:
    found = [a.model_id for a in client.list_aliases() if a.alias == alias]
    return found[0] if found else None


def list_aliases(args: argparse.Namespace, client: Client) -> int:
    found: list[Alias] = client.list_aliases(args.model)
    if args.json:
        emit_json({"data": [a.to_dict() for a in found]})
        return 0
    table(["ALIAS", "MODEL", "UPDATED"],
          [[a.alias, a.model_id, when(a.updated_at)] for a in found])
    return 0


def delete_alias(args: argparse.Namespace, client: Client) -> int:
    client.delete_alias(args.alias)
    if args.json:
        emit_json({"alias": args.alias, "deleted": True})
    else:
        say(f"deleted alias {args.alias}")
    return 0


def delete_model(args: argparse.Namespace, client: Client) -> int:
    client.delete_model(args.id)
    if args.json:
        emit_json({"id": args.id, "deleted": True})
    else:
        say(f"deleted model {args.id}")
    return 0
