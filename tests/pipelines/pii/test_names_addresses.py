"""PERSON and ADDRESS by rule: triggers, honorifics, known pairs; address components in a row."""

from __future__ import annotations

import pytest

from pipelines.pii import EntityType, Minimizer


def _found(text: str) -> list[tuple[EntityType, str]]:
    return [(s.type, text[s.start : s.end]) for s in Minimizer().scan(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, my name is Priya Sharma, I need a quote", "Priya Sharma"),
        ("this is Rahul from Baner", "Rahul"),
        ("main Ramesh Kumar bol raha hoon", "Ramesh Kumar"),
        ("mera naam Sunita hai", "Sunita"),
        ("Mr. Kapoor called yesterday", "Kapoor"),
        ("please ask Anjali Verma to call", "Anjali Verma"),
        ("my name is zorawar bhangu", "zorawar bhangu"),
        ("मेरा नाम अनिल है", "अनिल"),
        ("Arjun ke naam pe bill banana", "Arjun"),
        ("तो बिल गीता के नाम पर बनाइए", "गीता"),
        ("parcel Ramesh ko dena", "Ramesh"),
        ("Hello please deliver to Prakash", "Prakash"),
        ("my name is Prem D'Souza", "Prem D'Souza"),
    ],
)
def test_person_names(text: str, name: str) -> None:
    assert (EntityType.PERSON, name) in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "this is urgent",
        "I am interested in solar",
        "I am in Pune",
        "Sunny day today",
        "is the rose colour nice?",
        "I saw your ad on MG Road",
        "Dr appointment kab hai",
        "please deliver to Pune by Monday",
        "is it good for home use?",
        "bill ke naam pe kya likhna hai?",
        "order ko dena hai kal",
    ],
)
def test_not_person_names(text: str) -> None:
    assert all(t is not EntityType.PERSON for t, _ in _found(text))


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Flat 302, Sai Heights, Baner Road, Pune 411045", "Flat 302, Sai Heights, Baner Road, Pune 411045"),
        ("deliver to house no 45, shanti nagar, nagpur please", "house no 45, shanti nagar, nagpur"),
        ("near Dagdusheth mandir, Budhwar Peth, Pune", "near Dagdusheth mandir, Budhwar Peth, Pune"),
        ("B-204, Sector 21, Noida", "B-204, Sector 21, Noida"),
        # two components with the same extent (a locality that is also "<word> nagar") once crashed the sort
        (
            "Address - House No. 102, next to Axis Bank, Anna Nagar, Chennai 600096",
            "House No. 102, next to Axis Bank, Anna Nagar, Chennai 600096",
        ),
    ],
)
def test_addresses(text: str, address: str) -> None:
    assert (EntityType.ADDRESS, address) in _found(text)


@pytest.mark.parametrize(
    "text",
    ["I live in Pune", "pincode 411001 hai", "price is 190000 for 3 kW", "Pune 411001 mein service hai?"],
)
def test_not_addresses(text: str) -> None:
    assert all(t is not EntityType.ADDRESS for t, _ in _found(text))
