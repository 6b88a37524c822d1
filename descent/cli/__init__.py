"""The user side of the `descent` command: datasets, jobs, predict, models, plot (over HTTP).

``main(argv)`` takes the command name first (``["jobs", "list"]``). Human tables by default,
``--json`` for scripts (one JSON document on stdout). Exit codes scripts can rely on:

====  ==========================================================================
0     done
1     the job failed or was cancelled (``jobs submit --wait``, ``jobs watch``)
2     usage error (bad arguments, unreadable file)
3     the server said no (4xx/5xx; its title, detail and field errors on stderr)
4     the server cannot be reached
130   interrupted (Ctrl-C); a watched job keeps running
====  ==========================================================================
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..api import Client
from ..errors import DescentAPIError, DescentConnectionError
from . import datasets, jobs, models, plot, sweeps
from .output import UsageError, say

EXIT_OK, EXIT_JOB_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace, Client], int]


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--url", help="server URL (default $DESCENT_URL or http://127.0.0.1:8000)")
    common.add_argument("--api-key", help="API key (default $DESCENT_API_KEY)")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="descent", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    datasets.add_parser(commands, common)
    jobs.add_parser(commands, common)
    models.add_predict_parser(commands, common)
    models.add_parser(commands, common)
    plot.add_parser(commands, common)
    sweeps.add_parser(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Handler = args.handler
    where = " ".join(filter(None, ("descent", args.command, getattr(args, "action", None))))
    try:
        with Client(args.url, args.api_key) as client:
            return handler(args, client)
    except UsageError as exc:
        say(f"{where}: {exc}")
        return EXIT_USAGE
    except DescentAPIError as exc:
        say(f"{where}: {exc.message()}")
        if exc.status == 401:
            say("  (set DESCENT_API_KEY, or pass --api-key; `descent keys create` makes one)")
        return EXIT_REFUSED
    except DescentConnectionError as exc:
        say(f"{where}: {exc} (is `descent serve` running? set DESCENT_URL)")
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `descent jobs list | head`
        return EXIT_OK
