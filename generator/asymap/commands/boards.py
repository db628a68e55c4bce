"""PLACEHOLDER: replaced by the issue that implements 'asymap boards'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap boards --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap boards' is not implemented yet")
