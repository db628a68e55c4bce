"""PLACEHOLDER: replaced by the issue that implements 'asymap plan'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap plan --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap plan' is not implemented yet")
