"""Spoken-form normalizer: a written *shadow* of a transcript, with a map back to the original characters.

Whisper writes what people say, and people say numbers, e-mail addresses and UPI IDs in words: "nine eight
seven six five, four three two one zero", "double nine", "nau aath saat ...", "john underscore doe at the
rate gmail dot com". The detectors look for written forms, so the minimizer also scans a shadow in which
those phrases are written ("98765 43210", "john_doe@gmail.com") and maps each span found there back with
`Shadow.original_span`. The mapped span covers the whole spoken phrase, so masking it removes the words,
not only the digits.

Precision comes first, because ordinary prose must come out unchanged ("two days", "call me at five", "meet
at the mall", "dot com companies"). A digit word is rewritten only inside a run of at least three, or two
when a "double"/"triple", a leading "plus" or written digits join them. "at" and "dot" are rewritten only
inside a complete e-mail shape that ends in a plausible top-level domain, or a UPI ID that ends in a known
handle. Codes spelt letter by letter ("F X V P H six seven…") are joined only where the characters form a
valid code; "one nine two dot one six eight dot …" becomes a dotted quad, "fifth of august nineteen ninety four"
a date, and numbers said in pairs ("ninety eight forty five …", Hindi "atthanve paintalis …", whose 10-99
are one word each, listed in `data/hindi_numbers.txt`) count only in runs of six digits or more.

The text is tokenized once, and every pass looks only a bounded distance around each token, so the work is
linear in the length of the text; a text without any cue word or mark (most chat) skips the passes.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from enum import Enum, auto
from functools import cache
from importlib import resources
from itertools import accumulate, pairwise
from typing import TYPE_CHECKING, Final, Literal, NamedTuple

from pipelines.pii import spelled

if TYPE_CHECKING:
    from collections.abc import Sequence


_Language = Literal["en", "hi", ""]  # "" for "zero", which Hindi speakers say as often as "shunya"


def _digit_words() -> dict[str, tuple[str, _Language, bool]]:
    """word -> (digit, language, weak). A weak word means something else as often as a digit ("oh", "do": the
    English verb and Hindi "give", "teen"); it counts as a digit only next to digit words of its language."""
    table: dict[str, tuple[str, _Language, bool]] = {}
    english = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    for value, word in enumerate(english):
        table[word] = (str(value), "en" if value else "", False)
    table["oh"] = ("0", "en", True)
    hindi: dict[str, tuple[str, ...]] = {
        # Only spellings that are not also a common word: not "saath"/"sath" (sixty; "with"), "sat", "che"
        # (Gujarati "is"), "chah", "no", "nav", "ath".
        "0": ("shunya", "sunya", "shoonya", "शून्य"),
        "1": ("ek", "एक"),
        "2": ("do", "दो"),
        "3": ("teen", "तीन"),
        "4": ("char", "chaar", "चार"),
        "5": ("paanch", "panch", "पांच", "पाँच"),
        "6": ("chhe", "chhah", "chheh", "छह", "छः"),
        "7": ("saat", "सात"),
        "8": ("aath", "आठ"),
        "9": ("nau", "नौ"),
    }
    weak = {"do", "दो", "teen"}
    for digit, words in hindi.items():
        for word in words:
            table[word] = (digit, "hi", word in weak)
    return table


_DIGIT_WORDS: Final = _digit_words()
# Devanagari letters with a nukta, as one code point and as letter + nukta (transcripts hold both).
_NUKTA_LETTERS: Final = {"\u0921\u093c": "\u095c", "\u0922\u093c": "\u095d"}


class _HindiNumbers(NamedTuple):
    values: dict[str, int]  # every spelling of 10-99 -> its value
    common: frozenset[str]  # spellings that are also common words: numbers only beside another number word


@cache
def _hindi_numbers() -> _HindiNumbers:
    """Hindi numbers 10-99 from `data/hindi_numbers.txt`: in Hindi each is its own word ("sattasi", "सत्तासी")."""
    text = resources.files("pipelines.pii").joinpath("data", "hindi_numbers.txt").read_text(encoding="utf-8")
    values: dict[str, int] = {}
    common: set[str] = set()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        number, *spellings = line.split()
        for spelling in spellings:
            word = spelling.removeprefix("~")
            variants = {word, *(word.replace(pair, one) for pair, one in _NUKTA_LETTERS.items())}
            values.update(dict.fromkeys(variants, int(number)))
            if spelling.startswith("~"):
                common.update(variants)
    return _HindiNumbers(values, frozenset(common))


# Hindi verb stems that "do" ("give") follows: "bhej do", "kar do". A "do" after one starts no number.
_HINDI_VERBS: Final = frozenset(
    {"kar", "bhej", "de", "bata", "le", "likh", "rakh", "bol", "daal", "dal", "dikha", "bana", "chhod", "dedo",
     "कर", "भेज", "दे", "बता", "ले", "लिख", "रख", "बोल", "डाल", "दिखा", "बना", "छोड़"}
)  # fmt: skip
_REPEATS: Final = {"double": 2, "triple": 3, "डबल": 2, "ट्रिपल": 3}
_PLUS_WORDS: Final = frozenset({"plus", "प्लस"})
_JOIN_WORDS: Final = {"dot": ".", "underscore": "_", "dash": "-", "hyphen": "-"}
# Punctuation a transcript puts between groups of one number ("98765, 43210", "98765... 43210").
_RUN_MARKS: Final = frozenset({",", ";", "…", "–", "—"})
_MAX_SEPARATOR: Final = 5  # lexemes between two digit items of one run: " ... ", " - ", ", "

# Top-level domains accepted besides any two letters (country codes).
_GENERIC_TLDS: Final = frozenset(
    {
        "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "mobi", "asia",
        "io", "ai", "app", "dev", "xyz", "online", "site", "tech", "store", "shop", "club", "live", "email",
        "cloud", "blog", "agency", "digital", "solutions", "services", "today", "world", "website", "space",
    }
)  # fmt: skip
_MAIL_PROVIDERS: Final = frozenset(
    {
        "gmail", "googlemail", "yahoo", "ymail", "rocketmail", "hotmail", "outlook", "live", "msn", "icloud",
        "me", "rediffmail", "rediff", "protonmail", "proton", "zoho", "zohomail", "aol", "yandex", "gmx",
    }
)  # fmt: skip
# UPI handles (the part after "@" of a UPI ID, which has no dot) that are not words, and those that are also
# a bank's or an app's name ("I paid at paytm").
_UPI_HANDLES: Final = frozenset(
    {
        "okaxis", "okhdfcbank", "okicici", "oksbi", "ybl", "ibl", "axl", "apl", "yapl", "rapl", "ptyes",
        "ptaxis", "pthdfc", "ptsbi", "kmbl", "fbl", "slc", "ikwik", "abfspay", "axisb", "cnrb", "mahb",
        "barodampay", "waaxis", "wahdfcbank", "waicici", "wasbi", "idfcfirst", "yescred",
    }
)  # fmt: skip
_UPI_BRANDS: Final = frozenset(
    {
        "paytm", "upi", "icici", "sbi", "hdfcbank", "axisbank", "kotak", "federal", "indus", "airtel", "jio",
        "freecharge", "pnb", "boi", "dbs", "yesbank", "unionbank", "idfcbank", "aubank",
    }
)  # fmt: skip
# Words said around an address: with one of them close by, "<word> at <domain> dot <tld>" is an address even
# when the domain is not a mail provider ("my email is rahul at infosys dot com", "bill raviiyer at tcs dot
# com pe bhejo"). None of them is ever a one-word local part.
_ADDRESS_CUES: Final = frozenset(
    {
        "email", "mail", "emailid", "mailid", "id", "gmail", "upi", "vpa", "gpay", "phonepe", "paytm", "pay",
        "send", "write", "contact", "invoice", "bill", "receipt", "quotation", "quote", "details", "refund",
        "transfer", "payment", "paise",
        "bhej", "bhejo", "bhejna", "bhejiye", "bhejdo", "ईमेल", "मेल", "भेज", "भेजें", "भेजिए", "भेजो", "बिल",
    }
)  # fmt: skip
_ADDRESS_CUE_REACH: Final = 8  # lexemes searched for a cue, before the address and after it
_UPI_ANY: Final = _UPI_HANDLES | _UPI_BRANDS
# Words that are never the local part of a spoken address, nor joined to the digits said after them
# ("I worked at amazon dot com", "my email is one two three at gmail dot com").
_STOPWORDS: Final = frozenset(
    {
        "is", "was", "are", "am", "be", "been", "were", "it", "its", "this", "that", "the", "an", "and",
        "or", "to", "on", "in", "of", "for", "by", "from", "with", "me", "my", "us", "we", "you", "your",
        "he", "she", "him", "her", "they", "them", "our", "their", "here", "there", "then", "also", "just",
        "only", "now", "do", "did", "does", "so", "not", "no", "yes", "ok", "okay", "please", "thanks",
        "email", "mail", "id", "address", "number", "phone", "mobile", "whatsapp", "call", "contact",
        "send", "sent", "write", "reach", "message", "work", "works", "worked", "working", "job", "live",
        "lives", "lived", "living", "stay", "staying", "based", "available", "office", "home", "meet",
        "see", "visit", "join", "joined", "buy", "bought", "sell", "selling", "order", "ordered", "listed",
        "hai", "hain", "tha", "thi", "mera", "meri", "mere", "mujhe", "aap", "aapka", "ka", "ki", "ke",
        "ko", "par", "pe", "se", "aur", "ya", "yeh", "ye", "woh", "wo", "toh", "bhi", "nahi", "haan",
    }
)  # fmt: skip
_NOT_LOCAL: Final = _STOPWORDS | _ADDRESS_CUES
_MAX_LOCAL: Final = 64  # characters of a local part
_MAX_LOCAL_ATOMS: Final = 32
_MAX_DOMAIN_ATOMS: Final = 32

# Letters, with Devanagari vowel signs and other combining marks kept inside the word ("पाँच", "छः").
_WORD: Final = r"[^\W\d_](?:[^\W\d_]|[\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963])*+"
_TOKEN: Final = re.compile(rf"(?P<word>{_WORD})|(?P<num>\d+)|(?P<space>\s+)|(?P<mark>.)", re.DOTALL)


class _Kind(Enum):
    SPACE = auto()
    WORD = auto()
    LETTER = auto()  # one letter: "j", "j for john", "capital j"
    DIGIT = auto()  # a digit word: "nine", "oh", "nau", "नौ"
    REPEAT = auto()  # "double nine", "triple 5"
    NUM = auto()  # written digits, in any script
    PLUS = auto()
    AT = auto()  # "at", "at the rate", "@"
    JOIN = auto()  # "dot", "underscore", "dash", "hyphen", ".", "_", "-"
    MARK = auto()  # any other character


@dataclass(frozen=True, slots=True)
class _Lexeme:
    kind: _Kind
    start: int
    end: int
    # digits (DIGIT, REPEAT, NUM, in ASCII), the letter, the symbol (AT, JOIN, PLUS), the lower-case word, the
    # mark; for SPACE "\n" when the space holds a line break, else " ".
    value: str
    spoken: bool = False  # said in words, not written; for LETTER spelt ("j for john", "capital j")
    weak: bool = (
        False  # also a common word ("oh", "do", "teen"); for AT a bare "at"; for REPEAT a pair ("ninety")
    )
    language: _Language = ""  # of a digit word


_DIGIT_KINDS: Final = frozenset({_Kind.DIGIT, _Kind.REPEAT})
_ITEM_KINDS: Final = frozenset({_Kind.DIGIT, _Kind.REPEAT, _Kind.NUM})


def _ascii_digits(digits: str) -> str:
    if digits.isascii():
        return digits
    return "".join(str(unicodedata.decimal(c)) for c in digits)


class _Lexer:
    """Tokens (words, digit strings, spaces, single characters) grouped into lexemes with bounded lookahead."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._tokens = [(m.lastgroup, m.start(), m.end()) for m in _TOKEN.finditer(text)]
        self._words = [text[s:e].lower() if group == "word" else "" for group, s, e in self._tokens]

    def lexemes(self) -> list[_Lexeme]:
        out: list[_Lexeme] = []
        i = 0
        while i < len(self._tokens):
            group, start, end = self._tokens[i]
            last = i
            if group == "space":
                lexeme = _Lexeme(_Kind.SPACE, start, end, "\n" if "\n" in self._text[start:end] else " ")
            elif group == "num":
                lexeme = _Lexeme(_Kind.NUM, start, end, _ascii_digits(self._text[start:end]))
            elif group == "mark":
                char = self._text[start]
                if char == "@":
                    lexeme = _Lexeme(_Kind.AT, start, end, "@")
                elif char in "._-":
                    lexeme = _Lexeme(_Kind.JOIN, start, end, char)
                else:
                    lexeme = _Lexeme(_Kind.MARK, start, end, char)
            else:
                lexeme, last = self._word(i)
            out.append(lexeme)
            i = last + 1
        return out

    def _after(self, i: int, *expected: str) -> int:
        """Index of the last of `expected`, each a word after one space, following token i; -1 if absent."""
        for word in expected:
            if i + 2 >= len(self._tokens) or self._tokens[i + 1][0] != "space" or self._words[i + 2] != word:
                return -1
            i += 2
        return i

    def _next_word(self, i: int) -> str:
        """The word one space after token i, or ""."""
        if i + 2 >= len(self._tokens) or self._tokens[i + 1][0] != "space":
            return ""
        return self._words[i + 2]

    def _word(self, i: int) -> tuple[_Lexeme, int]:
        word = self._words[i]
        start, end = self._tokens[i][1], self._tokens[i][2]
        if word == "at":
            last = self._after(i, "the", "rate")
            last = max(last, self._after(last, "of")) if last >= 0 else self._after(i, "rate")
            if last >= 0:
                return _Lexeme(_Kind.AT, start, self._tokens[last][2], "@", spoken=True), last
            return _Lexeme(_Kind.AT, start, end, "@", spoken=True, weak=True), i
        if word in _REPEATS and (repeat := self._repeat(i)) is not None:
            return repeat, i + 2
        following = self._next_word(i)
        if word == "capital" and _is_letter(following):
            return _Lexeme(_Kind.LETTER, start, self._tokens[i + 2][2], following.upper(), spoken=True), i + 2
        if _is_letter(word):
            last = self._after(i, "for")
            example = self._next_word(last) if last >= 0 else ""
            if len(example) > 1 and example.isascii() and example.isalpha() and example[0] == word:
                return _Lexeme(_Kind.LETTER, start, self._tokens[last + 2][2], word, spoken=True), last + 2
            return _Lexeme(_Kind.LETTER, start, end, word), i
        if word in _DIGIT_WORDS:
            digit, language, weak = _DIGIT_WORDS[word]
            return _Lexeme(_Kind.DIGIT, start, end, digit, spoken=True, weak=weak, language=language), i
        if word in _JOIN_WORDS:
            return _Lexeme(_Kind.JOIN, start, end, _JOIN_WORDS[word], spoken=True), i
        if word in _PLUS_WORDS:
            return _Lexeme(_Kind.PLUS, start, end, "+", spoken=True), i
        return _Lexeme(_Kind.WORD, start, end, word), i

    def _repeat(self, i: int) -> _Lexeme | None:
        """ "double nine", "triple 5": the multiplier, one space, then a digit word or one written digit."""
        if i + 2 >= len(self._tokens) or self._tokens[i + 1][0] != "space":
            return None
        times = _REPEATS[self._words[i]]
        start, end = self._tokens[i][1], self._tokens[i + 2][2]
        following = self._words[i + 2]
        if following in _DIGIT_WORDS:
            digit, language, _ = _DIGIT_WORDS[following]
            return _Lexeme(_Kind.REPEAT, start, end, digit * times, spoken=True, language=language)
        written = self._text[self._tokens[i + 2][1] : end]
        if self._tokens[i + 2][0] == "num" and len(written) == 1 and written.isascii():
            return _Lexeme(_Kind.REPEAT, start, end, written * times, spoken=True)
        return None


