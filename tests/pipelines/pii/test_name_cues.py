"""Names by the words around them, round 2 of issue 17: honorific and Hinglish cues after a name, verbs and kin
forms before it, header lines, mentions, lists, lower-case self-introductions and last lines. Every name here is
in no lexicon; the negatives are the false alarms round 1 left (names that are also words, teams, brands)."""

from __future__ import annotations

import pytest

from tests.pipelines.pii.test_name_frames import _persons, _unlisted

CUES = [
    ("honorific after", "Drevanti ji ne bola tha kal aayenge", "Drevanti"),
    ("bhai after", "Tovrimba bhai ka order ready hai?", "Tovrimba"),
    ("sir after", "Quorvel sir, when can we meet?", "Quorvel"),
    ("ko + verb", "Zembrani ko bolo call kare", "Zembrani"),
    ("se + verb", "maine Ozirra se baat ki thi", "Ozirra"),
    ("ne + verb", "Drevanti ne bheja tha documents", "Drevanti"),
    ("possessive 's", "Quorvel's number is not reachable", "Quorvel"),
    ("verb object", "ask Tovrimba to send the cheque", "Tovrimba"),
    ("verb object, call", "please call Drevanti on Monday", "Drevanti"),
    ("kin form", "Quorvel S/o tandimbe velkhani", "tandimbe velkhani"),
    ("header line", "From: Ozirra Velkhani\nplease see the plan", "Ozirra Velkhani"),
    ("mention", "@Quorvel please check the invoice", "Quorvel"),
    ("list after a frame", "CC: Quorvel Tandimbe, Ozirra Velkhani", "Ozirra Velkhani"),
    ("list with and", "please call Drevanti and Zembrani today", "Zembrani"),
    ("lower-case self-introduction", "i am quorvel, need 2bhk", "quorvel"),
    ("lower-case this is ... from", "this is ozirra from pune", "ozirra"),
    ("possessive pronoun + naam", "uska naam zembrani hai", "zembrani"),
    ("answer to a name question", "Your name?\nQuorvel Tandimbe", "Quorvel Tandimbe"),
    ("thanks, then the last line", "ok will pay tomorrow, thanks\nquorvel", "quorvel"),
    ("ok + name", "ok Tovrimba, noted", "Tovrimba"),
    ("title with its dot", "Adv. Quorvel Tandimbe will file it", "Quorvel Tandimbe"),
    ("title, initials glued", "Mr. R.K. Tandimbe", "R.K. Tandimbe"),
    ("relative's name", "my son's name is ozirra", "ozirra"),
    ("main ... hoon", "main Ozirra hoon, flat dekhna hai", "Ozirra"),
    ("ka + a person's thing", "yeh Ozirra ka number hai", "Ozirra"),
    ("role label", "Spouse: Quorvel", "Quorvel"),
    ("bold label", "*Name:* Ozirra Velkhani", "Ozirra Velkhani"),
    ("label without separator", "Name Quorvel Tandimbe, age 34", "Quorvel Tandimbe"),
    ("WhatsApp export, bracketed time", "[10:32] Ozirra Velkhani: price?", "Ozirra Velkhani"),
    (
        "WhatsApp export, date and time",
        "12/03/24, 10:32 - Ozirra Velkhani: is it available",
        "Ozirra Velkhani",
    ),
    ("sign-off with comma, lower case", "warm regards, quorvel", "quorvel"),
    (
        "transcript, relation, two words",
        "please register my mother ozirra velkhani for the camp",
        "ozirra velkhani",
    ),
    ("transcript, relation, case marker", "mere husband quorvel ka number", "quorvel"),
    ("transcript, self, two words", "hi this is quorvel tandimbe calling about the flat", "quorvel tandimbe"),
    (
        "transcript, booking under the name",
        "the booking is under the name quorvel tandimbe",
        "quorvel tandimbe",
    ),
    ("transcript, on behalf of", "i am calling on behalf of ozirra velkhani", "ozirra velkhani"),
    ("subject of a verb only people do", "Ozirra said she will pay tomorrow", "Ozirra"),
    ("title said as a word", "good morning this is doctor quorvel tandimbe", "quorvel tandimbe"),
]


@pytest.mark.parametrize(("kind", "text", "name"), CUES, ids=[k for k, _, _ in CUES])
def test_names_by_cue_not_in_any_lexicon(kind: str, text: str, name: str) -> None:
    _unlisted(name)
    assert name in _persons(text), kind


@pytest.mark.parametrize(
    "text",
    [
        "visit gmail.com for more",  # a listed surname that is a common word, after "for"
        "Regards,\nTeam Sunrise",  # a team signs off
        "Thanks,\nAccounts Department",
        "Hi Kiran lamp in 9 watt",  # a name that is also a product, before a noun
        "Hey Sunny side up egg tray",
        "Monday here.",
        "Ganesh ji ki murti chahiye",  # the god, not a person
        "Happy Diwali ji",
        "Amazon ne bheja",
        "Paytm se bhej diya",
        "Saturday ko bolo",
        "I am coming tomorrow",
        "i am fine, thanks",
        "this is urgent",
        "okay, will it be delivered by friday?",
        "call Customer Care",
        "CC: Sales Team",
        "thanks Team",
        "Spouse: yes",
        # lower-case words after a frame that are English, not names
        "my mother tongue is marathi",
        "i am bringing cash",
        "my sister lives abroad",
        "i am vegetarian",
        "this is awesome",
        "its raining here",
        "my daughter graduated",
        "the flat is under construction",
        "patient is stable",
        "ask for receipt",
        # roles before a verb only people do
        "The Builder called",
        "Landlord wants rent",
        "Doctor said rest",
        # shops named after people, gods after a title
        "Krishna Sweets ka order",
        "Priya Electronics",
        "Jay Shree Krishna",
        # greetings and farewells after a greeting: chat words some name lists also hold
        "ok bye",
        "Ok, bye!",
        "ok tata",
        "ok cool",
        "hmm ok thx",
    ],
)
def test_no_name_in_words_around_cues(text: str) -> None:
    assert _persons(text) == []


def test_a_listed_given_name_before_a_surname_with_an_arabic_particle() -> None:
    _unlisted("Qorvani")
    assert _persons("meeting Fatima El-Qorvani about the villa") == ["Fatima El-Qorvani"]


def test_a_comma_alone_does_not_carry_a_name_on_to_a_lower_case_word() -> None:
    assert _persons("myself Rohan Bansal, pooja ke liye samagri chahiye") == ["Rohan Bansal"]
