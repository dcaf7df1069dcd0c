"""The one exception type that stages turn into a one-line message and a non-zero exit."""


class UserError(Exception):
    """A problem the user can fix: bad params, bad input file, no network.

    Its message is printed as a single line (no traceback), so it must name the
    problem *and* the fix.
    """
