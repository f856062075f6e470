"""Each detector on valid values (several layouts) and on look-alikes whose checksum fails."""

from __future__ import annotations

import pytest
from stdnum import luhn, verhoeff
from stdnum.in_ import aadhaar

from pipelines.pii import EntityType, Minimizer, Vault, seed_sender


def _types(text: str) -> list[tuple[EntityType, str]]:
    return [(s.type, text[s.start : s.end]) for s in Minimizer().scan(text)]


def _aadhaar(prefix11: str) -> str:
    return prefix11 + verhoeff.calc_check_digit(prefix11)


def _card(prefix: str) -> str:
    return prefix + luhn.calc_check_digit(prefix)


@pytest.mark.parametrize(
    "number",
    [
        "+91 98765 43210",
        "+91-98765-43210",
        "098765 43210",
        "9876543210",
        "98765-43210",
        "+919876543210",
        "+44 20 7946 0958",
        "+1 415 555 2671",
        "022 2345 6789",
    ],
)
def test_phone_numbers(number: str) -> None:
    assert _types(f"call me on {number} tomorrow") == [(EntityType.PHONE, number)]


@pytest.mark.parametrize(
    "text", ["order 5512 shipped", "the price is 45000 rupees", "call at 10:30", "pin 411001", "+91 12345"]
)
def test_not_phone_numbers(text: str) -> None:
    assert _types(text) == []


@pytest.mark.parametrize("email", ["priya.sharma@gmail.com", "Ravi_K+solar@company.co.in", "a@b.io"])
def test_emails(email: str) -> None:
    assert _types(f"mail {email}, thanks") == [(EntityType.EMAIL, email)]


@pytest.mark.parametrize("upi", ["priya.sharma@okaxis", "9876543210@ybl", "ravi-k@paytm"])
def test_upi_ids(upi: str) -> None:
    assert _types(f"pay to {upi} please") == [(EntityType.UPI, upi)]


def test_upi_is_not_an_email_and_handles_are_not_upi() -> None:
    assert _types("write to priya@gmail.com") == [(EntityType.EMAIL, "priya@gmail.com")]
    assert _types("follow @suryoday on instagram") == []


@pytest.mark.parametrize(
    "prefix",
    [
        "411111111111111",
        "555555555555444",
        "222100000000000",
        "37828224631000",
        "652100000000000",
        "608000000000000",
    ],
)
def test_cards_with_valid_luhn(prefix: str) -> None:
    number = _card(prefix)
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    assert _types(f"card {grouped} exp 12/28") == [(EntityType.CARD, grouped)]
    assert _types(f"card {number}") == [(EntityType.CARD, number)]


def test_card_with_wrong_check_digit_or_unknown_brand_is_not_a_card() -> None:
    valid = _card("411111111111111")
    wrong = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    assert _types(f"card {wrong}") == []
    assert _types(f"ref {_card('999999999999999')}") == []


def test_aadhaar_with_valid_verhoeff() -> None:
    number = _aadhaar("23456789012")
    spaced = f"{number[:4]} {number[4:8]} {number[8:]}"
    assert _types(f"aadhaar {spaced}") == [(EntityType.AADHAAR, spaced)]
    assert _types(f"aadhaar {number}") == [(EntityType.AADHAAR, number)]


def test_aadhaar_with_bad_check_digit_or_leading_one_is_not_aadhaar() -> None:
    number = _aadhaar("23456789012")
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert all(t is not EntityType.AADHAAR for t, _ in _types(f"id {wrong}"))
    leading_one = _aadhaar("13456789012")
    assert all(t is not EntityType.AADHAAR for t, _ in _types(f"id {leading_one}"))


@pytest.mark.parametrize("pan", ["ABCPE1234F", "abcpe1234f", "AAACR5055K"])
def test_pan(pan: str) -> None:
    assert _types(f"my PAN is {pan}.") == [(EntityType.PAN, pan)]


def test_pan_with_invalid_holder_type_is_not_pan() -> None:
    assert _types("code ABCXE1234F") == []


@pytest.mark.parametrize(
    "iban", ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR1420041010050500013M02606"]
)
def test_iban(iban: str) -> None:
    assert _types(f"iban {iban} ok") == [(EntityType.IBAN, iban)]