def _is_letter(word: str) -> bool:
    return len(word) == 1 and "a" <= word <= "z"


class _Edit(NamedTuple):
    start: int  # original range
    end: int
    text: str  # what the shadow has instead
    linear: bool = False  # same length, character for character (script digits)


class _Segment(NamedTuple):
    shadow_start: int
    start: int  # original range
    end: int
    linear: bool  # character for character; else each character of the segment stands for the whole range


@dataclass(frozen=True, slots=True)
class Shadow:
    """The written form of a text, and where each of its characters came from.

    Nothing is in the repr: the text is a person's message.
    """

    text: str = field(repr=False)
    _source_length: int = field(repr=False)
    _changed: bool = field(repr=False)
    _starts: tuple[int, ...] = field(repr=False)  # shadow_start of each segment
    _segments: tuple[_Segment, ...] = field(repr=False)  # cover the shadow text, in order, none empty

    @property
    def changed(self) -> bool:
        """False when the shadow is the input itself (then a second scan would find nothing new)."""
        return self._changed

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original range that shadow `[start, end)` came from. A span that touches a rewritten phrase
        covers all of it: "987" inside "98765" is "nine eight seven" (with the spaces between), and one digit
        of "99" is the whole "double nine"."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError("span is outside the shadow text")
        if start == len(self.text):
            return (self._source_length, self._source_length)
        first = self._segment(start)
        begin = first.start + (start - first.shadow_start) if first.linear else first.start
        if start == end:
            return (begin, begin)
        last = self._segment(end - 1)
        finish = last.start + (end - last.shadow_start) if last.linear else last.end
        return (begin, finish)

    def _segment(self, position: int) -> _Segment:
        return self._segments[bisect_right(self._starts, position) - 1]


