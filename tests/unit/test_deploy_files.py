"""deploy/: Compose, Kubernetes, systemd and Grafana files parse, reference what exists,
and agree with the code (ports, stream configuration, metric names, health endpoints)."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from shared.natsutil import stream_configs
from shared.settings import Settings

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("intake", "aggregator", "reporter")
PORTS = {"intake": 9464, "aggregator": 9465, "reporter": 9466}


def load(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_all(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


# --- Docker Compose ----------------------------------------------------------------------

COMPOSE_DIR = DEPLOY / "compose"


def compose() -> dict:
    return load(COMPOSE_DIR / "docker-compose.yml")  # type: ignore[return-value]


def test_compose_has_the_whole_stack() -> None:
    """NATS, PostgreSQL, the three services, Prometheus and Grafana, with persistent volumes."""
    doc = compose()
    assert set(doc["services"]) >= {
        "nats",
        "postgres",
        *SERVICES,
        "prometheus",
        "grafana",
        "nats-exporter",
    }
    assert set(doc["volumes"]) >= {
        "nats-data",
        "pg-data",
        "reporter-data",
        "prometheus-data",
        "grafana-data",
    }
    nats = doc["services"]["nats"]
    assert "-js" in nats["command"] and nats["command"][nats["command"].index("-sd") + 1] == "/data"
    assert "nats-data:/data" in nats["volumes"]


def test_compose_services_run_their_command_with_their_nats_user() -> None:
    """Each service runs `tthc run <name>` as its own NATS user, with a health check."""
    doc = compose()
    for name in SERVICES:
        svc = doc["services"][name]
        assert svc["command"] == ["run", name]
        assert svc["environment"]["TTHC_NATS_URL"].startswith(f"nats://{name}:")
        assert svc["healthcheck"]["test"][-2:] == ["services.healthcheck", name]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert svc["environment"]["TTHC_METRICS_PORT"] == "9464"


def test_compose_mounts_exist_and_variables_are_documented() -> None:
    """Every bind-mounted file exists; every ${VAR} used is in env.example."""
    doc = compose()
    for svc in doc["services"].values():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), source
    text = (COMPOSE_DIR / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = (COMPOSE_DIR / "env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert used <= documented, used - documented


def test_compose_publishes_ports_on_chosen_addresses_only() -> None:
    """Every published port names its host address (127.0.0.1 unless .env says otherwise);
    Prometheus (no authentication) only on loopback; NATS monitoring is not published."""
    doc = compose()
    published: dict[str, list[str]] = {
        name: [str(p) for p in svc.get("ports", [])] for name, svc in doc["services"].items()
    }
    for name, ports in published.items():
        for port in ports:
            host, *numbers = port.rsplit(":", 2)
            assert len(numbers) == 2 and all(n.isdigit() for n in numbers), (name, port)
            assert host == "127.0.0.1" or re.fullmatch(r"\$\{[A-Z_]+:-127\.0\.0\.1\}", host), port
    assert published["prometheus"] == ["127.0.0.1:9090:9090"]
    assert published["nats"] == ["${NATS_LISTEN_ADDRESS:-127.0.0.1}:4222:4222"]
    assert not any("8222" in p for ports in published.values() for p in ports)


def test_dockerfile_copies_what_exists_and_runs_tthc() -> None:
    """The image installs the project and its entry point is the tthc command."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (\S+)", text, re.M):
        assert (ROOT / source).exists(), source
    assert 'ENTRYPOINT ["tthc"]' in text and "services.healthcheck" in text


# --- Prometheus scrape targets -------------------------------------------------------------


def test_prometheus_scrapes_each_service_on_its_port() -> None:
    """Scrape jobs tthc-<service> point at the ports the settings give each service."""
    prom = load(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}  # type: ignore[index]
    settings = Settings.from_env(metrics_port=9464)
    for name in SERVICES:
        target = jobs[f"tthc-{name}"]["static_configs"][0]["targets"][0]
        assert target == f"{name}:{settings.metrics_port_for(name)}"


