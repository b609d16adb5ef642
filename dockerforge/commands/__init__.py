"""One module per subcommand; each returns data and leaves printing to the CLI."""