def spoken_shadow(text: str) -> Shadow:
    """The shadow of `text`: spoken digits, e-mail addresses, UPI IDs and script digits in written form."""
    if not _has_cue(text):  # most chat: nothing any pass could rewrite
        return Shadow(text, len(text), False, (0,), (_Segment(0, 0, len(text), True),))
    return _rewrite(text)


def _rewrite(text: str) -> Shadow:
    """Every pass, whether or not the text has a cue."""
    lexemes = _Lexer(text).lexemes()
    edits, claimed = _Addresses(text, lexemes).edits()
    edits.extend(_SpeltCodes(lexemes, claimed).edits())
    edits.extend(_DottedQuads(lexemes, claimed).edits())
    edits.extend(_SpokenDates(text, lexemes, claimed).edits())
    edits.extend(_Digits(text, *_with_pairs(lexemes, claimed)).edits())
    # Script digits become ASCII character for character, unless a pass above rewrote them already.
    script = [lx for lx in lexemes if lx.kind is _Kind.NUM and not text[lx.start : lx.end].isascii()]
    edits.extend(
        _Edit(lx.start, lx.end, lx.value, linear=True)
        for lx in script
        if not any(e.start <= lx.start and lx.end <= e.end for e in edits)
    )
    return _build(text, edits)


def _build(text: str, edits: list[_Edit]) -> Shadow:
    edits.sort()
    parts: list[str] = []
    segments: list[_Segment] = []
    cursor = length = 0
    for edit in edits:
        if edit.start > cursor:
            segments.append(_Segment(length, cursor, edit.start, True))
            parts.append(text[cursor : edit.start])
            length += edit.start - cursor
        if edit.text:
            segments.append(_Segment(length, edit.start, edit.end, edit.linear))
            parts.append(edit.text)
            length += len(edit.text)
        cursor = edit.end
    if cursor < len(text):
        segments.append(_Segment(length, cursor, len(text), True))
        parts.append(text[cursor:])
    shadow = "".join(parts)
    return Shadow(shadow, len(text), shadow != text, tuple(s.shadow_start for s in segments), tuple(segments))