# --- Kubernetes ------------------------------------------------------------------------

K8S = DEPLOY / "k8s"
MANIFESTS = (
    "namespace.yaml",
    "config.yaml",
    "secret.example.yaml",
    "streams-job.yaml",
    "intake.yaml",
    "aggregator.yaml",
    "reporter.yaml",
)


def test_kubernetes_manifests_validate_against_the_schemas() -> None:
    """kubernetes-validate --strict accepts every manifest (and rejects a broken one)."""
    import kubernetes_validate

    for name in MANIFESTS:
        for doc in load_all(K8S / name):
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
    broken = load_all(K8S / "intake.yaml")[0]
    broken["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30.0", strict=True)


def test_kustomization_lists_existing_files() -> None:
    """kustomization.yaml applies every manifest except the secret example."""
    kust = load(K8S / "kustomization.yaml")
    assert set(kust["resources"]) == set(MANIFESTS) - {"secret.example.yaml"}  # type: ignore[index]


def test_deployments_probe_health_and_readiness_on_the_metrics_port() -> None:
    """Liveness /healthz and readiness /readyz on the port the service listens on."""
    for name in SERVICES:
        deployment, service = load_all(K8S / f"{name}.yaml")[:2]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["run", name]
        assert container["ports"][0]["containerPort"] == PORTS[name]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        env = {e["name"]: e for e in container["env"]}
        assert (
            env["TTHC_NATS_URL"]["valueFrom"]["secretKeyRef"]["key"] == f"{name.upper()}_NATS_URL"
        )
        assert env["TTHC_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "tthc-secrets"
        init = deployment["spec"]["template"]["spec"]["initContainers"][0]
        assert "stream info" in init["args"][0]
        assert service["spec"]["ports"][0]["port"] == PORTS[name]
        # metrics stay scrapable while unready (NATS away): the broker alert needs them
        assert service["spec"]["publishNotReadyAddresses"] is True
        assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_streams_job_creates_the_projects_streams_with_three_replicas() -> None:
    """The Job's stream JSON is the project's stream configuration with num_replicas 3."""
    configmap = load_all(K8S / "streams-job.yaml")[0]
    wanted = {c.name: c.as_dict() for c in stream_configs(Settings.from_env())}
    assert {k.removesuffix(".json") for k in configmap["data"]} == set(wanted)
    for key, text in configmap["data"].items():
        config = json.loads(text)
        assert config.pop("num_replicas") == 3
        expected = wanted[key.removesuffix(".json")]
        for field in (
            "name",
            "subjects",
            "storage",
            "retention",
            "discard",
            "duplicate_window",
            "max_msg_size",
        ):
            assert field in config, (key, field)
        assert {k: expected.get(k) for k in config} == config


def test_nats_chart_values_make_a_three_node_jetstream_cluster_with_the_accounts() -> None:
    """3 replicas, file storage, and accounts.conf included from the mounted Secret."""
    values = load(K8S / "nats-values.yaml")
    cfg = values["config"]  # type: ignore[index]
    assert cfg["cluster"] == {"enabled": True, "replicas": 3}
    assert cfg["jetstream"]["enabled"] and cfg["jetstream"]["fileStore"]["pvc"]["enabled"]
    include = cfg["merge"]["$include"]
    mount = values["container"]["patch"][0]["value"]["mountPath"]  # type: ignore[index]
    assert include == f"../{Path(mount).name}/accounts.conf"
    env = values["container"]["env"]  # type: ignore[index]
    accounts = (DEPLOY / "nats" / "accounts.conf").read_text(encoding="utf-8")
    assert set(env) == set(re.findall(r"\$(TTHC_NATS_[A-Z_]+)", accounts))


# --- systemd ---------------------------------------------------------------------------

SYSTEMD = DEPLOY / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(SYSTEMD / name, encoding="utf-8")
    return parser


def test_systemd_units_run_each_service_after_nats() -> None:
    """One unit per service running `tthc run <name>`, after nats-server and wanting it,
    never requiring it (a restart of nats-server must not restart the services)."""
    for name in SERVICES:
        text = (SYSTEMD / f"tthc-{name}.service").read_text(encoding="utf-8")
        u = unit(f"tthc-{name}.service")
        assert u["Service"]["ExecStart"].endswith(f"/tthc run {name}")
        assert re.search(r"^Wants=.*\bnats-server\.service", text, re.M)
        assert re.search(r"^After=.*\bnats-server\.service", text, re.M)
        assert not re.search(r"^(Requires|BindsTo|PartOf)=", text, re.M)
        assert u["Service"]["KillSignal"] == "SIGTERM"
    nats = unit("nats-server.service")["Service"]["ExecStart"]
    assert "-js" in nats and "-sd /var/lib/nats" in nats and "/etc/nats/nats-host.conf" in nats
    assert " -m " not in f"{nats} "  # monitoring comes from nats-host.conf, on localhost


def test_nats_host_config_binds_monitoring_to_localhost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real nats-server run with nats-host.conf (as the unit runs it) serves monitoring
    on 127.0.0.1 only and clients on every interface, with the project's accounts."""
    from shared.natsserver import find_nats_server, free_port

    binary = find_nats_server()
    for name in ("SYS", "OPS", "INTAKE", "AGGREGATOR", "REPORTER"):
        monkeypatch.setenv(f"TTHC_NATS_{name}_PASSWORD", "pw")
    conf = tmp_path / "etc"
    conf.mkdir()
    for source in (DEPLOY / "nats" / "nats-server.conf", DEPLOY / "nats" / "accounts.conf"):
        (conf / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    http, client = free_port(), free_port()
    host = (SYSTEMD / "nats-host.conf").read_text(encoding="utf-8")
    assert 'http: "127.0.0.1:8222"' in host
    (conf / "nats-host.conf").write_text(host.replace(":8222", f":{http}"), encoding="utf-8")
    log = tmp_path / "nats.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-c", str(conf / "nats-host.conf"), "-js", "-sd", str(tmp_path / "js"),
             "-p", str(client)],
            stdout=out, stderr=out,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while "Server is ready" not in log.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        text = log.read_text(errors="replace")
        assert f"Starting http monitor on 127.0.0.1:{http}" in text
        assert f"Listening for client connections on 0.0.0.0:{client}" in text
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def install_block() -> str:
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = doc.split("## systemd (one host)", 1)[1]
    return section.split("```sh", 1)[1].split("```", 1)[0]


def test_documented_install_makes_users_only_where_absent() -> None:
    """Debian's nats-server package already made `nats`: a bare `useradd nats` fails, so
    every documented useradd is guarded; here (the package installed) it is skipped."""
    lines = [line for line in install_block().splitlines() if "useradd" in line]
    assert {re.search(r"useradd .* (\w+)$", line).group(1) for line in lines} == {"tthc", "nats"}  # type: ignore[union-attr]
    for line in lines:
        user = line.rsplit(" ", 1)[1]
        assert line.startswith(f"id -u {user} >/dev/null 2>&1 || sudo useradd --system "), line
    if subprocess.run(["id", "-u", "nats"], capture_output=True).returncode == 0:
        guard = next(line for line in lines if line.endswith(" nats")).split(" || ")[0]
        assert subprocess.run(["bash", "-c", guard], capture_output=True).returncode == 0
    block = install_block()
    assert "deploy/systemd/nats-host.conf /etc/nats/" in block


def test_systemd_units_pass_systemd_analyze(tmp_path: Path) -> None:
    """systemd-analyze verify finds nothing wrong (binaries pointed at this checkout)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed; the configparser test above still ran")
    tthc = ROOT / ".venv" / "bin" / "tthc"
    for path in SYSTEMD.glob("*.service"):
        text = path.read_text(encoding="utf-8").replace("/opt/tthc/.venv/bin/tthc", str(tthc))
        text = text.replace(
            "/usr/sbin/nats-server", shutil.which("nats-server") or "/usr/sbin/nats-server"
        )
        (tmp_path / path.name).write_text(text, encoding="utf-8")
        result = subprocess.run(
            [analyze, "verify", str(tmp_path / path.name)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        problems = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if path.name in line and "not executable" not in line
        ]
        assert problems == [], problems


# --- Grafana ---------------------------------------------------------------------------

GRAFANA = DEPLOY / "grafana"


def exposed_metric_names() -> set[str]:
    """Every series name the services' own registries expose (counters as *_total,
    histograms as *_bucket/_sum/_count), plus Prometheus's own `up` and `time`."""
    from services.aggregator.metrics import AggregatorMetrics
    from services.intake.metrics import IntakeMetrics
    from services.reporter.service import ReporterMetrics

    names = {"up"}
    for registry in (
        IntakeMetrics().registry,
        AggregatorMetrics().registry,
        ReporterMetrics().registry,
    ):
        for family in registry.collect():
            if family.type == "counter":
                names.add(f"{family.name}_total")
            elif family.type == "histogram":
                names.update(f"{family.name}{s}" for s in ("_bucket", "_sum", "_count"))
            else:
                names.add(family.name)
    return names


PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "increase",
    "histogram_quantile",
    "time",
    "max",
    "min",
    "label_values",
    "le",
    "and",
    "or",
    "unless",
    "without",
    "avg",
    "count",
    "delta",
}


def metric_names_in(expr: str) -> set[str]:
    """Identifiers of a PromQL expression that are metric names (not functions, labels)."""
    expr = re.sub(r"label_values\(([^,]+),[^)]*\)", r"\1", expr)  # Grafana: metric, label
    expr = re.sub(r"\{[^}]*\}", "", expr)  # drop label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # and ranges
    # label lists of grouping and vector matching: by, without, on, ignoring, group_*
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {w for w in words - PROMQL_WORDS if not w.startswith("$")}


def dashboard_expressions() -> list[str]:
    dash = json.loads((GRAFANA / "dashboards" / "tthc.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_dashboard_queries_use_real_metric_names() -> None:
    """Every metric a dashboard query names is exposed by a service (or is `up`)."""
    known = exposed_metric_names()
    used: set[str] = set()
    for expr in dashboard_expressions():
        used |= metric_names_in(expr)
    assert used, "no metric found in the dashboard"
    assert used - known == set()
    assert {"tthc_consumer_pending_events", "tthc_cases_overdue_without_apology", "up"} <= used


# Series of prometheus-nats-exporter's -jsz collector (collector/jsz.go: namespace
# "jetstream", server-level gauges from /jsz: Bytes and Config.MaxStore), which the
# project's own deploy scrapes (Compose service nats-exporter, the Helm chart's exporter).
NATS_EXPORTER_METRICS = {"jetstream_server_total_message_bytes", "jetstream_server_max_storage"}


def test_alert_rules_use_real_metric_names() -> None:
    """Every metric an alert rule names is exposed by a service (or is `up`), or by the
    NATS exporter the deployment runs."""
    known = exposed_metric_names() | NATS_EXPORTER_METRICS
    rules = load(DEPLOY / "prometheus" / "alerts.yml")
    used: set[str] = set()
    for group in rules["groups"]:  # type: ignore[index]
        for rule in group["rules"]:
            used |= metric_names_in(rule["expr"]) - {"absent", "min_over_time"}
    assert used - known == set()
    assert used >= NATS_EXPORTER_METRICS


def test_the_nats_exporter_is_scraped_with_jetstream_metrics() -> None:
    """The JetStream storage alert has its series: Compose runs the exporter with -jsz and
    Prometheus scrapes it; the Helm values turn the chart's exporter on with jsz."""
    exporter = compose()["services"]["nats-exporter"]["command"]
    assert any(arg.startswith("-jsz") for arg in exporter)
    prom = load(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}  # type: ignore[index]
    assert jobs["nats"]["static_configs"][0]["targets"] == ["nats-exporter:7777"]
    values = load(K8S / "nats-values.yaml")
    assert values["promExporter"]["enabled"] and values["promExporter"]["jsz"]  # type: ignore[index]


def test_grafana_provisioning_points_at_the_dashboard_and_datasource() -> None:
    """The provider's path is where Compose mounts the dashboards; the provisioned
    datasource is Prometheus and the default, which the dashboard's variable picks."""
    provider = load(GRAFANA / "provisioning" / "dashboards" / "tthc.yml")["providers"][0]  # type: ignore[index]
    mounts = compose()["services"]["grafana"]["volumes"]
    assert f"../grafana/dashboards:{provider['options']['path']}:ro" in mounts
    source = load(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]  # type: ignore[index]
    assert source["type"] == "prometheus" and source["isDefault"] is True


def test_dashboard_hard_codes_no_datasource() -> None:
    """Importable into any Grafana: every panel, query and variable uses the dashboard's
    `datasource` variable (type prometheus), never a datasource uid of this deployment."""
    text = (GRAFANA / "dashboards" / "tthc.json").read_text(encoding="utf-8")
    dash = json.loads(text)
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    wanted = {"type": "prometheus", "uid": "${datasource}"}
    used = [p["datasource"] for p in dash["panels"] if p["type"] != "row"]
    used += [t["datasource"] for p in dash["panels"] for t in p.get("targets", [])]
    used += [v["datasource"] for v in variables.values() if v["type"] == "query"]
    assert used and all(d == wanted for d in used)
    uid = load(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]["uid"]  # type: ignore[index]
    assert uid not in text


def metric_types() -> dict[str, str]:
    """Series name -> Prometheus type, over the services' registries."""
    from services.aggregator.metrics import AggregatorMetrics
    from services.intake.metrics import IntakeMetrics
    from services.reporter.service import ReporterMetrics

    types: dict[str, str] = {}
    for registry in (
        IntakeMetrics().registry,
        AggregatorMetrics().registry,
        ReporterMetrics().registry,
    ):
        for family in registry.collect():
            if family.type == "counter":
                types[f"{family.name}_total"] = "counter"
            elif family.type == "histogram":
                types.update({f"{family.name}{s}": "histogram" for s in ("_bucket", "_sum", "_count")})
            else:
                types[family.name] = family.type
    return types


def test_dashboard_applies_rate_and_increase_to_counters_only() -> None:
    """All-time counts computed from the database are gauges (they can go down): the
    dashboard reads them as levels or with delta(), never rate() or increase()."""
    types = metric_types()
    exprs = dashboard_expressions()
    for expr in exprs:
        for inner in re.findall(r"\b(?:rate|increase)\(([^\[]*)\[", expr):
            for name in metric_names_in(inner):
                assert types.get(name) in ("counter", "histogram"), (name, expr)
    for expr in re.findall(r"\bdelta\(([^\[]*)\[", " ".join(exprs)):
        for name in metric_names_in(expr):
            assert types.get(name) == "gauge", (name, expr)
    assert types["tthc_cases_received"] == "gauge"
    assert any("delta(tthc_cases_received" in e for e in exprs)


def test_metric_name_extraction_finds_names_not_functions_or_labels() -> None:
    """The checker sees the metric inside functions, matchers and ranges (so a typo fails)."""
    expr = 'histogram_quantile(0.95, sum by (le) (rate(tthc_typo_bucket{unit=~"$unit"}[5m])))'
    assert metric_names_in(expr) == {"tthc_typo_bucket"}
    assert metric_names_in("label_values(tthc_cases_open, unit)") == {"tthc_cases_open"}
