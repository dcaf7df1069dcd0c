"""The one exception type that stages turn into a one-line message and a non-zero exit."""


class UserError(Exception):
    """A problem the user can fix: bad params, bad input file, no network.

    Its message is printed as a single line (no traceback), so it must name the
    problem *and* the fix.
    """


class BadInputFile(UserError):
    """A file named as input that cannot be read as a light curve, whatever the reader.

    Truncated or corrupt downloads, devices and pipes, unreadable permissions,
    malformed headers and oversized lines all end here, so ``predict`` and
    ``scan`` report every one as a named bad input (never as an internal error)
    and carry on with the next file.
    """


class InputWarning(UserWarning):
    """Input was usable only after a repair (fill values masked, magnitudes converted).

    A warning, not an error: the result is still trustworthy, but the user
    should know the input was not used exactly as given.
    """
