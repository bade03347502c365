"""The one exception type that reaches the user as a single line (exit code 2)."""


class OfaError(Exception):
    """Bad input or environment: the message is shown as is, without a traceback."""


class Interrupted(Exception):
    """Work stopped on SIGINT or SIGTERM after saving what it had: the message says where and how
    to go on, and the exit code is the shell's for that signal (130, 143)."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum
