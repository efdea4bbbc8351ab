"""docs/asyncapi.json parses with the official AsyncAPI parser (@asyncapi/parser, npm)
without an error or a warning, and docs/event.schema.json gives Ajv's verdicts the same
as Python's jsonschema. Both tools are locked in tools/asyncapi/package-lock.json and
installed by the test (tests/kits/node.py); without Node.js the tests skip, except in CI.

The checks are shown to bite: documents with an undeclared channel parameter, an
operation sending a message its channel does not carry, or a broken reference fail.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.kits.node import npm_folder

ROOT = Path(__file__).parents[2]
TOOL = ROOT / "tools" / "asyncapi"
DOC = ROOT / "docs" / "asyncapi.json"
SCHEMA = ROOT / "docs" / "event.schema.json"
# Diagnostics that may stay: AsyncAPI 3.0.0 is kept on purpose (3.1.0 is newer, and
# fewer vendor tools read it yet).
ALLOWED_INFO = {"asyncapi-latest-version"}


@pytest.fixture(scope="module")
def node() -> str:
    return npm_folder(TOOL)


def parse(node: str, path: Path) -> tuple[int, list[dict[str, Any]]]:
    result = subprocess.run(
        [node, str(TOOL / "validate.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def test_the_document_parses_without_errors_or_warnings(node: str) -> None:
    code, lines = parse(node, DOC)
    diagnostics = [d for d in lines if "severity" in d]
    assert code == 0, diagnostics
    assert {d["code"] for d in diagnostics} <= ALLOWED_INFO, diagnostics
    [summary] = [d for d in lines if d.get("parsed")]
    assert "tthc.rejections.{commune_code}" in summary["channels"]
    assert "send send_received" in summary["operations"]
    assert len(summary["operations"]) == 11


def _broken(tmp_path: Path, change: Any) -> Path:
    doc = json.loads(DOC.read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _undeclared_parameter(doc: dict[str, Any]) -> None:
    doc["channels"]["event_received"]["address"] = "tthc.events.{commune_code}.{kind}"


def _foreign_message(doc: dict[str, Any]) -> None:
    doc["operations"]["send_received"]["messages"] = [
        {"$ref": "#/channels/event_resolved/messages/resolved"}
    ]


def _dangling_reference(doc: dict[str, Any]) -> None:
    doc["components"]["messages"]["received"]["payload"] = {"$ref": "#/components/schemas/Nope"}


@pytest.mark.parametrize("change", [_undeclared_parameter, _foreign_message, _dangling_reference])
def test_the_parser_fails_a_broken_document(node: str, tmp_path: Path, change: Any) -> None:
    code, lines = parse(node, _broken(tmp_path, change))
    assert code == 1
    assert any(d.get("severity") == "error" for d in lines), lines


def _corpus() -> list[Any]:
    """Valid payloads and near misses of every kind the schema rules on."""
    base = {
        "event_id": "e1",
        "event_type": "received",
        "case_id": "C1",
        "commune_code": "16096",
        "occurred_at": "2025-07-01T08:00:00+07:00",
        "channel": "direct",
        "due_at": "2025-07-04T17:00:00+07:00",
    }
    values: list[Any] = [
        None,
        7,
        True,
        [],
        {},
        "",
        "a",
        "ho_tich",
        "Ho",
        "ho tich",
        "a\n",
        "\x00",
        "\x7f",
        "\x9f",
        "\xa0",
        "é",
        "😀",
        "a" * 32,
        "a" * 33,
        "a" * 64,
        "a" * 65,
        "é" * 128,
        "😀" * 128,
        "😀" * 129,
        "16096",
        "1609",
        "16096\n",
        "１６０９６",
        "direct",
        "fax",
        "online",
        "2025-07-01T08:00:00Z",
        "2025-07-01 08:00:00z",
        "2025-07-01T08:00:00",
        "2024-02-29T08:00:00+07:00",
        "2023-02-29T08:00:00+07:00",
        "2025-07-01T08:00:00Z\n",
        "1900-01-01T00:00:00Z",
        "1900-01-01T08:00:00+07:00",
        "9998-12-31T23:59:59.9Z",
        "9999-01-01T00:00:00Z",
        "2025-07-01T08:00:00.1234567890Z",
        "2025-07-01T24:00:00Z",
    ]
    keys = [
        *base,
        "procedure_code",
        "field",
        "agency",
        "actor",
        "new_due_at",
        "result_channel",
        "reason",
        "note",
    ]
    corpus: list[Any] = [base, [], "x", None]
    for key in keys:
        for value in values:
            corpus.append({**base, key: value})
        corpus.append({k: v for k, v in base.items() if k != key})
    rng = random.Random(15)
    for event_type in ("resolved", "apology_sent", "paused", "archived"):
        for _ in range(40):
            item = copy.deepcopy(base)
            item["event_type"] = event_type
            item[rng.choice(keys)] = rng.choice(values)
            corpus.append(item)
    return corpus


def test_ajv_and_python_jsonschema_agree_on_the_event_schema(node: str, tmp_path: Path) -> None:
    """The same verdict from Ajv (ECMAScript regular expressions, what a Node desk would
    use) as from Python's jsonschema (Python's), payload by payload."""
    corpus = _corpus()
    payloads = tmp_path / "payloads.json"
    payloads.write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run(
        [node, str(TOOL / "check-schema.mjs"), str(SCHEMA), str(payloads)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    ajv = json.loads(result.stdout)
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    python = [validator.is_valid(p) for p in corpus]
    differ = [corpus[i] for i, (a, b) in enumerate(zip(ajv, python, strict=True)) if a != b]
    assert not differ, differ[:5]
    assert 50 < sum(python) < len(corpus) - 50  # both verdicts are well represented
