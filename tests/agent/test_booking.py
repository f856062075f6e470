"""Slot labels are normalized (ISO, the business's time zone) before any key: one slot, one booking, however the
model spells it (the booking tool itself: `test_one_slot_written_two_ways_is_booked_once` in test_tools.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.tools.booking import Calendar
from tests.agent.test_tools import HOURS, MONDAY_MORNING


def test_spellings_of_one_slot_normalize_to_one_label() -> None:
    calendar = Calendar(HOURS)  # Asia/Kolkata by default
    for spelling in ("2026-12-02T09:00", "2026-12-2T9:0", " 2026-12-02T09:00:00 ", "2026-12-02T03:30+00:00"):
        assert calendar.normalize(spelling) == "2026-12-02T09:00", spelling
    now = datetime.fromtimestamp(MONDAY_MORNING, UTC)
    assert calendar.bookable("2026-12-2T9:0", now)
    off_the_minute = "2026-12-02T09:00:30"  # no slot, and never rounded to one
    assert calendar.normalize(off_the_minute) is None
    assert calendar.normalize("tomorrow at 10") is None
    assert calendar.normalize("9" * 10_000) is None


@settings(deadline=None, max_examples=200)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_unpadded_and_padded_labels_agree(moment: datetime) -> None:
    moment = moment.replace(second=0, microsecond=0)
    calendar = Calendar(HOURS)
    unpadded = f"{moment.year}-{moment.month}-{moment.day}T{moment.hour}:{moment.minute}"
    assert calendar.normalize(unpadded) == calendar.normalize(moment.strftime("%Y-%m-%dT%H:%M"))
    assert calendar.normalize(unpadded) == moment.strftime("%Y-%m-%dT%H:%M")
