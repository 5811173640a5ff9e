"""Errors that the CLI turns into one clear line and exit code 2."""


class UsageError(Exception):
    """Bad input: an unknown name, an unusable file or path. The message says what is accepted."""
