"""The figures interface's JSON: what goes over `tthc.query.figures`.

`to_json` lets orjson encode the dataclass itself (no `dataclasses.asdict` deep copy);
the bytes must be exactly those of the dict it stands for, and decode back to an equal
object.
"""

from __future__ import annotations

import dataclasses

import orjson
from hypothesis import given
from hypothesis import strategies as st

from shared.ports import FiguresReply, FiguresRequest, request_from_json, request_to_json

keys = st.text(min_size=1, max_size=12)  # any text: Vietnamese names, codes, slugs
leaves = st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=20), st.booleans(), st.none())
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)
dicts = st.dictionaries(keys, values, max_size=5)


@given(
    figures=dicts,
    anomalies=dicts,
    watermark=dicts,
    communes=st.dictionaries(keys, dicts, max_size=4),
    error=st.one_of(st.none(), st.text(max_size=30)),
    procedures=st.dictionaries(keys, st.integers(0, 10_000), max_size=4),
)
def test_reply_json_is_the_dict_it_stands_for(
    figures, anomalies, watermark, communes, error, procedures
) -> None:
    reply = FiguresReply(
        figures=figures,
        anomalies=anomalies,
        watermark=watermark,
        communes=communes,
        error=error,
        by_agency={"ubnd": figures},
        by_field={"tu-phap": figures, "unspecified": {}},
        procedures=procedures,
    )
    data = reply.to_json()
    assert data == orjson.dumps(dataclasses.asdict(reply))
    assert FiguresReply.from_json(data) == reply


@given(
    kind=st.sampled_from(["commune", "province"]),
    code=st.text(min_size=1, max_size=8),
    start=st.integers(0, 2**62),
    length=st.integers(0, 2**40),
    with_communes=st.booleans(),
    agency=st.sampled_from(["ubnd", "cong_an", "all"]),
)
def test_request_json_round_trips(kind, code, start, length, with_communes, agency) -> None:
    request = FiguresRequest(kind, code, start, start + length, start, with_communes, agency)
    data = request_to_json(request)
    assert data == orjson.dumps(dataclasses.asdict(request))
    assert request_from_json(data) == request
