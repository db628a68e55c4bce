"""PLACEHOLDER: replaced by the issue that implements 'asymap zoo'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap zoo --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap zoo' is not implemented yet")
