"""One line for what a command meets outside its own checks (never a traceback, never a
password): a database that cannot be used, NATS refusing or not answering a request."""

from __future__ import annotations

from shared.natsutil import command_failure
from shared.settings import Settings, redact_url


def database_failure(exc: BaseException, database_url: str) -> str:
    """A database error as one line naming TTHC_DATABASE_URL (password hidden): the
    server's own words when it could not be reached, else `describe_error` (its class
    and SQLSTATE; never a value the server may quote)."""
    from services.aggregator.storage.engine import describe_error

    where = redact_url(database_url)
    orig = getattr(exc, "orig", None)
    if orig is not None:
        first = (str(orig).strip().splitlines() or [""])[0][:200]
        if "connect" in first.lower():
            return f"cannot connect to the database at {where}: {first} (check TTHC_DATABASE_URL)"
    return f"the database at {where} failed: {describe_error(exc)} (check TTHC_DATABASE_URL)"


def failure_line(exc: BaseException, settings: Settings) -> str | None:
    """The line for a NATS or database failure; None for anything else (a bug: its
    traceback is shown)."""
    import nats.errors
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, nats.errors.Error):
        return command_failure(exc, settings)
    if isinstance(exc, SQLAlchemyError):
        return database_failure(exc, settings.database_url)
    return None
