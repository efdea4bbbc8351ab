"""Settings from environment variables: the one place they are read.

Every variable is listed in `SETTINGS_DOC` and in the README's table (a test keeps the
two in step). Services receive a `Settings`; nothing reads the environment elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

# name, default (as text), meaning. The README table is generated from this list.
SETTINGS_DOC: list[tuple[str, str, str]] = [
    (
        "TTHC_NATS_URL",
        "nats://127.0.0.1:4222",
        "The NATS server (JetStream enabled); several seed servers of a cluster separated by commas (`nats://a:4222,nats://b:4222`). User and password may be given in the URL; they are never printed.",
    ),
    (
        "TTHC_DATA_DIR",
        "./var",
        "Where local state lives: the SQLite database, generated reports, snapshots, a local nats-server store.",
    ),
    (
        "TTHC_DATABASE_URL",
        "sqlite:///$TTHC_DATA_DIR/tthc.sqlite3",
        "SQLAlchemy URL of the aggregator's database: SQLite or PostgreSQL (`postgresql+psycopg://user@host/db`).",
    ),
    (
        "TTHC_METRICS_PORT",
        "9464",
        "Base port of the Prometheus endpoints: intake on +0, aggregator on +1, reporter on +2 (`/metrics`, `/healthz`, `/readyz`). 0 turns them off.",
    ),
    ("TTHC_METRICS_HOST", "127.0.0.1", "Address the metrics endpoints listen on."),
    ("TTHC_LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING, ERROR."),
    (
        "TTHC_LOG_FORMAT",
        "auto",
        "`json` (one JSON object a line), `console` (human-readable) or `auto` (console on a terminal, JSON otherwise).",
    ),
    (
        "TTHC_REGISTRY_FILE",
        "",
        "A JSON file of the deployment's own unit registry (for example pre-2025 codes) instead of the built-in 34-province, 3,321-commune registry of 2025. Format in docs/registry.md.",
    ),
    (
        "TTHC_MAX_CLOCK_SKEW_SECONDS",
        "300",
        "How far ahead of the receiving clock `occurred_at` may be before the event is rejected as `future_timestamp`.",
    ),
    (
        "TTHC_MAX_PAYLOAD_BYTES",
        "65536",
        "Largest accepted payload; larger ones are rejected as `payload_too_large`.",
    ),
    ("TTHC_BATCH_SIZE", "1000", "Most desk messages intake takes and hands off at once."),
    (
        "TTHC_APPLY_MAX_EVENTS",
        "5000",
        "Most events the aggregator applies in one transaction. It gathers only while its previous commit runs, so this bounds a backlog's transactions (bigger ones write fewer database pages per event), never a quiet pipeline's wait.",
    ),
    (
        "TTHC_BATCH_WAIT_MS",
        "10",
        "Longest intake waits to fill a batch before handling what it has (the aggregator never waits: it gathers while its previous commit runs).",
    ),
    (
        "TTHC_ACK_WAIT_SECONDS",
        "30",
        "JetStream ack wait of the project's consumers: an unacknowledged message is redelivered after this.",
    ),
    (
        "TTHC_DUPLICATE_WINDOW_SECONDS",
        "120",
        "JetStream duplicate window of the streams the project creates.",
    ),
    (
        "TTHC_UNIT_LABEL",
        "province",
        "Unit label of the Prometheus series: `province` or `commune` (one province, a few hundred communes at most).",
    ),
    (
        "TTHC_OVERDUE_SWEEP_SECONDS",
        "60",
        "How often the aggregator looks for cases whose due instant has passed, to update the live gauges.",
    ),
    (
        "TTHC_CALENDAR",
        "decree09",
        "Default period calendar: `decree09` (Decree 09/2019 cut-off, the 15th to the 14th) or `calendar` (natural months).",
    ),
    (
        "TTHC_SNAPSHOT_GRACE_HOURS",
        "24",
        "How long after a period's cut-off the reporter freezes its appendix snapshot.",
    ),
    (
        "TTHC_SNAPSHOT_KINDS",
        "month,quarter,half,nine_months,year",
        "Which period kinds the reporter freezes on schedule.",
    ),
    (
        "TTHC_STREAM_REPLICAS",
        "1",
        "Replicas of the streams the project creates (3 on a three-node JetStream cluster). An existing stream is left alone; a warning says when it has fewer replicas than this on a cluster.",
    ),
    (
        "TTHC_STREAM_MAX_AGE_DAYS",
        "0",
        "How long the streams the project creates keep messages, in days; 0 keeps them for ever. TTHC_EVENTS and TTHC_ACCEPTED are the log of record: keep them at least as long as the oldest database backup you may restore (docs/operations.md).",
    ),
    (
        "TTHC_START_TIMEOUT_SECONDS",
        "60",
        "How long a service may take to start (reach NATS and the database) before it gives up with a one-line error and exit status 1, for the supervisor (systemd, Kubernetes, `tthc run all`) to start it again. SIGTERM stops it at once meanwhile.",
    ),
    (
        "TTHC_QUERY_TIMEOUT_SECONDS",
        "10",
        "How long a figures request over NATS waits for the aggregator.",
    ),
    (
        "TTHC_FIGURES_WORKERS",
        "auto",
        "Reader processes of the aggregator that answer figures requests, so a period-end run of the whole country uses every core (each province and its communes belong to one). `auto`: one per core, at most 4, none on a single core; 0: answered in the aggregator's own thread. They start on the first province request (docs/operations.md, \"Figures workers\").",
    ),
    (
        "TTHC_RENDER_WORKERS",
        "auto",
        "Processes of the reporter that render and freeze the period-end snapshots (the forms as XLSX and DOCX: about half a second a commune), so a run over many communes uses every core. `auto`: one per core, at most 4, none on a single core; 0: frozen one at a time in the reporter's own thread. They start on the first period-end run with data (docs/operations.md, \"Render workers\").",
    ),
    (
        "TTHC_DEPLOYMENT_FILE",
        "",
        "A JSON file of the deployment's document settings: per unit, the signature block (titles and names), the report number and the place; names of agencies and fields. Format in docs/reporter.md.",
    ),
    (
        "TTHC_VALUES_FILE",
        "",
        "A JSON file of values the offices supply for rows that events cannot give (number of procedures, disclosures, complaints), by unit and period; `tthc appendix --value` overrides it. Format in docs/templates.md.",
    ),
    (
        "TTHC_SNAPSHOT_FORMS",
        "phu-luc-01b,bieu-mau-3,bieu-06-vpcp",
        "The forms (templates) each period-end snapshot freezes as XLSX and DOCX; the first is also the snapshot's JSON layout.",
    ),
]


def redact_url(url: str) -> str:
    """A URL (or a comma-separated list of them) with any password replaced by `***`."""
    from urllib.parse import urlsplit, urlunsplit

    out = []
    for one in url.split(","):
        parts = urlsplit(one.strip())
        if parts.password is None:
            out.append(one.strip())
            continue
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        out.append(urlunsplit(parts._replace(netloc=netloc)))
    return ",".join(out)


DATABASE_URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"


def check_database_url(url: str) -> None:
    """TTHC_DATABASE_URL must be a SQLite or PostgreSQL (psycopg) URL; the error names the
    variable and the forms, never the value (it may hold a password)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise ValueError(f"TTHC_DATABASE_URL is not a database URL: use {DATABASE_URL_FORMS}") from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite" or (backend == "postgresql" and driver == "psycopg"):
        return
    raise ValueError(f"TTHC_DATABASE_URL: {parsed.drivername!r} is not supported: use {DATABASE_URL_FORMS}")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _int(name: str, default: str) -> int:
    try:
        return int(_env(name, default))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {_env(name, default)!r}") from None