_Atom = Literal["word", "letter", "digit"]
# Atoms said one after the other that belong to one address: "j o h n", "rahul nine eight", "a for apple two"
# (said: written digits after a space are not joined, "mera UPI 9876543210@ybl").
_SPACED_PAIRS: Final[frozenset[tuple[_Atom, _Atom]]] = frozenset(
    {("letter", "letter"), ("digit", "digit"), ("word", "digit"), ("letter", "digit")}
)


class _Addresses:
    """Spoken e-mail addresses and UPI IDs: local part, "at" / "at the rate" / "@", then domain labels joined
    by "dot", or a UPI handle ("rahul dot k at the rate okaxis").

    Atoms (words, letters, digits) are linked to the next atom by a joiner ("dot", ".", "underscore", ...), by
    nothing ("john123") or, for the pairs in `_SPACED_PAIRS`, by a space. An address is the chain of linked
    atoms before an "at" and the chain after it, up to the last label that is a top-level domain.
    """

    def __init__(self, text: str, lexemes: Sequence[_Lexeme]) -> None:
        self._lexemes = lexemes
        self._atoms: list[_Atom | None] = []
        self._texts: list[str] = []  # what each atom contributes, lower-case
        for i, lx in enumerate(lexemes):
            if lx.kind is _Kind.WORD or (
                lx.kind is _Kind.DIGIT and lx.weak and not _weak_digit_holds(lexemes, i)
            ):
                word = text[lx.start : lx.end].lower()
                self._atoms.append("word" if word.isascii() else None)
                self._texts.append(word)
            elif lx.kind in _ITEM_KINDS:
                self._atoms.append("digit")
                self._texts.append(lx.value)
            elif lx.kind is _Kind.LETTER:
                self._atoms.append("letter")
                self._texts.append(lx.value.lower())
            else:
                self._atoms.append(None)
                self._texts.append("")
        self._next: list[tuple[int, str] | None] = [None] * len(lexemes)
        self._prev: list[tuple[int, str] | None] = [None] * len(lexemes)
        for i in range(len(lexemes)):
            self._link(i)

    def _is_space(self, i: int) -> bool:
        return (
            i < len(self._lexemes) and self._lexemes[i].kind is _Kind.SPACE and self._lexemes[i].value == " "
        )

    def _is_atom(self, i: int) -> bool:
        return i < len(self._lexemes) and self._atoms[i] is not None

    def _link(self, i: int) -> None:
        """Link atom i to the next atom when they belong to one address; the symbol is what joins them
        ("." "_" "-", "" for nothing, " " for a space that the address drops)."""
        left = self._atoms[i]
        if left is None:
            return
        j = i + 1
        spaced = self._is_space(j)
        if spaced:
            j += 1
        if j >= len(self._lexemes):
            return
        lx = self._lexemes[j]
        target, symbol = -1, ""
        if lx.kind is _Kind.JOIN:
            if lx.spoken:
                k = j + 2 if self._is_space(j + 1) else j + 1
                if self._is_atom(k):
                    target, symbol = k, lx.value
            elif not spaced and self._is_atom(j + 1):
                target, symbol = j + 1, lx.value
        elif (right := self._atoms[j]) is not None:
            if not spaced:  # "john123"
                target = j
            elif (
                spaced
                and (left, right) in _SPACED_PAIRS
                and _Kind.NUM not in (lx.kind, self._lexemes[i].kind)
                and self._texts[i] not in _NOT_LOCAL
            ):
                target, symbol = j, " "
        if target >= 0:
            self._next[i] = (target, symbol)
            self._prev[target] = (i, symbol)

    def edits(self) -> tuple[list[_Edit], list[bool]]:
        """The rewrites of every address found, and which lexemes the addresses hold."""
        edits: list[_Edit] = []
        claimed = [False] * len(self._lexemes)
        boundary = k = 0
        while k < len(self._lexemes):
            region = self._address(k, boundary) if self._lexemes[k].kind is _Kind.AT else None
            if region is None:
                k += 1
                continue
            first, last = region
            for i in range(first, last + 1):
                claimed[i] = True
                lx = self._lexemes[i]
                if lx.kind is _Kind.SPACE:
                    edits.append(_Edit(lx.start, lx.end, ""))
                elif lx.spoken and (lx.kind is not _Kind.DIGIT or self._atoms[i] == "digit"):
                    edits.append(_Edit(lx.start, lx.end, lx.value))
            boundary = k = last + 1
        return edits, claimed

    def _address(self, at: int, boundary: int) -> tuple[int, int] | None:
        """The first and last lexeme of the address around the "at" lexeme `at`, or None."""
        right = at + 2 if self._is_space(at + 1) else at + 1
        left = at - 2 if at >= 1 and self._is_space(at - 1) else at - 1
        if left < boundary or not self._is_atom(left) or not self._is_atom(right):
            return None
        domain = self._domain(right)
        if domain is not None:
            last, host = domain
            trusted = host in _MAIL_PROVIDERS
        elif self._is_upi_handle(right):
            last, trusted = right, self._texts[right] in _UPI_HANDLES
        else:
            return None
        first, atoms = self._local(left, boundary)
        if atoms == 1:
            if self._atoms[left] == "word" and self._texts[left] in _NOT_LOCAL:
                return None
            # "<word> at <site> dot com" is as often where someone works or shops as an address.
            if self._lexemes[at].weak and not trusted and not self._cued(first, last):
                return None
        return first, last

    def _is_upi_handle(self, i: int) -> bool:
        """A known handle that ends there ("okaxis", not "okaxis.com")."""
        if self._atoms[i] != "word" or self._texts[i] not in _UPI_ANY:
            return False
        link = self._next[i]
        return link is None or link[1] == " "

    def _domain(self, first: int) -> tuple[int, str] | None:
        """The last atom of the domain starting at atom `first`, and its first label; None without a TLD."""
        label, first_label, dots, last = self._texts[first], "", 0, -1
        current = first
        for _ in range(_MAX_DOMAIN_ATOMS):
            link = self._next[current]
            if link is None:
                break
            current, symbol = link
            if symbol == ".":
                if not dots:
                    first_label = label
                dots += 1
                label = self._texts[current]
            elif symbol in ("-", ""):
                label += symbol + self._texts[current]
            else:  # "_" or a space: not inside a domain
                break
            if dots and _is_tld(label):
                last = current
        return (last, first_label) if last >= 0 else None

    def _local(self, last: int, boundary: int) -> tuple[int, int]:
        """The first atom of the local part ending at atom `last`, and how many atoms it has."""
        first, length, atoms = last, len(self._texts[last]), 1
        while (link := self._prev[first]) is not None and atoms < _MAX_LOCAL_ATOMS:
            source, symbol = link
            size = len(self._texts[source]) + len(symbol.strip())
            if source < boundary or length + size > _MAX_LOCAL:
                break
            first, length, atoms = source, length + size, atoms + 1
        return first, atoms

    def _cued(self, first: int, last: int) -> bool:
        around = (
            *self._lexemes[max(0, first - _ADDRESS_CUE_REACH) : first],
            *self._lexemes[last + 1 : last + 1 + _ADDRESS_CUE_REACH],
        )
        return any(lx.kind is _Kind.WORD and lx.value in _ADDRESS_CUES for lx in around)


