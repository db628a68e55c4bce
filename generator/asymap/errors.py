"""Errors a user can cause.

Every stage raises :class:`UserError` for problems in its inputs (a bad file, an unsupported op,
a model that fits no board). The CLI turns it into one line on stderr and exit code 2, with no
traceback; anything else is an internal error and is allowed to trace.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix. The message is one line: what is wrong, where, and what to do."""

    exit_code = 2

    def __init__(self, message: str):
        # Collapse newlines so the CLI always prints exactly one line.
        super().__init__(" ".join(str(message).split()))


class DeployRefusal(UserError):
    """A plan deployment refuses, with the link ends that make it refusable (codegen.deploy's
    checks raise it; the planner reads it to avoid such plans without importing codegen).

    ``board``: the cluster board whose transceivers cannot carry the plan; ``ends``: (peer board,
    "in" | "out") link ends on it; ``rule`` says which plans share the refusal:

    * "features": every plan that has these ends on that board *from the same sources* (pipeline
      link or host route) as the refused one: two uses of one cable the same way;
    * "all": every plan whose links give that board all these peers, whichever way: a board's
      cages carry its peers, so these peers need more cages than it has;
    * "any": every plan that links that board with any one of these peers: a link deployment
      cannot carry at all."""

    def __init__(self, message: str, board: str, ends, rule: str = "features"):
        super().__init__(message)
        self.board = board
        self.ends = tuple(dict.fromkeys(tuple(e) for e in ends))
        self.rule = rule
