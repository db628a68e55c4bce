"""PLACEHOLDER: replaced by the issue that implements 'asymap report'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap report --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap report' is not implemented yet")
