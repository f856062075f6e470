"""Names with no frame around them, round 3 of issue 17: bare lists, a listed given name as a clause's subject,
surname initials, lower-case speaker prefixes, English titles before words, lower-case full names, capitalized
runs one list vouches for, a name that ends the message. Names marked unlisted are in no lexicon; the others
are built from listed parts, as the rules need, with surnames or given names that no other test uses."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.pii.name_bare import BareNameDetector
from tests.pipelines.pii.test_name_frames import _persons, _unlisted

# (kind, text, a name in it, whether the name is in no lexicon)
BARE = [
    ("list of listed names", "Ravi, Sunita and Manoj will come at 5", "Sunita", False),
    ("list, last item", "Ravi, Sunita and Manoj will come at 5", "Manoj", False),
    (
        "list of unlisted names, people verb",
        "Quorvel, Tandimbe and Ozirra are joining tonight",
        "Tandimbe",
        True,
    ),
    ("list with aur, Hinglish verb", "Ravi aur Sunita kal aayenge", "Sunita", False),
    ("lower-case list, Hinglish verb", "ravi, sunita aur manoj aayenge", "manoj", False),
    ("Devanagari list, Hindi verb", "राम, सीता और लक्ष्मण आएंगे", "सीता", False),
    ("list with &, two-word item", "Meena, Farid & Chen Wei are coming tonight", "Chen Wei", False),
    ("list items with initials", "Ravi K and Sunita M will come", "Sunita M", False),
    ("list, case marker", "Quorvel aur Ozirra ko bolo", "Ozirra", True),
    ("given name + auxiliary", "Naveen will pay tomorrow", "Naveen", False),
    ("given name + Hinglish future", "kal Deepika aayegi", "Deepika", False),
    ("given name and I", "Fatima and I will come", "Fatima", False),
    ("given name + initial", "Priya K. will call you", "Priya K.", False),
    ("given name + initial, no dot", "Priya K will call", "Priya K", False),
    ("given name, initial, surname", "Priya K. Tandimbe is here", "Priya K. Tandimbe", False),
    ("initial + unlisted surname", "spoke to K. Tandimbe yesterday", "K. Tandimbe", True),
    ("lower-case speaker, chat opener", "quorvel: is it available", "quorvel", True),
    ("lower-case speakers, chat export", "quorvel: price?\nozirra: 20 lakh", "ozirra", True),
    ("title before a word", "Mrs Hope will come on Monday", "Hope", False),
    ("lower-case full name", "please send it to wanjiru kamau tomorrow", "wanjiru kamau", False),
    ("lower-case full name, middle name", "priya lakshmi iyer ne bola", "priya lakshmi iyer", False),
    ("lower-case unlisted + Indian surname", "oindrila deshpande ka parcel", "oindrila deshpande", False),
    ("capitalized, listed surname", "Please add Quorvel Okafor to the booking", "Quorvel Okafor", False),
    ("capitalized three words", "Mary Anne Tandimbe will come", "Mary Anne Tandimbe", False),
    ("signature, own sentence", "will send the cheque tomorrow. Quorvel Tandimbe", "Quorvel Tandimbe", True),
    ("signature, own line", "price kitna hai?\nOzirra Velkhani", "Ozirra Velkhani", True),
    ("subject verb after a pair", "Olga Tandimbe booked a site visit", "Olga Tandimbe", False),
    ("ko + bulao", "Quorvel ko bulao kal", "Quorvel", True),
    (
        "lower-case world given name + unlisted word",
        "pls send the docs to wanjiru tandimbe today",
        "wanjiru tandimbe",
        False,
    ),
    ("my tenant, lower case", "my tenant quorvel tandimbe will pay", "quorvel tandimbe", True),
    ("Devanagari relation, friend", "मेरा दोस्त Quorvel आएगा", "Quorvel", True),
    ("Devanagari patient label, no separator", "मरीज़ क्वोरवेल तान्दिम्बे, उम्र 60", "क्वोरवेल तान्दिम्बे", True),
    ("Devanagari title", "श्रीमती ओज़िरा को बुलाइए", "ओज़िरा", True),
    ("Devanagari doctor", "डॉ. क्वोरवेल से मिलना है", "क्वोरवेल", True),
]


@pytest.mark.parametrize(("kind", "text", "name", "unlisted"), BARE, ids=[k for k, *_ in BARE])
def test_names_with_no_frame(kind: str, text: str, name: str, unlisted: bool) -> None:
    if unlisted:
        _unlisted(name)
    assert name in _persons(text), kind


@pytest.mark.parametrize(
    "text",
    [
        # lists of places, colours, brands, days, things
        "Pune, Mumbai and Delhi are covered",
        "Red, Blue and Green colours available",
        "Samsung, Apple and Oppo phones",
        "Samsung, Apple and Oppo will come out with new models",
        "Monday, Tuesday and Friday are fine",
        "Bread, Butter and Jam will come in the next order",  # title-case things, no word listed
        "Amit and Co will send the invoice",  # a firm
        "Mumbai Indians and Royal Challengers will play",  # teams
        # brands and rice named like people
        "Tommy Hilfiger shirt size M",
        "Sona Masoori rice 25kg",
        "Royal Enfield Classic 350 chahiye",
        "deepak aur diya ka set hai?",  # names that are also things, in lower case
        "दूध, चीनी और चाय का हिसाब",
        "Kiran lamp and Sunny bulb",
        # given-name-like words as subjects
        "India will win",
        "May I know the price",
        # initials that are labels' letters
        "Plan B. Then we go",
        "Tower A. Please send the lift guy",
        # chat heads and titles that are not names
        "query: can you check",
        "note: call after 6",
        "MS Excel sheet bhejo",
        "Dr appointment kab hai",
        # Hindi words Indian given names also are, in lower case
        "bahut sundar saree hai",
        "suraj dhalne se pehle aa jaana",
        "bahut anand aaya shopping karke",
        "sirf das rupaye ka discount",  # a three-letter surname that is a Hindi word
        # lower-case English words that the world's given-name lists also hold
        "is there a grace period for returns",
        "joy ride booking for sunday",
        "sona chandi ke rate batao aaj ke",  # Hinglish words the world's name lists hold
        # capitalized runs that are places, shops, gods
        "near Rajiv Chowk metro",
        "Priya Electronics ka bill",
        "Jay Shree Krishna",
        "Chidi Okafor Road pe hai",
        # a last line that is not a name
        "ok noted. Happy Holi",
        "see you soon. Good Night",
        "is it available in Red?\nDark Blue",
        # Devanagari titles before gods, and labels before words
        "जय श्री राम",
        "श्री गणेश की मूर्ति चाहिए",
        "मरीज़ अभी ठीक है",
        "मरीज़ बेहोश है",
    ],
)
def test_no_bare_name_in_words(text: str) -> None:
    assert _persons(text) == []


def test_the_firm_a_person_is_from_is_not_a_person() -> None:
    assert _persons("Mr Sharma from Lodha called") == ["Mr Sharma"]


_DETECTOR = BareNameDetector()
_TOKENS = (
    "Ravi", "Sunita", "Quorvel", "Okafor", "Priya", "K.", "K", "and", "aur", "और", "&", ",", "राम", "सीता",
    "आएंगे", "will", "come", "aayenge", "ko", "Mr", "Mrs", "Dr.", "ravi", "sharma", "deshpande", "quorvel:", ":",
    "\n", ".", "?", "I", "A", "Road", "Jay", "Hope", "wanjiru", "kamau", "Mary", "Anne",
)  # fmt: skip
_SEPARATORS = st.sampled_from(("", " ", " ", "  ", ", ", "\n", ". "))


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(st.sampled_from(_TOKENS), _SEPARATORS), min_size=1, max_size=1200))
def test_bounded_on_its_own_token_soup(parts: list[tuple[str, str]]) -> None:
    """Any mix of the grammar's anchors, up to 4,096 characters: generous time bound, valid spans (the measured
    worst case is in bench/pii/recall_worst.py and bench/hostile.py)."""
    text = "".join(token + separator for token, separator in parts)[:4096]
    started = time.perf_counter()
    spans = list(_DETECTOR.find(text))
    assert time.perf_counter() - started < 2.0
    assert all(0 <= s.start < s.end <= len(text) and text[s.start : s.end].strip() for s in spans)


@pytest.mark.parametrize(
    "unit", ["Ravi, ", "Ravi and ", "राम और ", "Naveen will ", "Priya K. ", "K. ", "ravi sharma ", "Chidi Okafor ",
             "\nquorvel: ", "Mr ", " ", ","],
)  # fmt: skip
def test_bounded_on_long_repetitions(unit: str) -> None:
    text = (unit * (4096 // len(unit)))[:4096]
    started = time.perf_counter()
    list(_DETECTOR.find(text))
    assert time.perf_counter() - started < 2.0
