"""What the PII engine talks about: entity types, detected spans, and the detector protocol."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator


class EntityType(StrEnum):
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    CARD = "CARD"
    AADHAAR = "AADHAAR"
    PAN = "PAN"
    IBAN = "IBAN"
    UPI = "UPI"
    VOTER_ID = "VOTER_ID"
    PASSPORT = "PASSPORT"
    VEHICLE = "VEHICLE"
    GSTIN = "GSTIN"
    IFSC = "IFSC"
    BANK_ACCOUNT = "BANK_ACCOUNT"
    IP = "IP"
    DOB = "DOB"
    PERSON = "PERSON"
    ADDRESS = "ADDRESS"


@dataclass(frozen=True, slots=True)
class Span:
    """A detected value: `text[start:end]` is the original surface form, `value` its normalized form
    (the identity of the value in the vault: one number written two ways has one `value`)."""

    start: int
    end: int
    type: EntityType
    value: str


class Detector(Protocol):
    """Finds one kind of personal data in a text; validates with a checksum or grammar where one exists."""

    type: EntityType

    def find(self, text: str) -> Iterator[Span]: ...