def _float(name: str, default: str) -> float:
    try:
        return float(_env(name, default))
    except ValueError:
        raise ValueError(f"{name} must be a number, not {_env(name, default)!r}") from None


MAX_AUTO_WORKERS = 4


def _workers(name: str, default: str) -> int:
    """A count of processes, or `auto`: one per core, at most 4, none on a single core."""
    raw = _env(name, default).strip().lower()
    if raw == "auto":
        cores = os.cpu_count() or 1
        return 0 if cores < 2 else min(cores, MAX_AUTO_WORKERS)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be 'auto' or a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be 'auto' or 0 or more, not {value}")
    return value


def _path_or_none(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class Settings:
    """Configuration of every service and command."""

    nats_url: str
    data_dir: Path
    database_url: str
    metrics_port: int
    metrics_host: str
    log_level: str
    log_format: str
    registry_file: Path | None
    max_clock_skew_seconds: float
    max_payload_bytes: int
    batch_size: int
    batch_wait_ms: int
    ack_wait_seconds: float
    duplicate_window_seconds: float
    unit_label: str
    overdue_sweep_seconds: float
    calendar: str
    snapshot_grace_hours: float
    snapshot_kinds: tuple[str, ...]
    query_timeout_seconds: float
    start_timeout_seconds: float = 60.0
    stream_replicas: int = 1
    stream_max_age_days: float = 0.0
    apply_max_events: int = 5000
    deployment_file: Path | None = None
    values_file: Path | None = None
    snapshot_forms: tuple[str, ...] = ("phu-luc-01b", "bieu-mau-3", "bieu-06-vpcp")
    figures_workers: int = 0
    render_workers: int = 0

    @property
    def nats_servers(self) -> list[str]:
        """TTHC_NATS_URL as a list of servers (a cluster's seed URLs)."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read the environment; keyword overrides win (tests and the demo use them)."""
        defaults = {name: default for name, default, _ in SETTINGS_DOC}
        data_dir = Path(_env("TTHC_DATA_DIR", defaults["TTHC_DATA_DIR"])).expanduser()
        if "data_dir" in overrides:
            data_dir = Path(str(overrides["data_dir"]))
        database_url = _env("TTHC_DATABASE_URL", "") or (
            f"sqlite:///{(data_dir / 'tthc.sqlite3').resolve()}"
        )
        registry = _env("TTHC_REGISTRY_FILE", "")
        values: dict[str, object] = {
            "nats_url": _env("TTHC_NATS_URL", defaults["TTHC_NATS_URL"]),
            "data_dir": data_dir,
            "database_url": database_url,
            "metrics_port": _int("TTHC_METRICS_PORT", defaults["TTHC_METRICS_PORT"]),
            "metrics_host": _env("TTHC_METRICS_HOST", defaults["TTHC_METRICS_HOST"]),
            "log_level": _env("TTHC_LOG_LEVEL", defaults["TTHC_LOG_LEVEL"]).upper(),
            "log_format": _env("TTHC_LOG_FORMAT", defaults["TTHC_LOG_FORMAT"]).lower(),
            "registry_file": Path(registry) if registry else None,
            "max_clock_skew_seconds": _float("TTHC_MAX_CLOCK_SKEW_SECONDS", "300"),
            "max_payload_bytes": _int("TTHC_MAX_PAYLOAD_BYTES", "65536"),
            "batch_size": _int("TTHC_BATCH_SIZE", "1000"),
            "batch_wait_ms": _int("TTHC_BATCH_WAIT_MS", "10"),
            "apply_max_events": _int("TTHC_APPLY_MAX_EVENTS", "5000"),
            "ack_wait_seconds": _float("TTHC_ACK_WAIT_SECONDS", "30"),
            "duplicate_window_seconds": _float("TTHC_DUPLICATE_WINDOW_SECONDS", "120"),
            "unit_label": _env("TTHC_UNIT_LABEL", "province"),
            "overdue_sweep_seconds": _float("TTHC_OVERDUE_SWEEP_SECONDS", "60"),
            "calendar": _env("TTHC_CALENDAR", "decree09"),
            "snapshot_grace_hours": _float("TTHC_SNAPSHOT_GRACE_HOURS", "24"),
            "snapshot_kinds": tuple(
                k.strip()
                for k in _env("TTHC_SNAPSHOT_KINDS", defaults["TTHC_SNAPSHOT_KINDS"]).split(",")
                if k.strip()
            ),
            "query_timeout_seconds": _float("TTHC_QUERY_TIMEOUT_SECONDS", "10"),
            "start_timeout_seconds": _float("TTHC_START_TIMEOUT_SECONDS", "60"),
            "stream_replicas": _int("TTHC_STREAM_REPLICAS", "1"),
            "stream_max_age_days": _float("TTHC_STREAM_MAX_AGE_DAYS", "0"),
            "figures_workers": _workers("TTHC_FIGURES_WORKERS", defaults["TTHC_FIGURES_WORKERS"]),
            "render_workers": _workers("TTHC_RENDER_WORKERS", defaults["TTHC_RENDER_WORKERS"]),
            "deployment_file": _path_or_none(_env("TTHC_DEPLOYMENT_FILE", "")),
            "values_file": _path_or_none(_env("TTHC_VALUES_FILE", "")),
            "snapshot_forms": tuple(
                k.strip()
                for k in _env("TTHC_SNAPSHOT_FORMS", defaults["TTHC_SNAPSHOT_FORMS"]).split(",")
                if k.strip()
            ),
        }
        known = {f.name for f in fields(cls)}
        for key, value in overrides.items():
            if key not in known:
                raise TypeError(f"unknown setting {key!r}")
            values[key] = value
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Fail early, naming the variable, on a value that cannot work."""
        if self.unit_label not in ("province", "commune"):
            raise ValueError("TTHC_UNIT_LABEL must be 'province' or 'commune'")
        if self.calendar not in ("decree09", "calendar"):
            raise ValueError("TTHC_CALENDAR must be 'decree09' or 'calendar'")
        if self.log_format not in ("auto", "json", "console"):
            raise ValueError("TTHC_LOG_FORMAT must be 'auto', 'json' or 'console'")
        if self.batch_size < 1:
            raise ValueError("TTHC_BATCH_SIZE must be at least 1")
        if self.apply_max_events < 1:
            raise ValueError("TTHC_APPLY_MAX_EVENTS must be at least 1")
        if not 1 <= self.stream_replicas <= 5:
            raise ValueError("TTHC_STREAM_REPLICAS must be between 1 and 5")
        if self.stream_max_age_days < 0:
            raise ValueError("TTHC_STREAM_MAX_AGE_DAYS must be 0 (for ever) or more")
        if self.figures_workers < 0:
            raise ValueError("TTHC_FIGURES_WORKERS must be 'auto' or 0 or more")
        if self.render_workers < 0:
            raise ValueError("TTHC_RENDER_WORKERS must be 'auto' or 0 or more")
        if not self.nats_servers:
            raise ValueError("TTHC_NATS_URL must name at least one server")
        check_database_url(self.database_url)

    def metrics_port_for(self, service: str) -> int:
        """The metrics port of one service (0 when metrics are off)."""
        if self.metrics_port == 0:
            return 0
        offset = {"intake": 0, "aggregator": 1, "reporter": 2}[service]
        return self.metrics_port + offset