def _weak_digit_holds(lexemes: Sequence[_Lexeme], i: int) -> bool:
    """Whether the weak digit word at i is a digit where it stands, looking at the words one space away."""

    def neighbour(step: int) -> _Lexeme | None:
        j = i + step
        if 0 <= j < len(lexemes) and lexemes[j].kind is _Kind.SPACE and lexemes[j].value == " ":
            j += step
        return lexemes[j] if 0 <= j < len(lexemes) else None

    previous = neighbour(-1)
    context = previous.language if previous is not None and previous.kind in _DIGIT_KINDS else None
    return _weak_is_digit(lexemes, i, context, neighbour(1))


def _weak_is_digit(
    lexemes: Sequence[_Lexeme], i: int, context: str | None, following: _Lexeme | None
) -> bool:
    """A weak word ("oh", "do", "teen") is a digit after digit words of its language (`context`: the language
    of the digit words before it, "" when only "zero", None when none). A Hindi one is also a digit before a
    Hindi digit word, unless a verb stem comes first: "nine oh seven", "zero do do teen"; not "oh, nine",
    "one zero do you", "bhej do saat aath"."""
    lx = lexemes[i]
    if context:
        return context == lx.language
    if lx.language == "hi" and not _follows_verb(lexemes, i):
        return following is not None and following.kind in _DIGIT_KINDS and following.language == "hi"
    return False


def _follows_verb(lexemes: Sequence[_Lexeme], i: int) -> bool:
    """Whether lexeme i comes one space after a Hindi verb stem ("bhej do", "kar do")."""
    j = i - 2 if i >= 1 and lexemes[i - 1].kind is _Kind.SPACE else i - 1
    return j >= 0 and lexemes[j].kind is _Kind.WORD and lexemes[j].value in _HINDI_VERBS


def _is_tld(label: str) -> bool:
    return label.isascii() and label.isalpha() and (len(label) == 2 or label in _GENERIC_TLDS)


class _Digits:
    """Runs of digit words: "nine eight seven six five, four three two one zero" -> "98765 43210".

    A run is digit items (digit words, "double nine", written digits) with only spaces and pause marks between
    them; a "plus" may lead it. Items said one after the other are joined; a pause mark, or written digits
    next to words, separates groups, and the separation stays a space when both groups have two digits or more.
    """

    def __init__(self, text: str, lexemes: Sequence[_Lexeme], claimed: Sequence[bool]) -> None:
        self._text = text
        self._lexemes = lexemes
        self._claimed = claimed

    def edits(self) -> list[_Edit]:
        edits: list[_Edit] = []
        lexemes, claimed = self._lexemes, self._claimed
        i = 0
        while i < len(lexemes):
            if claimed[i] or not (lexemes[i].kind in _ITEM_KINDS or self._leading_plus(i)):
                i += 1
                continue
            items, j = [i], i
            while True:
                k, gap = j + 1, 0
                while k < len(lexemes) and gap < _MAX_SEPARATOR and not claimed[k] and _separates(lexemes[k]):
                    k, gap = k + 1, gap + 1
                if (
                    k < len(lexemes)
                    and not claimed[k]
                    and lexemes[k].kind in _ITEM_KINDS
                    and not self._clock(k)
                ):
                    items.append(k)
                    j = k
                else:
                    break
            for run in self._accepted_runs(items):
                if self._eligible(run):
                    edits.extend(self._rewrite(run))
            i = j + 1
        return edits

    def _clock(self, i: int) -> bool:
        """Written digits that start a time ("… nau, 7:15 PM tak"): the next words, not more of the number."""
        lx = self._lexemes[i]
        return lx.kind is _Kind.NUM and _CLOCK_TAIL.match(self._text, lx.end) is not None

    def _leading_plus(self, i: int) -> bool:
        """ "plus" one space before a digit word: "plus nine one"."""
        lexemes = self._lexemes
        return (
            lexemes[i].kind is _Kind.PLUS
            and i + 2 < len(lexemes)
            and lexemes[i + 1].kind is _Kind.SPACE
            and lexemes[i + 1].value == " "
            and lexemes[i + 2].kind in _DIGIT_KINDS
            and not self._claimed[i + 2]
        )

    def _accepted_runs(self, items: list[int]) -> list[list[int]]:
        """Split the items where a weak word is not a digit (see `_weak_is_digit`)."""
        runs: list[list[int]] = [[]]
        context: str | None = None  # the language of the run's digit words so far
        for t, index in enumerate(items):
            lx = self._lexemes[index]
            if lx.kind is _Kind.DIGIT and lx.weak:
                following = self._lexemes[items[t + 1]] if t + 1 < len(items) else None
                if not _weak_is_digit(self._lexemes, index, context, following):
                    if runs[-1]:
                        runs.append([])
                    context = None
                    continue
            runs[-1].append(index)
            if lx.kind in _DIGIT_KINDS:
                context = lx.language or context or ""
        return runs

    def _eligible(self, run: list[int]) -> bool:
        """Three digit words, or two with a "double"/"triple", a leading "plus" or written digits. A run with
        numbers said in pairs needs six digits: "ten minutes", "five thirty", "twenty twenty" stay prose."""
        strong, boosted, paired, digits = 0, False, False, 0
        for index in run:
            lx = self._lexemes[index]
            digits += len(lx.value) if lx.kind is not _Kind.PLUS else 0
            if lx.kind is _Kind.DIGIT:
                strong += not lx.weak
            elif lx.kind is _Kind.REPEAT:
                strong += 2
                boosted = True
                paired = paired or lx.weak
            else:
                boosted = True
        if paired and digits < _MIN_PAIRED_DIGITS:
            return False
        return strong >= 3 or (strong >= 2 and boosted)

    def _rewrite(self, run: list[int]) -> list[_Edit]:
        lexemes = self._lexemes
        edits = [
            _Edit(lexemes[index].start, lexemes[index].end, lexemes[index].value)
            for index in run
            if lexemes[index].kind is not _Kind.NUM
        ]
        # Group the items, then keep a space between two groups only when both have two digits or more
        # ("98765, 43210" stays two groups; "nine, eight, seven" said digit by digit is one number).
        groups: list[int] = [0]  # digits per group
        breaks: list[bool] = []  # between run[t] and run[t + 1]: starts a new group
        for a, b in pairwise(run):
            groups[-1] += len(lexemes[a].value) if lexemes[a].kind is not _Kind.PLUS else 0
            new_group = lexemes[a].end != lexemes[b].start and not (
                self._plain(a, b) and _joinable(lexemes[a], lexemes[b])
            )
            breaks.append(new_group)
            if new_group:
                groups.append(0)
        groups[-1] += len(lexemes[run[-1]].value)
        group = 0
        for (a, b), new_group in zip(pairwise(run), breaks, strict=True):
            out = ""
            if new_group:
                out = " " if groups[group] >= 2 and groups[group + 1] >= 2 else ""
                group += 1
            start, end = lexemes[a].end, lexemes[b].start
            if self._text[start:end] != out:
                edits.append(_Edit(start, end, out))
        return edits

    def _plain(self, a: int, b: int) -> bool:
        """Only a space on one line, or one hyphen ("nine-eight"), between lexemes a and b."""
        between = self._lexemes[a + 1 : b]
        if len(between) == 1 and between[0].kind is _Kind.JOIN and between[0].value == "-":
            return not between[0].spoken
        return all(lx.kind is _Kind.SPACE and lx.value == " " for lx in between)


