"""PLACEHOLDER: replaced by the issue that implements 'asymap verify'."""

HELP = "(not implemented yet)"
EXAMPLE = "asymap verify --help"


def add_arguments(p):
    pass


def run(args):
    from asymap.errors import UserError

    raise UserError("'asymap verify' is not implemented yet")
