"""One module per `actgrad` subcommand: HELP, add_arguments(parser), run(args) -> int."""
