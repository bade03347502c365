"""The one exception type that reaches the user as a single line (exit code 2)."""

from typing import Any

_SHOWN = 60  # characters of an offending value quoted in a message


class OfaError(Exception):
    """Bad input or environment: the message is shown as is, without a traceback."""


class Interrupted(Exception):
    """Work stopped on SIGINT or SIGTERM after saving what it had: the message says where and how
    to go on, and the exit code is the shell's for that signal (130, 143)."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


def shown(value: Any) -> str:
    """A value quoted in an error message: its repr, cut short (a 5,000-digit number or a megabyte of
    text is described, not printed; one line always)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a whole number of about {int(value.bit_length() * 0.30103):,} digits"
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text):,} characters)"
