"""Server-side subcommands of `descent` (each exposes ``main(argv) -> int``)."""