def _separates(lx: _Lexeme) -> bool:
    if lx.kind is _Kind.SPACE:
        return True
    if lx.kind is _Kind.MARK:
        return lx.value in _RUN_MARKS
    return lx.kind is _Kind.JOIN and not lx.spoken and lx.value in ".-"


def _joinable(a: _Lexeme, b: _Lexeme) -> bool:
    """Two items said digit by digit (digit words, "double nine", "plus", one written digit), in one language:
    a switch ("... paanch do chhe six three ...") is where one number ends and the next begins."""
    if any(lx.kind is _Kind.NUM and len(lx.value) > 1 for lx in (a, b)):
        return False
    if a.kind in _DIGIT_KINDS and b.kind in _DIGIT_KINDS:
        return not (a.language and b.language and a.language != b.language)
    return True


_MIN_PAIRED_DIGITS: Final = 6
_CLOCK_TAIL: Final = re.compile(r":\d")  # after the hour of a time written in digits


def _with_pairs(lexemes: Sequence[_Lexeme], claimed: Sequence[bool]) -> tuple[list[_Lexeme], list[bool]]:
    """Numbers said two digits at a time ("ninety eight forty five oh one …", "atthanve sattasi nau aath …"): an
    English tens word and the unit after it, a teen, or a Hindi number word (10-99 are one word each) become one
    two-digit item for the digit runs, as "double nine" is. Only for that pass: the date pass reads the words
    themselves."""
    hindi = _hindi_numbers()
    merged: list[_Lexeme] = []
    flags: list[bool] = []
    i = 0
    while i < len(lexemes):
        lx = lexemes[i]
        pair: tuple[int, int, _Language] | None = None  # value, last lexeme, language
        if lx.kind is _Kind.WORD and not claimed[i]:
            if lx.value in _TEENS or lx.value in _TENS:
                pair = (*_english_pair(lexemes, claimed, i), "en")
            elif lx.value in hindi.values and (
                lx.value not in hindi.common or _beside_hindi_number(lexemes, i, hindi)
            ):
                pair = (hindi.values[lx.value], i, "hi")
        if pair is None:
            merged.append(lx)
            flags.append(claimed[i])
            i += 1
            continue
        value, last, language = pair
        # `weak` marks a pair: a number word that is as often just a number ("ten minutes", "pachas hazaar").
        merged.append(
            _Lexeme(
                _Kind.REPEAT,
                lx.start,
                lexemes[last].end,
                str(value),
                spoken=True,
                weak=True,
                language=language,
            )
        )
        flags.append(False)
        i = last + 1
    return merged, flags


def _english_pair(lexemes: Sequence[_Lexeme], claimed: Sequence[bool], i: int) -> tuple[int, int]:
    """The value of the English teen or tens word at i, with the unit after a tens word; and the last lexeme."""
    word = lexemes[i].value
    value, last = _TEENS.get(word) or _TENS[word], i
    unit = lexemes[i + 2] if i + 2 < len(lexemes) and _single_space(lexemes, i + 1) else None
    if (
        word in _TENS
        and unit is not None
        and not claimed[i + 2]
        and unit.kind is _Kind.DIGIT
        and unit.language == "en"
        and not unit.weak
    ):
        value, last = value + int(unit.value), i + 2
    return value, last


