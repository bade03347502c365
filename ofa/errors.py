"""The one exception type that reaches the user as a single line (exit code 2)."""


class OfaError(Exception):
    """Bad input or environment: the message is shown as is, without a traceback."""
