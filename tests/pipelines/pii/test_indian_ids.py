"""The Indian identifier detectors: several layouts per type, context gates, and look-alikes that must stay."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum import luhn

from pipelines.pii import EntityType, Minimizer, Vault
from pipelines.pii.indian_ids import (
    BankAccountDetector,
    DobDetector,
    IpAddressDetector,
    VehicleDetector,
    indian_id_detectors,
)

TODAY = date(2025, 6, 1)


def _found(text: str) -> list[tuple[EntityType, str, str]]:
    """(type, surface, value) of every detection, in text order."""
    detectors = (*indian_id_detectors()[:-1], DobDetector(today=lambda: TODAY))
    spans = sorted((s for d in detectors for s in d.find(text)), key=lambda s: s.start)
    return [(s.type, text[s.start : s.end], s.value) for s in spans]


def _epic(prefix: str, serial6: str) -> str:
    return prefix + serial6 + luhn.calc_check_digit(serial6)


def test_every_type_has_one_detector() -> None:
    types = [d.type for d in indian_id_detectors()]
    assert sorted(types) == sorted(
        {
            EntityType.VOTER_ID,
            EntityType.PASSPORT,
            EntityType.VEHICLE,
            EntityType.GSTIN,
            EntityType.IFSC,
            EntityType.BANK_ACCOUNT,
            EntityType.IP,
            EntityType.DOB,
        }
    )


# --- VOTER_ID ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface", "value"),
    [
        ("my voter id is WKH1186253", "WKH1186253", "WKH1186253"),
        ("EPIC: wkh1186253.", "wkh1186253", "WKH1186253"),
        ("मेरा वोटर आईडी WKH 1186253 है", "WKH 1186253", "WKH1186253"),
        (f"matdata card {_epic('ABC', '123456')} hai", _epic("ABC", "123456"), _epic("ABC", "123456")),
    ],
)
def test_voter_id(text: str, surface: str, value: str) -> None:
    assert _found(text) == [(EntityType.VOTER_ID, surface, value)]


@pytest.mark.parametrize(
    "text",
    [
        "voter id WKH1186263",  # check digit off by one
        "voter id ABC1234567",  # the right shape, but 1234567 fails Luhn
        "invoice INV1186253 attached",
        "order WKH1186253 shipped",
        "AWB1186253 is with the courier",
    ],
)
def test_not_voter_id(text: str) -> None:
    assert _found(text) == []


# --- PASSPORT ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "passport J8369854",
        "Passport No: j8369854",
        "my passport number is J8369854, expiring 2030",
        "mera passport no. J8369854 hai",
        "पासपोर्ट नंबर J8369854 है",
    ],
)
def test_passport_after_a_passport_word(text: str) -> None:
    [(type_, _, value)] = _found(text)
    assert (type_, value) == (EntityType.PASSPORT, "J8369854")


@pytest.mark.parametrize(
    "text",
    [
        "coupon code J8369854",
        "J8369854 is my passport",  # the word must come before
        "passport office sent a letter, and much later the product code was J8369854",  # too far
        "passport ke liye order J8369854 ka status?",  # the nearer label is an order
        "passport J0369854",  # first digit zero
    ],
)
def test_not_passport(text: str) -> None:
    assert _found(text) == []


# --- VEHICLE ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plate", "value"),
    [
        ("MH 12 AB 1234", "MH12AB1234"),
        ("MH12AB1234", "MH12AB1234"),
        ("mh12ab1234", "MH12AB1234"),
        ("DL-3C-AS-1234", "DL3CAS1234"),
        ("KA 05 MN 9999", "KA05MN9999"),
        ("TN-09-BX-0042", "TN09BX0042"),
        ("UP 32 A 7788", "UP32A7788"),
        ("22 BH 1234 AA", "22BH1234AA"),
        ("22BH1234A", "22BH1234A"),
    ],
)
def test_vehicle(plate: str, value: str) -> None:
    assert _found(f"gaadi number {plate} hai") == [(EntityType.VEHICLE, plate, value)]


def test_vehicle_among_devanagari_words() -> None:
    assert _found("मेरी गाड़ी KA 05 MN 9999 है") == [(EntityType.VEHICLE, "KA 05 MN 9999", "KA05MN9999")]


@pytest.mark.parametrize(
    "text",
    [
        "XX 12 AB 1234",  # no such state
        "ZZ12AB1234",
        "MH 00 AB 1234",  # no RTO zero
        "aata ka 10 kg 1500 ka",  # spaced lower case is Hinglish, not a plate
        "19 BH 1234 AA",  # Bharat series started in 2021
        "buy 2 kg for 1500",
    ],
)
def test_not_vehicle(text: str) -> None:
    assert list(VehicleDetector().find(text)) == []


# --- GSTIN and IFSC ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["GSTIN 27AAPFU0939F1ZV", "gst no: 27aapfu0939f1zv.", "हमारा GST 27AAPFU0939F1ZV है"]
)
def test_gstin(text: str) -> None:
    [(type_, _, value)] = _found(text)
    assert (type_, value) == (EntityType.GSTIN, "27AAPFU0939F1ZV")


@pytest.mark.parametrize(
    "text",
    [
        "GSTIN 27AAPFU0939F1ZO",  # check character wrong
        "GSTIN 99AAPFU0939F1ZV",  # no such state
        "GSTIN 27AAPFU0939F1AV",  # 14th character must be Z
    ],
)
def test_gstin_that_fails_validation_is_not_gstin(text: str) -> None:
    assert _found(text) == []


@pytest.mark.parametrize(
    ("code", "value"),
    [("SBIN0001234", "SBIN0001234"), ("HDFC0000123", "HDFC0000123"), ("icic0abc123", "ICIC0ABC123")],
)
def test_ifsc(code: str, value: str) -> None:
    assert _found(f"IFSC {code} hai") == [(EntityType.IFSC, code, value)]


@pytest.mark.parametrize("text", ["SBIN1001234", "SBI0001234", "SBIN00012345", "ref ABCD01234"])
def test_not_ifsc(text: str) -> None:
    assert _found(text) == []


# --- BANK_ACCOUNT -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("account number 123456789012", "123456789012"),
        ("A/C no. 00123456789", "00123456789"),
        ("acct: 987654321", "987654321"),
        ("khata 123456789012345678 hai", "123456789012345678"),
        ("bank details - 1234 5678 9012", "1234 5678 9012"),
        ("मेरा खाता संख्या 123456789012 है", "123456789012"),
        ("IFSC se pehle, 50100123456789 bhejo", "50100123456789"),
    ],
)
def test_bank_account_after_an_account_word(text: str, surface: str) -> None:
    value = surface.replace(" ", "")
    assert [f for f in _found(text) if f[0] is EntityType.BANK_ACCOUNT] == [
        (EntityType.BANK_ACCOUNT, surface, value)
    ]


def test_hinglish_account_and_ifsc() -> None:
    assert _found("mera account number 123456789012 hai, IFSC SBIN0001234") == [
        (EntityType.BANK_ACCOUNT, "123456789012", "123456789012"),
        (EntityType.IFSC, "SBIN0001234", "SBIN0001234"),
    ]


def test_grouped_account_does_not_swallow_a_following_small_number() -> None:
    [span] = BankAccountDetector().find("a/c 1234 5678 9012 20 din mein")
    assert span.value == "123456789012"


@pytest.mark.parametrize(
    "text",
    [
        "123456789012",
        "call me about 9876543210 tomorrow",
        "account 12345678",  # too short
        "account 1234567890123456789",  # too long
        "account ka mobile 9876543210",  # the nearer label is a phone
        "bank transfer done, UTR 412345678901",
        "bank se payment hua, txn id 987654321012",
        "bank balance Rs 450000000",
        "account mein ₹1,90,000 aaye",
    ],
)
def test_not_bank_account(text: str) -> None:
    assert list(BankAccountDetector().find(text)) == []


# --- IP ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "value"),
    [
        ("192.168.1.10", "192.168.1.10"),
        ("8.8.8.8", "8.8.8.8"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:85a3::8a2e:370:7334"),
        ("fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"),
        ("::1", "::1"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
    ],
)
def test_ip(address: str, value: str) -> None:
    assert _found(f"router ka IP {address}. check karo") == [(EntityType.IP, address, value)]


def test_ip_right_after_a_colon() -> None:
    assert _found("IP:192.168.1.1") == [(EntityType.IP, "192.168.1.1", "192.168.1.1")]


@pytest.mark.parametrize(
    "text",
    [
        "app version 2.10.3.1 installed",
        "update to v1.2.3.4",
        "ver. 10.0.19041.1",
        "build 1.2.3.4",
        "ऐप 7.3.77.178 में दिक्कत है",
        "नया वर्ज़न 10.4.2.19 डाला",
        "256.1.1.1",
        "1.2.3.4.5",
        "192.168.001.1",
        "meet at 10:30",
        "10:30:45",
        "ratio a::b",
        "::",
    ],
)
def test_not_ip(text: str) -> None:
    assert list(IpAddressDetector().find(text)) == []


# --- DOB --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface", "value"),
    [
        ("DOB 12/03/1990", "12/03/1990", "1990-03-12"),
        ("date of birth: 12-03-1990", "12-03-1990", "1990-03-12"),
        ("born on 12.03.1990", "12.03.1990", "1990-03-12"),
        ("D.O.B. 1990-03-12", "1990-03-12", "1990-03-12"),
        ("birthday 12 March 1990", "12 March 1990", "1990-03-12"),
        ("birth date 12th Mar, 1990", "12th Mar, 1990", "1990-03-12"),
        ("I was born March 12, 1990", "March 12, 1990", "1990-03-12"),
        ("mera janam 12 march 1990 ko hua", "12 march 1990", "1990-03-12"),
        ("जन्म तिथि 12.03.1990", "12.03.1990", "1990-03-12"),
        ("जन्म 12 मार्च 1990", "12 मार्च 1990", "1990-03-12"),
        ("dob 3/12/1990", "3/12/1990", "1990-12-03"),  # day first, as written in India
    ],
)
def test_dob(text: str, surface: str, value: str) -> None:
    assert _found(text) == [(EntityType.DOB, surface, value)]


def test_dob_month_first_only_when_day_first_is_no_date() -> None:
    assert _found("DOB 12/25/1990") == [(EntityType.DOB, "12/25/1990", "1990-12-25")]


@pytest.mark.parametrize(
    "text",
    [
        "delivery on 12/03/2025",
        "12 March 1990",
        "born on 31/02/1990",  # no such day
        "born 12/03/2026",  # in the future of TODAY
        "DOB 01/06/2025",  # today is not the past
        "born 12/03/1850",
        "birthday gift delivered on 12/03/2024",  # the nearer label is a delivery
        "I was born in Pune, and I moved to Mumbai, then on 12/03/1990",  # too far
    ],
)
def test_not_dob(text: str) -> None:
    assert _found(text) == []


def test_dob_uses_the_injected_today() -> None:
    assert list(DobDetector(today=lambda: date(1990, 3, 12)).find("DOB 12/03/1990")) == []
    [span] = DobDetector(today=lambda: date(1990, 3, 13)).find("DOB 12/03/1990")
    assert span.value == "1990-03-12"


# --- look-alikes that no detector may take ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "order #123456789012",
        "tracking number 1234567890123 via Delhivery",
        "AWB 7894561230",
        "PNR 4512369870",
        "UTR 412345678901",
        "transaction id T2505011234567890",
        "invoice INV-2025-000123",
        "price Rs 45000",
        "total ₹1,90,000 only",
        "PIN 411001",
        "call at 10:30",
        "app version 2.10.3.1",
        "2 kg for 1500, qty 12",
        "long number 98765432101234",
        "delivery on 12/03/2025",
        "kal 4512369870 pe baat karte hain",
    ],
)
def test_look_alikes_are_not_detected(text: str) -> None:
    assert _found(text) == []


def test_minimizer_with_the_indian_detectors() -> None:
    text = "mera account number 123456789012 hai, IFSC SBIN0001234. Gaadi MH12AB1234, DOB 12/03/1990."
    minimized = Minimizer(indian_id_detectors()).minimize(text, Vault())
    assert minimized.text == (
        "mera account number <BANK_ACCOUNT_1> hai, IFSC <IFSC_1>. Gaadi <VEHICLE_1>, DOB <DOB_1>."
    )


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("गाड़ी नंबर mp-38-ov-1249 है", "mp-38-ov-1249"),  # hyphenated
        ("mh07 evx 0482 wali car ka insurance", "mh07 evx 0482"),  # state and RTO written together
        ("vehicle no. up 23 qtt 9462", "up 23 qtt 9462"),  # a vehicle word close by
    ],
)
def test_lower_case_plates_with_separators(text: str, plate: str) -> None:
    assert [text[s.start : s.end] for s in VehicleDetector().find(text)] == [plate]


def test_spaced_lower_case_hinglish_is_still_no_plate() -> None:
    assert list(VehicleDetector().find("isme ka 10 kg 1500 ka hai")) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a/c no 1507 0180 3309 22, Email me", "15070180330922"),  # a short last group said after a pause
        ("account number 1998 1443 75 hai", "1998144375"),
    ],
)
def test_grouped_account_with_a_short_last_group(text: str, value: str) -> None:
    assert [s.value for s in BankAccountDetector().find(text)] == [value]


def test_a_label_names_only_the_value_right_after_it() -> None:
    """ "khata number" names the first number; the voucher after it is no account, and the date after a
    date of birth is a delivery date."""
    assert [
        v for t, _, v in _found("khata number 82618112220400. voucher 4064468328820731 apply nahi hua")
    ] == ["82618112220400"]
    assert [
        s
        for t, s, _ in _found("date of birth 18/05/1997 hai, 23/02/2025 tak bhej dena")
        if t is EntityType.DOB
    ] == ["18/05/1997"]
