"""Errors every command shares."""


class UsageError(Exception):
    """A bad argument (unknown commune, malformed period, ...): one line, exit status 2."""


class Unavailable(Exception):
    """Something the command needs cannot be reached (NATS, the database): one line that
    names the setting to fix, exit status 1."""
