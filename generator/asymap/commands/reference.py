"""PLACEHOLDER: replaced by the issue that implements 'asymap reference'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap reference --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap reference' is not implemented yet")
