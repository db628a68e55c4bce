"""PLACEHOLDER: replaced by the issue that implements 'asymap generate'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap generate --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap generate' is not implemented yet")
