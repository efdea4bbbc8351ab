"""`tthc appendix` and `tthc snapshots`: outputs, exit status 2 with one line, path safety."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest
from openpyxl import load_workbook

from services import cli as root
from services.bootstrap import App
from shared.errors import UsageError
from shared.settings import Settings
from tests.kits.reporter import (
    COMMUNE,
    PROVINCE,
    FakeFiguresSource,
    registry,
    sample_events,
    write_registry,
)

NOW = "2024-03-20T10:15:00+07:00"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Settings of a test: a small registry file and a data dir in tmp_path."""
    reg_file = write_registry(tmp_path / "registry.json")
    data = tmp_path / "data"
    monkeypatch.setenv("TTHC_DATA_DIR", str(data))
    monkeypatch.setenv("TTHC_REGISTRY_FILE", str(reg_file))
    monkeypatch.setenv("TTHC_METRICS_PORT", "0")
    monkeypatch.setenv("TTHC_LOG_FORMAT", "json")
    monkeypatch.setenv("TTHC_LOG_LEVEL", "WARNING")
    from shared.logging import configure_logging

    configure_logging("WARNING", "json")  # as main() does: logs to stderr, never stdout
    return Settings.from_env()


def run(argv, settings, capsysbinary, source=None):
    """Run a `tthc` command as main() does, with a fake figures source."""
    parser = root.build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        out = capsysbinary.readouterr()
        return exc.code, out.out, out.err.decode()
    fake = source or FakeFiguresSource(registry(), sample_events())
    app = App(settings)
    app.figures_source = lambda: fake  # type: ignore[method-assign]
    try:
        code = args.func(args, app)
    except UsageError as exc:
        print(f"tthc: error: {exc}", file=__import__("sys").stderr)
        code = 2
    out = capsysbinary.readouterr()
    return code, out.out, out.err.decode()


def test_json_to_stdout(env, capsysbinary):
    """The default prints one JSON object with the contract's keys; the source is closed."""
    source = FakeFiguresSource(registry(), sample_events())
    code, out, _ = run(
        ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--now", NOW],
        env,
        capsysbinary,
        source,
    )
    assert code == 0
    doc = orjson.loads(out)
    assert doc["schema"] == "tthc.appendix/1"
    assert doc["unit"]["code"] == COMMUNE
    assert doc["figures"]["received_total"] == 9
    assert source.closed


def test_calendar_option(env, capsysbinary):
    """--calendar calendar gives natural quarters."""
    code, out, _ = run(
        [
            "appendix",
            "--commune",
            COMMUNE,
            "--period",
            "2024-Q1",
            "--calendar",
            "calendar",
            "--now",
            NOW,
        ],
        env,
        capsysbinary,
    )
    assert code == 0
    assert orjson.loads(out)["period"] == {
        "label": "2024-Q1",
        "calendar": "calendar",
        "start": "2024-01-01",
        "end": "2024-03-31",
    }


def test_province_json_and_template(env, capsysbinary):
    """--province rolls up; --template bieu-mau-3 changes the rows."""
    code, out, _ = run(
        [
            "appendix",
            "--province",
            PROVINCE,
            "--period",
            "2024-Q1",
            "--template",
            "bieu-mau-3",
            "--now",
            NOW,
        ],
        env,
        capsysbinary,
    )
    doc = orjson.loads(out)
    assert code == 0 and doc["unit"]["kind"] == "province"
    assert doc["template"]["name"] == "bieu-mau-3"
    assert doc["figures"]["received_total"] == 10


def test_csv_to_stdout(env, capsysbinary):
    """--format csv prints the table with a BOM."""
    code, out, _ = run(
        ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--format", "csv", "--now", NOW],
        env,
        capsysbinary,
    )
    assert code == 0 and out.startswith(b"\xef\xbb\xbf")
    assert next(csv.reader(io.StringIO(out[3:].decode())))[0] == "STT"


