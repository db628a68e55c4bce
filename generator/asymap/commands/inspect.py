"""PLACEHOLDER: replaced by the issue that implements 'asymap inspect'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap inspect --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap inspect' is not implemented yet")
