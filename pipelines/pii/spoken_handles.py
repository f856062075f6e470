"""E-mail addresses and UPI IDs as people say them and ASR writes them (issue 17).

Every way of saying the three marks: "@" as "at", "at the rate (of)", "at sign", "at symbol", "attherate";
"." as "dot"; "_" as "underscore" / "under score"; "-" as "dash" / "hyphen". Local parts of words, digits
(written or said, "double seven"), and letters spelt one by one ("r a v i"); domains spelt too ("u n i dot
edu"), ending in a top-level domain; UPI handles from NPCI's PSP list (`data/upi_psp_handles.txt`), said as
words or letters ("ok axis", "a x l", "y b l"). A bare "at" is ambiguous ("meet me at the mall"): it makes an
address only when the local part has a structure no phrase has (digits, a joiner, spelt letters), the domain
is a mail provider, or a payment or mail word comes just before.

The text is lexed once into tokens; each "at" looks back and forward a bounded number of tokens, so the work
is linear in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from pipelines.pii.entities import EntityType, Span

if TYPE_CHECKING:
    from collections.abc import Iterator

_LEX = re.compile(r"[A-Za-z]++|\d++|[@._+-]|[^\sA-Za-z\d@._+-]")
_HAS_AT = re.compile(r"@|\bat", re.IGNORECASE)

_DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGITS = {w: str(i) for i, w in enumerate(_DIGIT_NAMES)}
_DIGITS["oh"] = "0"
_REPEAT = {"double": 2, "triple": 3}
_JOINERS = {".": ".", "dot": ".", "_": "_", "underscore": "_", "-": "-", "dash": "-", "hyphen": "-"}
_TLDS = frozenset(
    {
        "com", "in", "co", "org", "net", "edu", "gov", "ac", "io", "me", "ai", "app", "info", "biz", "uk", "us",
        "sg", "ae", "my", "au", "ca", "de", "fr", "nz", "za", "ng", "ke", "pk", "lk", "bd", "np", "qa", "om",
        "sa", "bh", "kw", "jp", "cn", "kr", "hk", "tw", "eu", "ch", "nl", "ie", "xyz", "online", "tech", "dev",
    }
)  # fmt: skip
_MAIL_PROVIDERS = frozenset(
    {
        "gmail", "googlemail", "yahoo", "ymail", "outlook", "hotmail", "live", "msn", "rediffmail", "rediff",
        "icloud", "me", "proton", "protonmail", "zoho", "zohomail", "aol", "yandex", "gmx", "mail",
    }
)  # fmt: skip
# Words said just before an address that make a bare "at" one.
_CUES = frozenset(
    {
        "email", "mail", "emailid", "mailid", "id", "upi", "vpa", "gpay", "phonepe", "paytm", "bhim", "pay",
        "send", "write", "refund", "transfer", "payment", "paise", "bhej", "bhejo", "bhejna", "bhejiye", "daal",
        "daalo", "dalo", "address", "handle",
    }
)  # fmt: skip
# Words that are never part of a local part: they end it.
_STOP = frozenset(
    {
        "is", "was", "are", "am", "be", "it", "its", "this", "that", "the", "an", "and", "or", "my", "your",
        "our", "his", "her", "me", "to", "on", "at", "in", "for", "from", "of", "with", "by", "please", "pls",
        "plz", "hai", "pe", "par", "mera", "meri", "mere", "ka", "ki", "ke", "ko", "se", "number", "no", "also",
        "then", "so", "ok", "okay", "yes", "haan", "im", "we", "you", "he", "she", "they", "meet",
        "see", "reach", "call", "here", "there", "us", "them", "him", "one", "wala", "wali",
    }
    | _CUES
)  # fmt: skip
_MAX_BACK = 24  # tokens of a local part
_MAX_LABELS = 4
_MAX_SPELT = 16


@cache
def _psp_handles() -> frozenset[str]:
    text = (
        resources.files("pipelines.pii").joinpath("data", "upi_psp_handles.txt").read_text(encoding="utf-8")
    )
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str  # lower-case
    gap: str  # the characters between the previous token and this one


@dataclass(frozen=True, slots=True)
class _Local:
    first: int  # token index
    value: str
    structured: bool  # digits, a joiner or spelt letters: no phrase looks like this


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    previous = 0
    for m in _LEX.finditer(text):
        tokens.append(_Token(m.start(), m.end(), m.group().lower(), text[previous : m.start()]))
        previous = m.end()
    return tokens


def _breaks(token: _Token) -> bool:
    return "\n" in token.gap


class SpokenHandleDetector:
    """Spoken and half-spoken e-mail addresses and UPI IDs (see the module docstring)."""

    type = EntityType.EMAIL  # and UPI: each span says which

    def find(self, text: str) -> Iterator[Span]:
        if _HAS_AT.search(text) is None:
            return
        tokens = _lex(text)
        taken = -1
        for i, token in enumerate(tokens):
            if i <= taken or not (token.text == "@" or token.text.startswith("at")):
                continue
            at = _at(tokens, i)
            if at is None:
                continue
            after, strong = at
            local = _local(tokens, i)
            if local is None:
                continue
            cued = any(t.text in _CUES for t in tokens[max(0, local.first - 6) : local.first])
            domain = _domain(tokens, after)
            if domain is not None:
                last, name, provider = domain
                if strong or local.structured or provider or cued:
                    taken = last
                    value = f"{local.value}@{name}"
                    yield Span(tokens[local.first].start, tokens[last].end, EntityType.EMAIL, value)
                continue
            handle = _handle(tokens, after)
            if handle is not None and (strong or local.structured or cued):
                last, name = handle
                taken = last
                yield Span(
                    tokens[local.first].start, tokens[last].end, EntityType.UPI, f"{local.value}@{name}"
                )


def _word(tokens: list[_Token], i: int, *words: str) -> bool:
    return i < len(tokens) and tokens[i].text in words and not _breaks(tokens[i])


def _at(tokens: list[_Token], i: int) -> tuple[int, bool] | None:
    """The token after an "at" phrase starting at `i`, and whether the phrase can only mean "@"."""
    t = tokens[i].text
    if t == "@" or t in ("attherate", "atherate", "attherat", "attherateof"):
        return i + 1, True
    if t != "at":
        return None
    j = i + 1
    if _word(tokens, j, "the") and _word(tokens, j + 1, "rate"):
        j += 2
    elif _word(tokens, j, "rate", "therate"):
        j += 1
    elif _word(tokens, j, "sign", "symbol", "sine"):
        return j + 1, True
    else:
        return j, False
    if _word(tokens, j, "of"):
        j += 1
    return j, True


def _atom(token: _Token) -> str | None:
    """What one token adds to an address: letters, digits, a digit said as a word."""
    if token.text in _DIGITS:
        return _DIGITS[token.text]
    if token.text.isdigit() or (
        token.text.isascii() and token.text.isalpha() and (len(token.text) == 1 or token.text not in _STOP)
    ):
        return token.text
    return None


def _local(tokens: list[_Token], at: int) -> _Local | None:
    """The local part that ends right before the "at" phrase at `at`, read backwards."""
    parts: list[str] = []
    structured = False
    k = at - 1
    joiner_pending = False
    first = -1
    while k >= 0 and at - k <= _MAX_BACK:
        token = tokens[k]
        if _breaks(tokens[k + 1]) or tokens[k + 1].gap.strip():
            break
        if token.text in _JOINERS:
            # A written mark joins only what it touches ("rahul.k", not "bhaiya. 98…"); a said one has spaces.
            glued = token.text.isalpha() or not (token.gap or tokens[k + 1].gap)
            if joiner_pending or not parts or not glued:
                break
            parts.append(_JOINERS[token.text])
            joiner_pending, structured = True, True
            k -= 1
            continue
        if token.text == "score" and k > 0 and tokens[k - 1].text == "under":
            if joiner_pending or not parts:
                break
            parts.append("_")
            joiner_pending, structured = True, True
            k -= 2
            continue
        atom = _atom(token)
        if atom is None:
            break
        if k > 0 and tokens[k - 1].text in _REPEAT and atom.isdigit() and len(atom) == 1:
            atom *= _REPEAT[tokens[k - 1].text]
            k -= 1
        word = atom.isalpha() and len(atom) > 1
        spaced = bool(tokens[k + 1].gap) and not joiner_pending
        # Said without a joiner, a word joins only digits or letters after it ("thomas three four",
        # "k mensah"), never another word ("invoice rekhabarua@…", "hii naveen at gmail dot com").
        if parts and spaced and word and (parts[-1].isalpha() and len(parts[-1]) > 1):
            break
        if not word:
            structured = True  # a digit or a spelt letter
        parts.append(atom)
        joiner_pending = False
        first = k
        k -= 1
    if joiner_pending:  # "dot rahul at …" cannot start with a joiner: drop it
        parts.pop()
        first = next(j for j in range(first, at) if tokens[j].text not in _JOINERS)
    if not parts or first < 0:
        return None
    return _Local(first, "".join(reversed(parts)), structured)


def _label(tokens: list[_Token], j: int) -> tuple[int, str] | None:
    """One domain label from token `j`: a word or digits, or letters spelt one by one ("u n i")."""
    if j >= len(tokens) or _breaks(tokens[j]) or tokens[j].gap.strip():
        return None
    t = tokens[j].text
    if not t.isalnum():
        return None
    if len(t) > 1 or t.isdigit():
        return j, t
    letters = [t]
    k = j + 1
    while (
        k < len(tokens)
        and len(letters) < _MAX_SPELT
        and len(tokens[k].text) == 1
        and tokens[k].text.isalpha()
    ):
        if tokens[k].gap != " ":
            break
        letters.append(tokens[k].text)
        k += 1
    return k - 1, "".join(letters)


def _domain(tokens: list[_Token], j: int) -> tuple[int, str, bool] | None:
    """Labels joined by "dot" up to the last one that is a top-level domain: (last token, domain, telling),
    where telling means a mail provider's domain or one spelt letter by letter ("u n i dot edu")."""
    labels: list[str] = []
    best: tuple[int, str, bool] | None = None
    spelt = False
    while len(labels) < _MAX_LABELS:
        label = _label(tokens, j)
        if label is None:
            break
        last, name = label
        spelt = spelt or last > j
        labels.append(name)
        if len(labels) > 1 and name in _TLDS:
            best = (last, ".".join(labels), spelt or labels[0] in _MAIL_PROVIDERS)
        nxt = last + 1
        if nxt + 1 < len(tokens) and _dot(tokens[nxt], tokens[nxt + 1]):
            j = nxt + 1
            continue
        break
    return best


def _dot(token: _Token, after: _Token) -> bool:
    """A "dot" said, or a "." touching both labels ("gmail.com", not "okhdfcbank. my")."""
    if _breaks(token):
        return False
    return token.text == "dot" or (token.text == "." and not token.gap and not after.gap)


def _handle(tokens: list[_Token], j: int) -> tuple[int, str] | None:
    """The longest run of up to five words or letters from `j` that spells a PSP handle ("ok axis", "y b l")."""
    handles = _psp_handles()
    joined = ""
    best: tuple[int, str] | None = None
    for k in range(j, min(j + 5, len(tokens))):
        token = tokens[k]
        if not token.text.isalpha() or _breaks(token) or token.gap.strip():
            break
        joined += token.text
        if joined in handles:
            best = (k, joined)
    if best is not None:
        after = best[0] + 1
        if after + 1 < len(tokens) and _dot(tokens[after], tokens[after + 1]):
            return None  # "… at sbi dot co dot in" is a domain, not a handle
    return best