def test_xlsx_default_path_inside_reports(env, capsysbinary):
    """xlsx without --out goes to TTHC_DATA_DIR/reports/ and the path is printed."""
    code, out, _ = run(
        [
            "appendix",
            "--commune",
            COMMUNE,
            "--period",
            "2024-01-01..2024-03-14",
            "--format",
            "xlsx",
            "--now",
            NOW,
        ],
        env,
        capsysbinary,
    )
    assert code == 0
    path = Path(out.decode().strip())
    assert path.parent == (env.data_dir / "reports").resolve()
    assert path.name == "commune-16096-2024-01-01_2024-03-14-phu-luc-01b.xlsx"
    assert load_workbook(path).active["A1"].value == "UỶ BAN NHÂN DÂN"


def test_docx_with_out(env, capsysbinary, tmp_path):
    """--out writes where the user says; a folder that does not exist is a usage error,
    never created silently."""
    target = tmp_path / "mine" / "report.docx"
    argv = ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--format", "docx",
            "--out", str(target), "--now", NOW]  # fmt: skip
    code, _, err = run(argv, env, capsysbinary)
    assert code == 2 and "does not exist" in err and not target.parent.exists()
    target.parent.mkdir()
    code, _, _ = run(
        [
            "appendix",
            "--commune",
            COMMUNE,
            "--period",
            "2024-Q1",
            "--format",
            "docx",
            "--out",
            str(target),
            "--now",
            NOW,
        ],
        env,
        capsysbinary,
    )
    assert code == 0 and target.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["appendix", "--commune", "99999", "--period", "2024-Q1"], "unknown commune '99999'"),
        (["appendix", "--province", "77", "--period", "2024-Q1"], "unknown province '77'"),
        (["appendix", "--commune", "../../x", "--period", "2024-Q1"], "unknown commune"),
        (["appendix", "--commune", COMMUNE, "--period", "2024-Q9"], "malformed period"),
        (["appendix", "--commune", COMMUNE, "--period", "yesterday"], "malformed period"),
        (
            ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--format", "pdf"],
            "invalid choice",
        ),
        (
            ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--calendar", "lunar"],
            "invalid choice",
        ),
        (
            ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--template", "nope"],
            "unknown template",
        ),
        (
            ["appendix", "--period", "2024-Q1"],
            "one of the arguments --commune --province is required",
        ),
        (
            ["appendix", "--commune", COMMUNE, "--province", PROVINCE, "--period", "2024-Q1"],
            "not allowed with",
        ),
        (
            ["snapshots", "show", "--commune", COMMUNE, "--period", "2024-Q1"],
            "no snapshot of commune 16096",
        ),
        (["snapshots", "make", "--period", "2024-01-01..2024-01-31"], "named periods"),
        (
            ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--agency", "Công An"],
            "malformed agency",
        ),
        (
            ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--agency", "../x"],
            "malformed agency",
        ),
        (
            ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--value", "nope"],
            "--value 'nope'",
        ),
        (
            ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--date", "15/12/2023"],
            "--date '15/12/2023'",
        ),
        (
            ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--values", "/nonexistent.json"],
            "values file /nonexistent.json",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line(env, capsysbinary, argv, fragment):
    """Every bad argument gives exit status 2 and one line on stderr saying what is wrong."""
    code, _out, err = run(argv, env, capsysbinary)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert fragment in lines[0]


def test_main_exit_status_2(env, capsys):
    """Through the real entry point too: unknown commune and malformed period exit 2, one line."""
    for argv in (
        ["appendix", "--commune", "99999", "--period", "2024-Q1"],
        ["appendix", "--commune", COMMUNE, "--period", "2024-13"],
    ):
        assert root.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("tthc: error:")


def test_snapshots_make_list_show_diff(env, capsysbinary):
    """make freezes every commune and province with data (province 40 sent nothing: no
    snapshot); a later change makes revision 2 with a diff."""
    source = FakeFiguresSource(registry(), sample_events())
    code, out, _ = run(
        ["snapshots", "make", "--period", "2024-Q1", "--no-notify", "--now", NOW],
        env,
        capsysbinary,
        source,
    )
    assert code == 0
    text = out.decode()
    assert text.count("new revision") == 3  # 2 communes with data + their province
    code, out, _ = run(["snapshots", "list", "--json"], env, capsysbinary)
    listed = orjson.loads(out)
    assert {(e["unit_kind"], e["unit_code"]) for e in listed} == {
        ("commune", "16096"),
        ("commune", "16099"),
        ("province", "38"),
    }
    # unchanged figures: nothing new
    code, out, _ = run(
        ["snapshots", "make", "--period", "2024-Q1", "--no-notify", "--now", NOW],
        env,
        capsysbinary,
        source,
    )
    assert "new revision" not in out.decode() and out.decode().count("unchanged") == 3
    # a late event for the period: revision 2 for the commune and its province only
    from tests.kits.reporter import received

    source.add([received("LATE", "2024-03-10T09:00", "2024-03-30T17:00")])
    code, out, _ = run(
        [
            "snapshots",
            "make",
            "--period",
            "2024-Q1",
            "--no-notify",
            "--now",
            "2024-04-01T10:00:00+07:00",
        ],
        env,
        capsysbinary,
        source,
    )
    assert out.decode().count("new revision") == 2
    code, out, _ = run(
        ["snapshots", "diff", "--commune", COMMUNE, "--period", "2024-Q1", "--json"],
        env,
        capsysbinary,
    )
    diff = orjson.loads(out)
    assert diff["from"] == 1 and diff["to"] == 2
    assert diff["changes"]["received_total"] == {"from": 9, "to": 10}
    code, out, _ = run(
        [
            "snapshots",
            "show",
            "--commune",
            COMMUNE,
            "--period",
            "2024-Q1",
            "--revision",
            "1",
            "--json",
        ],
        env,
        capsysbinary,
    )
    first = orjson.loads(out)
    assert first["figures"]["received_total"] == 9 and first["intact"] is True
    code, out, _ = run(
        ["snapshots", "show", "--commune", COMMUNE, "--period", "2024-Q1"], env, capsysbinary
    )
    assert "revision  2" in out.decode() and "received_total" in out.decode()


def test_agency_option_reaches_the_request_and_the_json(env, capsysbinary):
    """--agency is passed in the figures request and written as the JSON's `agency`."""
    source = FakeFiguresSource(registry(), sample_events())
    argv = ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--now", NOW]
    code, out, _ = run([*argv, "--agency", "all"], env, capsysbinary, source)
    assert code == 0 and orjson.loads(out)["agency"] == "all"
    assert source.requests[-1].agency == "all"
    code, out, _ = run(argv, env, capsysbinary, source)
    doc = orjson.loads(out)
    assert doc["agency"] == "ubnd" and source.requests[-1].agency == "ubnd"
    assert list(doc)[:9] == [
        "schema", "unit", "period", "agency", "figures", "by_agency", "by_field", "rows", "anomalies"
    ]
    assert set(doc["by_field"]) == {"dat_dai", "xay_dung", "unspecified"}


def test_office_values_from_a_file_and_the_command_line(env, capsysbinary, tmp_path):
    """A values file fills the rows events cannot give; --value wins; the rest stays empty."""
    values = tmp_path / "values.json"
    values.write_text(
        orjson.dumps(
            {
                "schema": "tthc.values/1",
                "values": [
                    {"unit": COMMUNE, "period": "*", "values": {"tthc_dang_ap_dung": 212}},
                    {"unit": COMMUNE, "period": "2024-Q1", "values": {"tthc_mot_cua": 123}},
                    {"unit": "16099", "period": "*", "values": {"tthc_lien_thong_cung_cap": 9}},
                ],
            }
        ).decode(),
        encoding="utf-8",
    )
    argv = ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--now", NOW]
    code, out, _ = run(
        [*argv, "--values", str(values), "--value", "tthc_mot_cua=124"], env, capsysbinary
    )
    assert code == 0
    rows = {r["stt"]: r for r in orjson.loads(out)["rows"]}
    assert rows["3.1.3"]["display"] == "212"
    assert rows["3.2.1"]["display"] == "124"
    assert rows["3.2.2"]["display"] == "" and rows["3.2.2"]["value"] is None


def test_text_format_prints_the_table(env, capsysbinary):
    """--format text prints the reporter's plain-text table (the demo's)."""
    code, out, _ = run(
        ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--format", "text", "--now", NOW],
        env,
        capsysbinary,
    )
    text = out.decode()
    assert code == 0 and "PHỤ LỤC 01b" in text and "Đơn vị: Xã Hoằng Hợp (16096)" in text
    assert "Kiểm tra: số liệu khớp" in text


def test_deployment_file_signs_the_document(env, capsysbinary, tmp_path, monkeypatch):
    """TTHC_DEPLOYMENT_FILE names the signer; --date and --report-number set the lines."""
    from docx import Document

    deployment = tmp_path / "deployment.json"
    deployment.write_text(
        orjson.dumps(
            {"schema": "tthc.deployment/1", "units": {COMMUNE: {"signer_name": "Lê Văn Phượng"}}}
        ).decode(),
        encoding="utf-8",
    )
    monkeypatch.setenv("TTHC_DEPLOYMENT_FILE", str(deployment))
    target = tmp_path / "signed.docx"
    code, _, err = run(
        [
            "appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--format", "docx",
            "--out", str(target), "--date", "2024-03-2", "--report-number", "15/BC-UBND",
            "--now", NOW,
        ],
        Settings.from_env(),
        capsysbinary,
    )
    assert code == 2 and "--date '2024-03-2'" in err  # a malformed date is refused
    code, _, _ = run(
        [
            "appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--format", "docx",
            "--out", str(target), "--date", "2024-03-02", "--report-number", "15/BC-UBND",
            "--now", NOW,
        ],
        Settings.from_env(),
        capsysbinary,
    )
    assert code == 0
    doc = Document(str(target))
    head = [p.text for c in doc.tables[0].rows[0].cells for p in c.paragraphs]
    assert "Số: 15/BC-UBND" in head and "Hoằng Hợp, ngày 02 tháng 3 năm 2024" in head
    assert "Lê Văn Phượng" in [p.text for p in doc.tables[-1].cell(0, 1).paragraphs]


def test_snapshots_freeze_every_form(env, capsysbinary):
    """A snapshot revision holds appendix.json and each form's XLSX and DOCX."""
    from pathlib import Path

    run(
        ["snapshots", "make", "--period", "2024-Q1", "--commune", COMMUNE, "--no-notify", "--now", NOW],
        env,
        capsysbinary,
    )
    code, out, _ = run(
        ["snapshots", "show", "--commune", COMMUNE, "--period", "2024-Q1", "--json"], env, capsysbinary
    )
    assert code == 0
    record = orjson.loads(out)
    assert record["forms"] == ["phu-luc-01b", "bieu-mau-3", "bieu-06-vpcp"]
    names = set(record["files"].values())
    for form in record["forms"]:
        assert {f"{form}.xlsx", f"{form}.docx"} <= names
    assert all((Path(record["path"]) / name).exists() for name in names)
    assert record["intact"] is True


def test_standard_error_says_when_there_is_no_data_or_it_is_incomplete(env, capsysbinary):
    """A database with no events at all, or figures known to be incomplete: said on stderr,
    the appendix still printed."""
    argv = ["appendix", "--commune", COMMUNE, "--period", "2024-Q1", "--now", NOW]
    code, out, err = run(argv, env, capsysbinary, source=FakeFiguresSource(registry(), []))
    assert code == 0 and orjson.loads(out)["figures"]["received_total"] == 0
    assert "holds no events at all" in err and "TTHC_DATABASE_URL" in err
    source = FakeFiguresSource(registry(), sample_events())
    source.completeness = {"complete": False, "missing_messages": 3, "detail": "3 lost"}
    code, out, err = run(argv, env, capsysbinary, source=source)
    assert code == 0 and orjson.loads(out)["complete"] is False
    assert "the figures are incomplete: 3 lost" in err and "no events" not in err
