"""Indian postal addresses in chat, by a small grammar.

Components: a house or flat number ("Flat 302", "H.No. 2-6-569", "मकान नं. 141", "#298", "D-297"), a building
or street ending in a street word ("Sai Krupa Apartments", "14th Cross", "गांधी मार्ग", "Gali No. 4"), a
sector/phase/block, a landmark ("near Hanuman Mandir", "opp. SBI ATM", "SBI ATM के सामने"), a city or
locality from the list, a PIN code. Components that follow one another form an address; between two of them
may stand punctuation, a few filler words ("pin", "district") or up to four other words that are no function
words (the locality names no list can hold: "Aliganj", "DLF Capital Greens"). One component alone (a city, a
PIN code), or only a city and a PIN code, is not an address; a bare number ("#298") needs two more components.

Works on tokens: each word is looked up in sets once, so the cost is linear in the text, whatever the lists' size.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from enum import Enum, auto
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, NamedTuple

from pipelines.pii.entities import EntityType, Span

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Part(Enum):
    HOUSE = auto()
    NUMBER = auto()  # a bare house number: "#298", "D-297", "2-6-569"
    STREET = auto()
    AREA = auto()
    LANDMARK = auto()
    CITY = auto()
    PIN = auto()


class _Component(NamedTuple):
    start: int
    end: int
    part: _Part


_WEAK = frozenset({_Part.NUMBER, _Part.CITY, _Part.PIN})
_LETTERS = r"\u0900-\u0963\u0971-\u097F"  # Devanagari, vowel signs included (they are not \w)
_TOKEN = re.compile(rf"[\w{_LETTERS}]+(?:'[\w]+)?")
# Small numbers said as words, where an address says them one by one ("gali number four").
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|ek|do|teen|char|chaar|paanch|panch|chhe|saat|aath|nau|das|"
    r"एक|दो|तीन|चार|पांच|पाँच|छह|सात|आठ|नौ|दस)(?![\w" + _LETTERS + "])"
)
_NUMBER = rf"(?:\d++[A-Za-z]?(?:[/-]\d++)*+|{_NUMBER_WORD})"
# A house number said digit by digit: "seven nine", "double two five".
_REPEAT = r"(?:(?:double|triple|डबल|ट्रिपल)\s++)?"
_SAID_NUMBER = rf"{_REPEAT}{_NUMBER_WORD}(?:\s++{_REPEAT}{_NUMBER_WORD}){{0,4}}"
# A house number said as one value: "forty two", "twelve", "one hundred and five" (digit by digit, the spoken
# shadow has already written it: "four zero two" → "402"). A fixed shape, no repetition.
_UNIT_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_UP_TO_99 = (
    r"(?:(?:twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety)(?:[ -]" + _UNIT_WORD + r")?+"
    r"|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|" + _UNIT_WORD + ")"
)
_SAID_VALUE = (
    rf"(?:{_UNIT_WORD}[ ]hundred(?:[ ](?:and[ ])?+{_UP_TO_99})?+|{_UP_TO_99})"
    rf"(?![\w{_LETTERS}]|[ \t]++(?:zero|oh|{_NUMBER_WORD}|double|triple))"
)
_REGEX_PARTS: tuple[tuple[_Part, re.Pattern[str]], ...] = (
    (
        _Part.HOUSE,
        re.compile(
            r"\b(?:flat|house|h\.?\s?no|plot|room|shop|door|apt|unit|bldg|building|wing|floor|ghar|makaan|makan|khasra)"
            r"(?![^\W\d_])\.?\s*+"  # "Flat302": ASR may drop the space
            # One possessive whitespace run between two tokens: three adjacent optional runs were cubic.
            # "flat B 402": the shadow writes the digits, the wing letter stays a word.
            rf"(?:(?:no\.?|number|num|#)\s*+)?(?:[:.-]\s*+)?(?:(?:[A-Za-z][-/ ]?)?\d++[A-Za-z0-9/-]*+|{_SAID_VALUE}"
            rf"|{_SAID_NUMBER})"
            rf"|(?:मकान|फ्लैट|फ़्लैट|प्लॉट|घर|दुकान|कमरा)\s*+(?:(?:नं\.?|नंबर|संख्या|न\.)\s*+)?{_NUMBER}",
            re.IGNORECASE,
        ),
    ),
    (
        _Part.NUMBER,
        re.compile(
            r"#\s?\d+[A-Za-z0-9/-]*|\b[A-Za-z][- ]\d{1,4}\b(?![.,]\d)"
            r"|\b(?![0-9]{1,2}([/-])[0-9]{1,2}\1(?:19|20)[0-9]{2}\b)[0-9]{1,4}(?:/[0-9]{1,4}|-[0-9]{1,4}){1,3}\b"
            r"|\b(?:number|no\.?)\s?\d{1,4}\b(?![.,/-]?\d|\s\d{4})"
            rf"|\b(?:number|no\.?|[A-Za-z])\s++{_SAID_NUMBER}",
            re.IGNORECASE,
        ),
    ),
    (
        _Part.AREA,
        re.compile(
            rf"\b(?:sector|sec|phase|block|ward|khand|pocket)\s*+(?:-\s*+)?(?:{_NUMBER_WORD}|[A-Za-z0-9]{{1,4}}\b)"
            rf"|(?:सेक्टर|फेज़|फेज|ब्लॉक)\s*+(?:-\s*+)?{_NUMBER}",
            re.IGNORECASE,
        ),
    ),
    (
        _Part.LANDMARK,
        re.compile(
            r"\b(?:near|opp\.?|opposite|behind|beside|next\s+to|in\s+front\s+of)\s++(?:the\s++)?"
            rf"[\w{_LETTERS}][\w{_LETTERS}'.&-]*+(?:\s++[\w{_LETTERS}][\w{_LETTERS}'.&-]*+){{0,2}}",
            re.IGNORECASE,
        ),
    ),
    (_Part.PIN, re.compile(r"(?<![\d.,₹])[1-9]\d{2}\s?\d{3}(?!\d|[.,]\d)")),
)
# A street word ends a street or building name of up to three words before it ("Nehru Marg", "Shree Ganesh
# Complex"); some take a number after them ("Gali No. 4", "lane 5"). "main" and "cross" name streets only
# after an ordinal ("4th Main", "14th Cross"): "main" is also Hindi for "I".
_STREET_WORDS = frozenset(
    {
        "road", "rd", "street", "st", "marg", "lane", "gali", "nagar", "colony", "layout", "society",
        "apartment", "apartments", "apts", "heights", "residency", "enclave", "vihar", "chowk", "path",
        "avenue", "tower", "towers", "complex", "chawl", "wadi", "peth", "pada", "puram", "halli", "garden",
        "gardens", "bazar", "bazaar", "greens", "meadows", "palms", "lakeside", "chs", "plaza", "bhavan",
        "bhawan", "niwas", "nivas", "kunj", "dham", "sadan", "villas", "extension", "मार्ग", "रोड", "नगर",
        "कॉलोनी", "कालोनी", "गली", "लेन", "सोसाइटी", "अपार्टमेंट", "चौक", "विहार", "लाइन्स", "बाज़ार", "बाजार"
    }
)  # fmt: skip
_ORDINAL_STREETS = frozenset({"main", "cross"})
_NUMBERED_STREET = re.compile(
    rf"\s*+(?:(?:no\.?|number|नं\.?|नंबर)\s*+)?{_NUMBER}(?![\w{_LETTERS}])", re.IGNORECASE
)
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)", re.IGNORECASE)
# A Hindi landmark ends in a postposition: "हनुमान मंदिर के पास", "SBI ATM के सामने", "mandir ke paas".
_POSTPOSITION = re.compile(
    rf"(?:के|\bke)\s++(?:पास|सामने|पीछे|बगल\s+में|paas|pass|samne|saamne|peeche|piche)(?![\w{_LETTERS}])",
    re.IGNORECASE,
)
# Function words, verbs and business words: never part of a place name, so never inside an address gap or
# a street name ("ship it to Link Road": "to" ends the street name).
_NOT_PLACE = frozenset(
    {
        "a", "an", "the", "and", "or", "but", "is", "am", "are", "was", "were", "be", "to", "of", "in", "on",
        "at", "for", "with", "from", "by", "as", "it", "its", "this", "that", "my", "your", "our", "me", "i",
        "we", "you", "he", "she", "they", "his", "her", "their", "please", "pls", "plz", "thanks", "thank",
        "ok", "okay", "yes", "no", "not", "also", "just", "only", "here", "there", "hi", "hello", "dear", "sir",
        "madam", "ji", "deliver", "delivery", "send", "ship", "shipping", "call", "mail", "email", "phone",
        "mobile", "number", "whatsapp", "order", "invoice", "bill", "payment", "refund", "account", "card",
        "pan", "upi", "id", "aadhar", "aadhaar", "kyc", "gst", "gstin", "ifsc", "passport", "voter", "address",
        "confirm", "asap", "today", "tomorrow", "hai", "hain", "ho", "ka", "ki", "ke", "ko", "pe", "par",
        "mein", "se", "aur", "ya", "bhi", "toh", "bhej", "bhejo", "bhejna", "do", "karo", "kar", "karna",
        "dena", "dijiye", "mera", "meri", "mere", "hamara", "wala", "wali", "chahiye", "kab", "kya", "nahi",
        "है", "हैं", "का", "की", "के", "को", "पर", "में", "से", "और", "भी", "भेज", "भेजें", "भेजिए", "दीजिए",
        "मेरा", "मेरी", "मेरे", "पता", "नंबर", "कृपया", "bike", "car", "gaadi", "scooty", "vehicle", "regards",
        "cheers", "best", "sincerely", "dhanyavaad", "shukriya", "namaste",
    }
)  # fmt: skip
# What may separate two components: punctuation and a couple of filler words. Possessive runs, and no
# alternative that the runs also match (a "," alternative made a run of commas cubic).
_JOINER = re.compile(
    r"[\s,;:()/-]*+(?:(?:and|in|at|pin|pincode|pin\s++code|code|city|dist|district|जिला|पिन|पिनकोड)[\s,;:.-]*+){0,2}",
    re.IGNORECASE,
)
_GAP_PUNCTUATION = re.compile(r"[\s,;:()/-]*")
# A gap may hold a line break (addresses are pasted as lines), not a blank line, a question or an exclamation;
# a full stop only in a short gap: ASR ends a "sentence" at every pause ("Flat 302. Sai Heights, … Pune. 411045").
_HARD_END = re.compile(r"[?!]|\n\s*\n")
_FULL_STOP = re.compile(r"(?<![\s.][A-Za-z])\.\s")
_MAX_GAP_WORDS_WITH_STOP = 2
_MAX_GAP_WORDS = 4
# Words that announce an address shortly before it.
_ADDRESS_CUE = re.compile(
    r"\b(?:address|deliver(?:y)?\s+(?:to|at)|ship(?:ped)?\s+(?:it\s+)?to|send\s+(?:it\s+)?to|pick\s?up\s+from|"
    r"(?:stay|live)\s+(?:at|in)|pata|rehta|rehti)\b|पता|पते",
    re.IGNORECASE,
)
_CUE_REACH = 30
# After an announced address: short segments of place-like words, a misheard PIN code, up to a sentence's end.
# After an ASR full stop, only a PIN-like number ("… Puna. 41045.") or words listed with a comma after them
# ("flat 302. Sighites, …") continue it, not the next sentence.
_SEGMENT = re.compile(
    rf"(?:\s*+,\s*+|\s++)(?P<segment>[0-9]{{5,6}}(?![\s,.-]*+[0-9])"
    rf"|[^\W\d_][\w{_LETTERS}]*+(?:\s++[^\W\d_][\w{_LETTERS}]*+){{0,2}})"
    r"|\s*+\.\s++(?P<pin>[0-9]{5,6}(?![\s,.-]*+[0-9])"
    rf"|[^\W\d_][\w{_LETTERS}]*+(?:\s++[^\W\d_][\w{_LETTERS}]*+){{0,2}}(?=\s*+,))"
)
_MAX_SEGMENTS = 4


def _trailing_segments(text: str, end: int) -> int:
    """The end of the address after the segments that follow `end`, each with no function word in it."""
    for _ in range(_MAX_SEGMENTS):
        m = _SEGMENT.match(text, end)
        if m is None:
            break
        words = [w.lower() for w in (m.group("segment") or m.group("pin")).split()]
        if any(w in _NOT_PLACE for w in words):
            break
        end = m.end()
    return end


@cache
def _cities() -> dict[str, tuple[tuple[str, ...], ...]]:
    """First word of each city or locality name → the names that start with it, as word tuples."""
    text = resources.files("pipelines.pii").joinpath("data", "cities.txt").read_text(encoding="utf-8")
    names: dict[str, list[tuple[str, ...]]] = {}
    for line in text.splitlines():
        words = tuple(line.lower().split())
        if words:
            names.setdefault(words[0], []).append(words)
    return {first: tuple(sorted(group, key=len, reverse=True)) for first, group in names.items()}


class AddressDetector:
    type = EntityType.ADDRESS

    def find(self, text: str) -> Iterator[Span]:
        tokens = [(m.start(), m.end(), m.group().lower()) for m in _TOKEN.finditer(text)]
        components = [
            _Component(m.start(), m.end(), part) for part, p in _REGEX_PARTS for m in p.finditer(text)
        ]
        components += self._cities(text, tokens)
        components += self._streets(text, tokens)
        components += self._hindi_landmarks(text, tokens)
        components.sort(key=lambda c: (c.start, -c.end))
        chain: list[_Component] = []
        for component in components:
            if chain and component.start < chain[-1].end:  # overlapping parts: extend the current one
                last = chain[-1]
                if component.end > last.end:
                    chain[-1] = _Component(
                        last.start, component.end, min(last.part, component.part, key=_rank)
                    )
                continue
            if chain and self._joins(text, chain[-1].end, component.start):
                chain.append(component)
                continue
            yield from self._address(text, chain)
            chain = [component]
        yield from self._address(text, chain)

    @staticmethod
    def _cities(text: str, tokens: list[tuple[int, int, str]]) -> list[_Component]:
        found: list[_Component] = []
        cities = _cities()
        for i, (start, _, word) in enumerate(tokens):
            for name in cities.get(word, ()):
                last = i + len(name) - 1
                if last < len(tokens) and all(
                    tokens[i + k][2] == name[k]
                    and text[tokens[i + k - 1][1] : tokens[i + k][0]].strip(" .") == ""
                    for k in range(1, len(name))
                ):
                    found.append(_Component(start, tokens[last][1], _Part.CITY))
                    break
        return found

    @staticmethod
    def _streets(text: str, tokens: list[tuple[int, int, str]]) -> list[_Component]:
        found: list[_Component] = []
        for i, (start, end, word) in enumerate(tokens):
            if word in _ORDINAL_STREETS:
                if i and _ORDINAL.fullmatch(tokens[i - 1][2]) and text[tokens[i - 1][1] : start].isspace():
                    found.append(_Component(tokens[i - 1][0], end, _Part.STREET))
                continue
            if word not in _STREET_WORDS:
                continue
            first = i
            while first > 0 and i - first < 3:
                previous = tokens[first - 1]
                between = text[previous[1] : tokens[first][0]]
                if previous[2] in _NOT_PLACE or between.strip(" .") or not between:
                    break
                first -= 1
            numbered = _NUMBERED_STREET.match(text, end)
            if numbered:
                end = numbered.end()
            elif first == i:
                continue  # a street word alone ("road", "colony") names no street
            found.append(_Component(tokens[first][0], end, _Part.STREET))
        return found

    @staticmethod
    def _hindi_landmarks(text: str, tokens: list[tuple[int, int, str]]) -> list[_Component]:
        found: list[_Component] = []
        starts = [t[0] for t in tokens]
        for m in _POSTPOSITION.finditer(text):
            i = bisect_left(starts, m.start())  # the token "के"
            first = i
            while first > 0 and i - first < 3 and text[tokens[first - 1][1] : tokens[first][0]].isspace():
                if tokens[first - 1][2] in _NOT_PLACE:
                    break
                first -= 1
            if first < i:
                found.append(_Component(tokens[first][0], m.end(), _Part.LANDMARK))
        return found

    @staticmethod
    def _joins(text: str, end: int, start: int) -> bool:
        """Whether what stands between two components keeps them in one address."""
        if _JOINER.fullmatch(text, end, start):
            return True
        gap = text[end:start]
        if len(gap) > 60 or _HARD_END.search(gap):
            return False
        words = [w.lower() for w in _TOKEN.findall(gap)]
        if _FULL_STOP.search(gap) and len(words) > _MAX_GAP_WORDS_WITH_STOP:
            return False
        rest = _TOKEN.sub("", gap)
        return (
            0 <= len(words) <= _MAX_GAP_WORDS
            and not any(w in _NOT_PLACE for w in words)
            and _GAP_PUNCTUATION.fullmatch(rest.replace(".", "")) is not None
        )

    @staticmethod
    def _address(text: str, chain: list[_Component]) -> Iterator[Span]:
        if not chain:
            return
        parts = {c.part for c in chain}
        weak_only = parts <= _WEAK  # bare numbers, cities, PIN codes: three of them, of two kinds at least
        start, end = chain[0].start, chain[-1].end
        if _ADDRESS_CUE.search(text, max(0, start - _CUE_REACH), start) and not weak_only:
            # Announced as an address: what ASR garbled beyond recognition still belongs to it ("deliver to
            # Flat 302, Sihites, Benerode, Kuna, 41045.").
            if chain[-1].part is not _Part.PIN:  # a PIN code ends an address
                end = _trailing_segments(text, end)
            if end > chain[-1].end or len(chain) > 1 or _Part.HOUSE in parts:
                yield Span(start, end, EntityType.ADDRESS, " ".join(text[start:end].lower().split()))
            return
        if (
            len(chain) < 2
            or parts <= {_Part.CITY, _Part.PIN}
            or (weak_only and (len(chain) < 3 or len(parts) < 2))
        ):
            return
        yield Span(start, end, EntityType.ADDRESS, " ".join(text[start:end].lower().split()))


def _rank(part: _Part) -> int:
    """Which part a merged component counts as: the strongest of those merged."""
    return 0 if part not in _WEAK else 1
