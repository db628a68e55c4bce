"""One module per ``asymap`` subcommand (see asymap.cli for the interface each exposes)."""
