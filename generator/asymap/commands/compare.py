"""PLACEHOLDER: replaced by the issue that implements 'asymap compare'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap compare --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap compare' is not implemented yet")
