"""The `descent` command: dispatches to the module that owns each subcommand.

Server-side commands (serve, worker, migrate, keys) reach the database; user-side commands
(datasets, jobs, predict, models, plot) talk HTTP through `descent`. Each module exposes
``main(argv) -> int``; importing lazily keeps `descent jobs list` from loading the server stack.

``descent`` alone prints the usage on stderr and exits 2 (a usage error); ``descent --version``
prints the installed distribution's version. Ctrl-C in any command exits 130 (128 + SIGINT),
without a traceback.
"""

from __future__ import annotations

import importlib
import sys

from service.version import VERSION

COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("service.commands.serve", "run the API and embedded workers (migrates first)"),
    "worker": ("worker.commands", "run worker processes that train queued jobs"),
    "migrate": ("service.commands.migrate", "bring the database schema up to date"),
    "keys": ("service.commands.keys", "create, list and revoke API keys"),
    "datasets": ("descent.cli", "upload and list datasets"),
    "jobs": ("descent.cli", "submit, watch, list, show and cancel jobs"),
    "predict": ("descent.cli", "predict a CSV file with a model"),
    "models": ("descent.cli", "list, show and export models"),
    "plot": ("descent.cli", "plot a job's loss curves to a PNG"),
    "sweeps": ("descent.cli", "search hyperparameters: create, watch, trials, cancel"),
}


EXIT_USAGE, EXIT_INTERRUPTED = 2, 130


def usage() -> str:
    lines = ["usage: descent [--version] COMMAND [ARGS…]", "", "commands:"]
    lines += [f"  {name:<10} {about}" for name, (_, about) in COMMANDS.items()]
    lines += ["", "`descent COMMAND --help` tells more about each."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(usage(), file=sys.stderr)
        return EXIT_USAGE
    if args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] in ("-V", "--version"):
        print(f"descent {VERSION}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"descent: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return EXIT_USAGE
    try:
        module = importlib.import_module(COMMANDS[name][0])
        result: int = module.main([name, *rest])
    except KeyboardInterrupt:  # any command: the shell's convention, no traceback
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return result


if __name__ == "__main__":
    sys.exit(main())
