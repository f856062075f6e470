"""The engine as a whole: spoken forms, known sender values, published numbers, overlaps, stable placeholders."""

from __future__ import annotations

from pipelines.pii import EntityType, Minimizer, RestorePolicy, RestoreTarget, Vault, restore, seed_sender
from pipelines.pii.entities import Span


def test_written_in_turn_one_and_spoken_in_turn_three_is_one_placeholder() -> None:
    minimizer, vault = Minimizer(), Vault()
    first = minimizer.minimize("my number is 98765 43210", vault)
    minimizer.minimize("what does the 3 kW system cost?", vault)
    third = minimizer.minimize("call me on nine eight seven six five, four three two one zero please", vault)
    assert first.text == "my number is <PHONE_1>"
    assert third.text == "call me on <PHONE_1> please"


def test_spoken_email_is_masked_whole() -> None:
    minimized = Minimizer().minimize("mail me at priya dot sharma at gmail dot com today", Vault())
    assert "priya" not in minimized.text
    assert "gmail" not in minimized.text
    assert "<EMAIL_1>" in minimized.text


def test_hinglish_spoken_digits() -> None:
    minimized = Minimizer().minimize(
        "mera number nau aath saat chhe paanch chaar teen do ek shunya hai", Vault()
    )
    assert minimized.text == "mera number <PHONE_1> hai"


def test_sender_is_masked_wherever_they_appear() -> None:
    vault = Vault()
    seed_sender(vault, wa_id="919876543210", profile_name="Priya Sharma")
    minimizer = Minimizer()
    assert minimizer.minimize("Priya here, reach me on 098765 43210", vault).text == (
        "<PERSON_1> here, reach me on <PHONE_1>"
    )
    assert minimizer.minimize("this is priya sharma again", vault).text == "this is <PERSON_1> again"
    assert (
        restore("Thanks <PERSON_1>!", vault, RestorePolicy(), RestoreTarget.REPLY) == "Thanks Priya Sharma!"
    )


def test_a_profile_name_that_is_not_a_name_is_not_scattered() -> None:
    vault = Vault()
    seed_sender(vault, wa_id=None, profile_name="Sunny Home Solutions")
    assert Minimizer().minimize("is a home system worth it?", vault).text == "is a home system worth it?"


def test_the_business_published_number_is_left_alone() -> None:
    text = "is +91 20 4000 1234 your office? mine is 9876543210"
    minimized = Minimizer().minimize(text, Vault(), public={"+912040001234"})
    assert minimized.text == "is +91 20 4000 1234 your office? mine is <PHONE_1>"


def test_a_span_that_contains_others_wins() -> None:
    class Whole:
        type = EntityType.ADDRESS

        def find(self, text: str) -> list[Span]:
            return [Span(0, len(text), self.type, text.lower())]

    class Part:
        type = EntityType.PHONE

        def find(self, text: str) -> list[Span]:
            return [Span(5, 9, self.type, "x")]

    assert [s.type for s in Minimizer([Part(), Whole()]).scan("Flat 302, MG Road, Pune 411001")] == [
        EntityType.ADDRESS
    ]


def test_vault_round_trip_keeps_known_aliases() -> None:
    vault = Vault()
    seed_sender(vault, wa_id="919876543210", profile_name="Priya Sharma")
    copy = Vault.from_dict(vault.to_dict())
    assert Minimizer().minimize("priya again", copy).text == "<PERSON_1> again"


def test_devanagari_digits_in_turn_one_and_hindi_words_in_turn_three_are_one_placeholder() -> None:
    minimizer, vault = Minimizer(), Vault()
    first = minimizer.minimize("मेरा नंबर ९८७६५ ४३२१० है", vault)
    minimizer.minimize("डिलीवरी कब तक होगी?", vault)
    third = minimizer.minimize("नौ आठ सात छह पांच चार तीन दो एक शून्य पर कॉल करें", vault)
    assert first.text == "मेरा नंबर <PHONE_1> है"
    assert third.text == "<PHONE_1> पर कॉल करें"


def test_a_code_typed_then_spelt_aloud_is_one_placeholder() -> None:
    minimizer, vault = Minimizer(), Vault()
    assert minimizer.minimize("PAN: FXVPH6721A", vault).text == "PAN: <PAN_1>"
    spelt = minimizer.minimize("haan mera PAN F X V P H six seven two one A hai", vault)
    assert spelt.text == "haan mera PAN <PAN_1> hai"


def test_hinglish_voice_note_with_name_address_and_numbers() -> None:
    text = (
        "haan ji main Ishita Nair bol rahi hoon, address hai flat three zero six, Gokuldham Society, Aundh, "
        "Pune 411073, aur mera number nau aath saat chhe paanch chaar teen do ek shunya hai"
    )
    minimized = Minimizer().minimize(text, Vault())
    assert (
        minimized.text
        == "haan ji main <PERSON_1> bol rahi hoon, address hai <ADDRESS_1>, aur mera number <PHONE_1> hai"
    )


class _Reading:
    """A detector that reads one fixed PERSON span: the input the resolution is tested on."""

    type = EntityType.PERSON

    def __init__(self, start: int, end: int) -> None:
        self._span = (start, end)

    def find(self, text: str) -> list[Span]:
        start, end = self._span
        return [Span(start, end, self.type, text[start:end].lower())]


def test_overlapping_readings_of_one_name_are_masked_as_their_union() -> None:
    text = "call Priya K. Tandimbe today"  # "Priya K." and "K. Tandimbe", read by two rules
    spans = Minimizer([_Reading(5, 13), _Reading(11, 22)]).scan(text)
    assert [(text[s.start : s.end], s.value) for s in spans] == [("Priya K. Tandimbe", "priya k. tandimbe")]


def test_a_reading_inside_the_senders_known_name_keeps_the_known_identity() -> None:
    vault = Vault()
    seed_sender(vault, wa_id="919876543210", profile_name="Priya Sharma")
    minimized = Minimizer([_Reading(5, 10)]).minimize("call priya sharma today", vault)
    assert minimized.text == "call <PERSON_1> today"
