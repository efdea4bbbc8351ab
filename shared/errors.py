"""Errors every command shares."""


class UsageError(Exception):
    """A bad argument (unknown commune, malformed period, ...): one line, exit status 2."""
