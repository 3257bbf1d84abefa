"""What a delivery process says back to its poll: one JSON line, read strictly, so that a
process that died mid-line or printed anything else reads as no summary (the poll then
sends itself) rather than as a wrong count."""

from __future__ import annotations

import pytest

from mailbot.pipeline.courier import summary_as_json, summary_from_json
from mailbot.pipeline.delivery import DeliverySummary


@pytest.mark.parametrize(
    "summary",
    [
        DeliverySummary(),
        DeliverySummary(sent=3, deferred=1, failed=2, requeued=4),
        DeliverySummary(sent=1, stopped_by="421 4.3.2 Service shutting down – try later"),
    ],
)
def test_a_summary_survives_the_line(summary: DeliverySummary) -> None:
    line = summary_as_json(summary)
    assert "\n" not in line
    assert summary_from_json(line + "\n") == summary


@pytest.mark.parametrize(
    "line",
    [
        "",  # ended without a word
        '{"sent": 3, "deferred": 0',  # killed mid-line
        "Traceback (most recent call last):",
        "[]",
        '{"sent": 3, "deferred": 0, "failed": 0, "requeued": 0}',
        '{"sent": 3, "deferred": 0, "failed": 0, "requeued": 0, "stopped_by": null, "x": 1}',
        '{"sent": "3", "deferred": 0, "failed": 0, "requeued": 0, "stopped_by": null}',
        '{"sent": true, "deferred": 0, "failed": 0, "requeued": 0, "stopped_by": null}',
        '{"sent": 3, "deferred": 0, "failed": 0, "requeued": 0, "stopped_by": 5}',
    ],
)
def test_anything_else_is_no_summary(line: str) -> None:
    assert summary_from_json(line) is None