def test_iban_with_bad_checksum_is_not_iban() -> None:
    assert _types("iban GB82 WEST 1234 5698 7654 33 ok") == []


def test_mixed_message_minimizes_every_value_once() -> None:
    card = _card("411111111111111")
    aadhaar = _aadhaar("23456789012")
    text = (
        f"I'm at +91 98765 43210 / priya@gmail.com, card {card}, Aadhaar {aadhaar}, PAN ABCPE1234F, "
        "UPI priya@okaxis. Order 5512 costs 1,90,000."
    )
    minimized = Minimizer().minimize(text, Vault())
    assert minimized.text == (
        "I'm at <PHONE_1> / <EMAIL_1>, card <CARD_1>, Aadhaar <AADHAAR_1>, PAN <PAN_1>, "
        "UPI <UPI_1>. Order 5512 costs 1,90,000."
    )


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        # the UTR label names the first value, not the phone number after it
        ("payment ho gaya, utr SBINN49311490977, 82344 76883 pe whatsapp kar dena", "82344 76883"),
        # a phone phrase after the number beats an ID label before it
        ("Voter card no. VGQ4287017 as ID proof 8376028692 is my husband's number", "8376028692"),
        ("order number 12345 hai, mera number 9876543210", "9876543210"),
        ("order number 9876543210 is my husband's number", "9876543210"),
    ],
)
def test_phone_after_a_spent_or_overruled_reference_label(text: str, phone: str) -> None:
    assert [text[s.start : s.end] for s in Minimizer().scan(text) if s.type is EntityType.PHONE] == [phone]


@pytest.mark.parametrize(
    "text",
    [
        "order 7665559394 kab aayega? mera number nahi badla",  # the phone word belongs to no number here
        "ऑर्डर 6001222470 अभी तक नहीं आया",  # Devanagari reference labels
        # "number" right after a reference label is part of it
        "order number 6766082413 ka status batao",
        "ticket no. 9876543210 still open",
        "ऑर्डर नंबर 6766082413 का स्टेटस बताइए",
        "हाँ ऑर्डर नंबर छह सात छह छह शून्य आठ दो चार एक तीन का स्टेटस बताइए",
    ],
)
def test_references_are_no_phone_numbers(text: str) -> None:
    assert [s for s in Minimizer().scan(text) if s.type is EntityType.PHONE] == []


def test_upi_reference_that_passes_verhoeff_is_no_aadhaar() -> None:
    # Both have a valid Verhoeff digit, as one random 12-digit number in ten does.
    assert aadhaar.is_valid("594329714110")
    assert aadhaar.is_valid("410121880838")
    assert Minimizer().scan("UPI ref 594329714110 dekh lo") == []
    assert Minimizer().scan("UTR 410121880838, payment done") == []


def test_aadhaar_word_beats_a_reference_word_in_between() -> None:
    [span] = Minimizer().scan("my aadhar card id is 2382 9583 5152")
    assert span.type is EntityType.AADHAAR


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Call me on 98765. 432110.", "98765. 432110"),  # ASR heard one digit too many: no valid number
        ("whatsapp pe 98765-4321-1 bhejo", "98765-4321-1"),
    ],
)
def test_digits_right_after_a_call_word_are_masked_even_when_invalid(text: str, phone: str) -> None:
    assert [text[s.start : s.end] for s in Minimizer().scan(text)] == [phone]


@pytest.mark.parametrize(
    "text", ["call me on 12.03.2025 at 5", "phone order 12345678 kab aayega", "consumer no 2193102945, bill"]
)
def test_dates_and_references_after_a_call_word_stay(text: str) -> None:
    assert Minimizer().scan(text) == []


def test_a_number_split_by_a_comma_after_my_number_is_one_phone_value() -> None:
    """Whisper writes a pause as a comma ("My number is 98765, 43210."); the value is the number's E.164 form,
    so the sender's seeded number and this one share a placeholder."""
    vault = Vault()
    seed_sender(vault, wa_id="919876543210", profile_name=None)
    assert Minimizer().minimize("My number is 98765, 43210.", vault).text == "My number is <PHONE_1>."


@pytest.mark.parametrize("text", ["my number is 12,000, 15,000 rupees budget", "prices 12000, 15000 hai"])
def test_thousands_separators_are_no_pause_in_a_number(text: str) -> None:
    assert Minimizer().scan(text) == []
