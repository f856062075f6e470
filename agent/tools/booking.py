"""Bookable slots from a tenant's weekly hours: what to propose, and whether a requested slot is bookable."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from agent.tenants.automation import WEEKDAYS, parse_hours

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    from agent.tenants.automation import Booking

SLOT_FORMAT = "%Y-%m-%dT%H:%M"  # local time of the business, as the model reads and writes it


class Calendar:
    def __init__(self, booking: Booking) -> None:
        self._booking = booking
        self._zone = ZoneInfo(booking.timezone)
        self._step = timedelta(minutes=booking.slot_minutes)

    def _slots(self, now: datetime) -> Iterator[datetime]:
        local_now = now.astimezone(self._zone)
        for day in range(self._booking.days_ahead + 1):
            date = (local_now + timedelta(days=day)).date()
            span = self._booking.hours.get(WEEKDAYS[date.weekday()])
            if span is None:
                continue
            opening, closing = parse_hours(span)
            slot = datetime.combine(date, opening, self._zone)
            end = datetime.combine(date, closing, self._zone)
            while slot + self._step <= end:
                if slot > local_now:
                    yield slot
                slot += self._step

    def proposals(self, now: datetime, taken: Collection[str]) -> list[str]:
        """The next free slots, in the business's local time."""
        found: list[str] = []
        for slot in self._slots(now):
            label = slot.strftime(SLOT_FORMAT)
            if label not in taken:
                found.append(label)
                if len(found) == self._booking.proposals:
                    break
        return found

    def start(self, label: str) -> datetime | None:
        """The moment a slot label stands for, in the business's time zone (None if it is not a slot time).
        Accepts ISO 8601 (an offset is converted to the business's zone) and unpadded `2026-1-5T9:0`."""
        text = label.strip()[:64]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            try:
                moment = datetime.strptime(text, SLOT_FORMAT)
            except ValueError:
                return None
        if moment.second or moment.microsecond:
            return None  # slots start on the minute: this is no slot, whatever it rounds to
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self._zone)
        return moment.astimezone(self._zone)

    def normalize(self, label: str) -> str | None:
        """The one label of the slot `label` names (`2026-1-5T9:0` → `2026-01-05T09:00`), so that every key
        and every comparison sees the same text for the same slot; None if it names no slot time."""
        start = self.start(label)
        return start.strftime(SLOT_FORMAT) if start is not None else None

    def bookable(self, label: str, now: datetime) -> bool:
        """A slot the hours offer, in the future and within the booking window (taken or not)."""
        wanted = self.start(label)
        return wanted is not None and any(slot == wanted for slot in self._slots(now))