def _beside_hindi_number(lexemes: Sequence[_Lexeme], i: int, hindi: _HindiNumbers) -> bool:
    """Whether a Hindi digit or number word that is not also a common word stands one space before or after i:
    "atthanve saath" is 98 60, "mere saath" is "with me"."""
    for j in (i - 2, i + 2):
        if not (0 <= j < len(lexemes) and _single_space(lexemes, (i + j) // 2)):
            continue
        lx = lexemes[j]
        if lx.kind is _Kind.DIGIT and lx.language == "hi" and not lx.weak:
            return True
        if lx.kind is _Kind.WORD and lx.value in hindi.values and lx.value not in hindi.common:
            return True
    return False


def _single_space(lexemes: Sequence[_Lexeme], i: int) -> bool:
    return 0 <= i < len(lexemes) and lexemes[i].kind is _Kind.SPACE and lexemes[i].value == " "


_SPELT_KINDS: Final = frozenset({_Kind.LETTER, _Kind.DIGIT, _Kind.REPEAT, _Kind.NUM})


class _SpeltCodes:
    """Letters and digits read out one by one, joined where they form a code (see `pipelines.pii.spelled`).

    A run is letters, digit words, "double" repeats and written digits with single spaces between them; the
    longest code from each position is taken, so a word spelt right after a code ("… B I am") stays apart.
    A code never splits a number: "a/c one seven four two five two four six four …" holds no passport "C1742524".
    """

    def __init__(self, lexemes: Sequence[_Lexeme], claimed: list[bool]) -> None:
        self._lexemes = lexemes
        self._claimed = claimed

    def edits(self) -> list[_Edit]:
        edits: list[_Edit] = []
        lexemes = self._lexemes
        i = 0
        while i < len(lexemes):
            if self._claimed[i] or lexemes[i].kind not in _SPELT_KINDS:
                i += 1
                continue
            run = [i]
            while _single_space(lexemes, run[-1] + 1) and self._item(run[-1] + 2):
                run.append(run[-1] + 2)
            kinds = {lexemes[k].kind for k in run}
            if _Kind.LETTER in kinds and len(kinds) > 1:
                edits.extend(self._codes(run))
            i = run[-1] + 1
        return edits

    def _item(self, i: int) -> bool:
        return i < len(self._lexemes) and not self._claimed[i] and self._lexemes[i].kind in _SPELT_KINDS

    def _codes(self, run: list[int]) -> list[_Edit]:
        joined = "".join(self._lexemes[k].value.upper() for k in run)
        # Where each piece starts in `joined` (and where the last ends). A code has one of a few lengths
        # (`spelled.code_lengths`), so from each piece only those are tried: linear in the run, where trying
        # every slice was cubic.
        offsets = [0, *accumulate(len(self._lexemes[k].value) for k in run)]
        piece_at = {offset: k for k, offset in enumerate(offsets)}
        digit = [self._lexemes[k].kind is not _Kind.LETTER for k in run]
        # Where a code may begin or end: not between two digit items.
        cut = [True] + [not (a and b) for a, b in pairwise(digit)] + [True]
        edits: list[_Edit] = []
        first = 0
        while first < len(run) - 1:
            start = offsets[first]
            ends = (piece_at.get(start + length, -1) for length in spelled.code_lengths(joined, start))
            last = next(
                (
                    end - 1
                    for end in ends
                    if end > first + 1
                    and cut[end]
                    and spelled.has_code_shape(joined, start, offsets[end])
                    and spelled.is_spelt_code(joined[start : offsets[end]])
                ),
                None,
            )
            if not cut[first] or last is None:
                first += 1
                continue
            for k in range(run[first], run[last] + 1):
                lx = self._lexemes[k]
                self._claimed[k] = True
                if lx.kind is _Kind.SPACE:
                    edits.append(_Edit(lx.start, lx.end, ""))
                elif lx.kind is not _Kind.NUM:
                    edits.append(_Edit(lx.start, lx.end, lx.value.upper()))
            first = last + 1
        return edits


class _DottedQuads:
    """IPv4 addresses said aloud: four groups of one to three digits joined by "dot" ("one nine two dot one
    six eight dot …"), rewritten as "192.168.…". At least one part must be said in words."""

    def __init__(self, lexemes: Sequence[_Lexeme], claimed: list[bool]) -> None:
        self._lexemes = lexemes
        self._claimed = claimed

    def edits(self) -> list[_Edit]:
        edits: list[_Edit] = []
        i = 0
        while i < len(self._lexemes):
            quad = self._quad(i) if self._digit(i) and not self._digit(i - 2) else None
            if quad is None:
                i += 1
                continue
            last, rewrite = quad
            edits.extend(rewrite)
            for k in range(i, last + 1):
                self._claimed[k] = True
            i = last + 1
        return edits

    def _digit(self, i: int) -> bool:
        return 0 <= i < len(self._lexemes) and not self._claimed[i] and self._lexemes[i].kind in _ITEM_KINDS

    def _quad(self, i: int) -> tuple[int, list[_Edit]] | None:
        lexemes = self._lexemes
        edits: list[_Edit] = []
        spoken = False
        for part in range(4):
            digits, j = 0, i
            while True:
                lx = lexemes[j]
                digits += len(lx.value)
                spoken = spoken or lx.spoken
                if lx.spoken:
                    edits.append(_Edit(lx.start, lx.end, lx.value))
                if not (_single_space(lexemes, j + 1) and self._digit(j + 2)):
                    break
                edits.append(_Edit(lexemes[j + 1].start, lexemes[j + 1].end, ""))
                j += 2
            if digits > 3:
                return None
            if part == 3:
                return (j, edits) if spoken else None
            dot = j + 2 if _single_space(lexemes, j + 1) else j + 1
            after = dot + 2 if _single_space(lexemes, dot + 1) else dot + 1
            if not (
                dot < len(lexemes)
                and lexemes[dot].kind is _Kind.JOIN
                and lexemes[dot].value == "."
                and self._digit(after)
            ):
                return None
            edits.append(_Edit(lexemes[j].end, lexemes[after].start, "."))
            i = after
        return None


_UNITS: Final = {w: n for n, w in enumerate(("one", "two", "three", "four", "five", "six", "seven", "eight",
                                               "nine"), start=1)}  # fmt: skip
_TEENS: Final = {w: n for n, w in enumerate(("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                               "sixteen", "seventeen", "eighteen", "nineteen"), start=10)}  # fmt: skip
_TENS: Final = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                "ninety": 90}  # fmt: skip
_ORDINAL_UNITS: Final = {w: n for n, w in enumerate(("first", "second", "third", "fourth", "fifth", "sixth",
                                                       "seventh", "eighth", "ninth"), start=1)}  # fmt: skip
_ORDINAL_TEENS: Final = {w: n for n, w in enumerate(("tenth", "eleventh", "twelfth", "thirteenth",
                                                       "fourteenth", "fifteenth", "sixteenth", "seventeenth",
                                                       "eighteenth", "nineteenth"), start=10)}  # fmt: skip
_ORDINAL_TENS: Final = {"twentieth": 20, "thirtieth": 30}
_MONTH_NAMES: Final = {w: n for n, w in enumerate(("january", "february", "march", "april", "may", "june", "july",
                                                     "august", "september", "october", "november", "december"),
                                                    start=1)}  # fmt: skip
_SUFFIXES: Final = frozenset({"st", "nd", "rd", "th"})
_WRITTEN_DATE_WORDS: Final = _SUFFIXES | _MONTH_NAMES.keys() | {"of", ""}


class _SpokenDates:
    """Dates said in words: "fifth of august nineteen ninety four", "january ninth 1963", "twenty seventh
    march two thousand two" become "5 August 1994" for the date-of-birth detector (which still wants a birth
    word before it). Only around an English month name, and only when a part is said in words."""

    def __init__(self, text: str, lexemes: Sequence[_Lexeme], claimed: list[bool]) -> None:
        self._lexemes = lexemes
        self._claimed = claimed
        self._words = [
            text[lx.start : lx.end].lower() if lx.kind in (_Kind.WORD, _Kind.DIGIT) else "" for lx in lexemes
        ]

    def edits(self) -> list[_Edit]:
        months = [i for i, w in enumerate(self._words) if w in _MONTH_NAMES and not self._claimed[i]]
        edits: list[_Edit] = []
        for month in months:
            found = self._day_first(month) or self._month_first(month)
            if found is None:
                continue
            first, last, day, year = found
            words = self._words[first : last + 1]
            if any(self._claimed[first : last + 1]) or all(w in _WRITTEN_DATE_WORDS for w in words):
                continue  # claimed already, or nothing said in words: written layouts are the detector's
            name = self._words[month].capitalize()
            edits.append(_Edit(self._lexemes[first].start, self._lexemes[last].end, f"{day} {name} {year}"))
            for k in range(first, last + 1):
                self._claimed[k] = True
        return edits

    def _next(self, i: int, *, comma: bool = False) -> int:
        """The lexeme after i past one space (and a comma, if allowed)."""
        j = i + 1
        if (
            comma
            and j < len(self._lexemes)
            and self._lexemes[j].kind is _Kind.MARK
            and self._lexemes[j].value == ","
        ):
            j += 1
        return j + 1 if _single_space(self._lexemes, j) else j

    def _day_first(self, month: int) -> tuple[int, int, int, int] | None:
        # Days are at most two words; try the starts a few lexemes back and keep the one that ends at the month.
        for start in range(max(0, month - 6), month):
            day = self._day(start)
            if day is None:
                continue
            value, end = day
            after = self._next(end)
            if after < len(self._words) and self._words[after] == "of":
                after = self._next(after)
            if after != month:
                continue
            year = self._year(self._next(month, comma=True))
            if year is not None:
                return start, year[1], value, year[0]
        return None

    def _month_first(self, month: int) -> tuple[int, int, int, int] | None:
        day = self._day(self._next(month))
        if day is None:
            return None
        year = self._year(self._next(day[1], comma=True))
        return (month, year[1], day[0], year[0]) if year is not None else None

    def _num(self, i: int) -> str:
        lx = self._lexemes[i] if i < len(self._lexemes) else None
        return lx.value if lx is not None and lx.kind is _Kind.NUM else ""

    def _day(self, i: int) -> tuple[int, int] | None:
        """(day, index of its last lexeme) for a day written or said at lexeme i."""
        if i >= len(self._words):
            return None
        written = self._num(i)
        if written:
            end = i + 1 if i + 1 < len(self._words) and self._words[i + 1] in _SUFFIXES else i
            return (int(written), end) if 1 <= int(written) <= 31 and len(written) <= 2 else None
        word = self._words[i]
        if word in _TENS and word in ("twenty", "thirty"):
            following = self._next(i)
            unit = self._words[following] if following < len(self._words) else ""
            extra = _UNITS.get(unit) or _ORDINAL_UNITS.get(unit)
            if extra and _TENS[word] + extra <= 31:
                return _TENS[word] + extra, following
            return _TENS[word], i
        for table in (_UNITS, _ORDINAL_UNITS, _TEENS, _ORDINAL_TEENS, _ORDINAL_TENS):
            if word in table:
                return table[word], i
        return None

    def _below_hundred(self, i: int) -> tuple[int, int] | None:
        word = self._words[i] if i < len(self._words) else ""
        if word in _TENS:
            following = self._next(i)
            unit = self._words[following] if following < len(self._words) else ""
            return (_TENS[word] + _UNITS[unit], following) if unit in _UNITS else (_TENS[word], i)
        if word in _TEENS:
            return _TEENS[word], i
        if word in _UNITS:
            return _UNITS[word], i
        return None

    def _year(self, i: int) -> tuple[int, int] | None:
        """(year, index of its last lexeme): "1994", "nineteen ninety four", "nineteen oh five", "two thousand
        (and) two"."""
        if i >= len(self._words):
            return None
        written = self._num(i)
        if written:
            return (int(written), i) if len(written) == 4 and 1900 <= int(written) <= 2100 else None
        word, following = self._words[i], self._next(i)
        if word == "two" and following < len(self._words) and self._words[following] == "thousand":
            rest_at = self._next(following)
            if rest_at < len(self._words) and self._words[rest_at] == "and":
                rest_at = self._next(rest_at)
            rest = self._below_hundred(rest_at)
            return (2000 + rest[0], rest[1]) if rest else (2000, following)
        if word not in ("nineteen", "twenty"):
            return None
        century = _TEENS.get(word, 20) * 100
        after = self._words[following] if following < len(self._words) else ""
        if after == "hundred":
            return century, following
        if after == "oh":
            unit_at = self._next(following)
            unit = self._words[unit_at] if unit_at < len(self._words) else ""
            return (century + _UNITS[unit], unit_at) if unit in _UNITS else None
        rest = self._below_hundred(following)
        return (century + rest[0], rest[1]) if rest and rest[0] >= 10 else None


@cache
def _cue_words() -> frozenset[str]:
    """Number words that are not also common words, and "double"/"plus"/"dot"-like words."""
    words = {w for w, (_, _, weak) in _DIGIT_WORDS.items() if not weak}
    words |= _REPEATS.keys() | _PLUS_WORDS | _JOIN_WORDS.keys() | _TEENS.keys() | _TENS.keys()
    hindi = _hindi_numbers()
    words |= hindi.values.keys() - hindi.common
    return frozenset(words | _ORDINAL_UNITS.keys() | _ORDINAL_TEENS.keys() | _ORDINAL_TENS.keys())


def _cue_pattern() -> re.Pattern[str]:
    """The other cues: a script digit, a spaced or spoken "@" before a domain or UPI handle, a single letter next
    to a letter or digit (a spelt code)."""
    handles = "|".join(sorted(_UPI_ANY))
    return re.compile(
        r"(?![0-9])\d"
        r"|\s@|@\s"
        rf"|\bat\b.{{0,80}}?(?:\.[A-Za-z]|\b(?:{handles})\b)"
        r"|(?<![^\W_])[A-Za-z] (?:[A-Za-z]|\d)(?![^\W_])",
        re.IGNORECASE | re.DOTALL,
    )


_CUES: Final = _cue_pattern()
_CUE_TOKEN: Final = re.compile(_WORD)


def _has_cue(text: str) -> bool:
    """Whether any pass could rewrite something in `text`; texts without a cue (most chat) skip them all."""
    if _CUES.search(text) is not None:
        return True
    return not _cue_words().isdisjoint(w.lower() for w in _CUE_TOKEN.findall(text))
