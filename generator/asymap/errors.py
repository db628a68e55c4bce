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
