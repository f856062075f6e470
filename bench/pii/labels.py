"""The types the gold set labels: the members of `pipelines.pii.entities.EntityType`, mirrored here.

A mirror, not an import, so the dataset builds and the baseline runs even while `pipelines.pii` is
mid-edit and does not import. Both are `StrEnum`s of the same names, so `Label.PHONE == EntityType.PHONE`
and either one finds the other's entry in a dict. The engine adapter reports any `EntityType` member
missing here (a type with no gold data yet).
"""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
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
