"""PLACEHOLDER: replaced by the issue that implements 'asymap build'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap build --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap build' is not implemented yet")
