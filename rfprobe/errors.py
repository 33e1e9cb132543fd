"""Errors a user can fix.

Every problem with what the user handed us (a config file, a device, an install step)
is raised as :class:`UsageError`. The CLI prints its message as one line and exits 2;
anything else escaping is a bug in rfprobe and keeps its traceback.
"""


class UsageError(Exception):
    """Bad input: the message names the problem and the fix, in one line."""
