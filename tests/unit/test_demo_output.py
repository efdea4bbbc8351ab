"""What the demo prints (services/demo/output.py)."""

from __future__ import annotations

from services.demo.output import summary_lines


def test_summary_lists_rejections_by_reason():
    """The summary names each rejection reason with its count."""
    from services.simulator.publish import PublishStats

    stats = PublishStats(published=10)
    stats.kinds.update({"event": 8, "invalid:bad_type": 2})
    counts = {
        "tthc_intake_accepted_total": 8,
        "tthc_intake_rejected_total{reason=bad_type}": 2,
        "tthc_intake_rejected_total{reason=invalid_json}": 0,
    }
    text = "\n".join(summary_lines(stats, counts, caught_up=True))
    assert "(bad_type 2)" in text and "invalid_json" not in text
    assert "WARNING" not in text
    assert "WARNING" in "\n".join(summary_lines(stats, counts, caught_up=False))
    missing = "\n".join(summary_lines(stats, counts, caught_up=True, missing=3))
    assert "WARNING: 3 of the valid events published are not in the figures" in missing
