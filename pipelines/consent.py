"""Consent logic, storage-agnostic: purposes, states, keyword intents, the `may` decision and notices.

The WhatsApp worker and the real-time call agent both import this module, so everything here is pure: no
Redis, no clock of its own, no I/O. Storage (the evidence ledger, the per-subject state) lives in `agent/`.

A subject is one WhatsApp user of one tenant. Each purpose has a state; overlays (restriction, objection,
erasure) sit on top and win over any state. `may()` is the only place that turns them into a yes or no.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class Purpose(StrEnum):
    REPLY = "reply"  # answer what the person sent; allowed once disclosed, unless they objected or stopped
    RETAIN_CONTENT = "retain_content"  # keep transcripts and messages after the turn (T2)
    CALL_RECORDING = "call_recording"  # off unless the tenant records calls and the person agreed
    MARKETING = "marketing"  # opt-in only
    HUMAN_REVIEW = "human_review"  # the business's staff reading the conversation
    CALLS = "calls"  # business-initiated calls (Meta's call permission)


class State(StrEnum):
    UNKNOWN = "unknown"
    NOTICED = "noticed"
    GRANTED = "granted"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Overlay(StrEnum):
    """Conditions that sit over every purpose's state and deny processing while present."""

    RESTRICTED = "restricted"
    OBJECTED = "objected"
    ERASURE_PENDING = "erasure_pending"


class Method(StrEnum):
    """How a change was expressed; the ledger records it as evidence."""

    KEYWORD = "keyword"
    BUTTON = "button"
    VOICE = "voice"
    TENANT_API = "tenant_api"
    META_USER_PREFERENCES = "meta_user_preferences"
    META_CALL_PERMISSION = "meta_call_permission"
    DISCLOSURE = "disclosure"
    ADMIN = "admin"


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HUMAN = "human"
    DELETE_DATA = "delete_data"
    ACCESS_DATA = "access_data"


class ContentBasis(StrEnum):
    """Why T2 content may be kept: the person's consent, or a basis the tenant documented (a contract)."""

    CONSENT = "consent"
    CONTRACT = "contract"


_STOPPED = frozenset({State.DENIED, State.WITHDRAWN, State.EXPIRED})


@dataclass(frozen=True, slots=True)
class SubjectConsent:
    """A subject's current consent: a state per purpose (missing means unknown) and the active overlays."""

    states: Mapping[Purpose, State] = field(default_factory=dict)
    overlays: frozenset[Overlay] = frozenset()
    noticed_at: float | None = None  # when the AI disclosure was last sent
    suppressed: bool = False  # erased once: marketing never resumes on its own
    expires: Mapping[Purpose, float] = field(
        default_factory=dict
    )  # a grant that lapses (Meta's call permission)

    def state(self, purpose: Purpose) -> State:
        return self.states.get(purpose, State.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Policy:
    """What the tenant configured that changes a decision."""

    content_basis: ContentBasis = ContentBasis.CONSENT
    records_calls: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str  # a fixed word for logs and metrics: "granted", "withdrawn", "objected", ...

    def __bool__(self) -> bool:
        return self.allowed


def may(
    consent: SubjectConsent,
    purpose: Purpose,
    policy: Policy,
    *,
    frozen: bool = False,
    now: float | None = None,
) -> Decision:
    """The one decision: may `purpose` happen for this subject now? `frozen`: the tenant's account ended;
    `now`: the time a time-limited grant is checked against."""
    if frozen:
        return Decision(False, "tenant_frozen")
    for overlay in (Overlay.ERASURE_PENDING, Overlay.RESTRICTED, Overlay.OBJECTED):
        if overlay in consent.overlays:
            return Decision(False, overlay.value)
    state = consent.state(purpose)
    if state is State.GRANTED and now is not None and now >= consent.expires.get(purpose, float("inf")):
        state = State.EXPIRED
    if state in _STOPPED:
        return Decision(False, state.value)
    if purpose in (Purpose.REPLY, Purpose.HUMAN_REVIEW):
        # unknown is allowed because the first reply carries the disclosure (the gate adds it)
        return Decision(True, state.value)
    if purpose is Purpose.RETAIN_CONTENT and policy.content_basis is ContentBasis.CONTRACT:
        return Decision(True, "contract")
    if purpose is Purpose.MARKETING and consent.suppressed and state is not State.GRANTED:
        return Decision(False, "suppressed")
    if purpose is Purpose.CALL_RECORDING and not policy.records_calls:
        return Decision(False, "not_recorded")
    return Decision(state is State.GRANTED, state.value)


def lifted_by_opt_in(decision: Decision) -> bool:
    """A refusal the person's own START lifts: they stopped us (a withdrawn, denied or expired state). START
    removes no overlay (objection, restriction, pending erasure) and cannot unfreeze a tenant."""
    return not decision.allowed and decision.reason in {s.value for s in _STOPPED}


@dataclass(frozen=True, slots=True)
class Transition:
    """What an intent changes: new states per purpose and overlays to add. Only real changes are listed."""

    states: Mapping[Purpose, State] = field(default_factory=dict)
    add_overlays: frozenset[Overlay] = frozenset()
    expires: Mapping[Purpose, float] = field(default_factory=dict)  # for a grant among `states` that lapses


def transition(consent: SubjectConsent, intent: Intent) -> Transition:
    """STOP withdraws replies, and marketing and calls where granted (where never granted it denies them);
    START resumes replies and restores what STOP withdrew, so STOP then START never opts a person into
    marketing or calls they never agreed to. A delete request stops all processing until the erasure runs.
    HUMAN and access requests change no state."""
    wanted: dict[Purpose, State] = {}
    overlays: frozenset[Overlay] = frozenset()
    if intent is Intent.OPT_OUT:
        wanted[Purpose.REPLY] = State.WITHDRAWN
        for purpose in (Purpose.MARKETING, Purpose.CALLS):
            if consent.state(purpose) is State.GRANTED:
                wanted[purpose] = State.WITHDRAWN
            elif consent.state(purpose) is not State.WITHDRAWN:
                wanted[purpose] = State.DENIED
    elif intent is Intent.OPT_IN:
        wanted[Purpose.REPLY] = State.GRANTED
        for purpose in (Purpose.MARKETING, Purpose.CALLS):
            if consent.state(purpose) is State.WITHDRAWN:
                wanted[purpose] = State.GRANTED
    elif intent is Intent.DELETE_DATA:
        overlays = frozenset({Overlay.ERASURE_PENDING})
    changed = {p: s for p, s in wanted.items() if consent.state(p) is not s}
    return Transition(changed, overlays - consent.overlays)


_COVERED: Mapping[Intent, frozenset[Purpose]] = {
    Intent.OPT_OUT: frozenset({Purpose.REPLY, Purpose.MARKETING, Purpose.CALLS}),
    Intent.OPT_IN: frozenset({Purpose.REPLY}),  # and marketing or calls only where it restores them
}


def covered(intent: Intent) -> frozenset[Purpose]:
    """The purposes an intent speaks about, changed or not: a later signal about one of them is newer, so an
    older signal that arrives afterwards is superseded there (consent applies in the order it was given)."""
    return _COVERED.get(intent, frozenset())


def noticed(consent: SubjectConsent) -> Transition:
    """Sending the AI disclosure moves the purposes allowed after notice from unknown to noticed."""
    return Transition(
        {p: State.NOTICED for p in (Purpose.REPLY, Purpose.HUMAN_REVIEW) if consent.state(p) is State.UNKNOWN}
    )


def needs_disclosure(consent: SubjectConsent, now: float, idle_s: float) -> bool:
    """On first contact, and again when the conversation was idle longer than the tenant's period."""
    return consent.noticed_at is None or now - consent.noticed_at > idle_s


# ---------------------------------------------------------------------------------------------------------
# Keywords: whole message, case- and diacritic-insensitive, before any model. Hindi ones also in the spellings
# speech engines and people write them in (`_loose`): romanization variants, Urdu script, Devanagari variants.

DEFAULT_KEYWORDS: Mapping[str, Mapping[Intent, tuple[str, ...]]] = {
    "en": {
        Intent.OPT_OUT: (
            "stop", "stop all", "unsubscribe", "cancel", "end", "quit", "opt out", "optout", "stop messages",
            "stop messaging me", "no more messages", "do not message me", "dont message me",
        ),
        Intent.OPT_IN: ("start", "unstop", "resume", "subscribe", "opt in", "optin"),
        Intent.HUMAN: (
            "human", "agent", "talk to a human", "speak to a human", "talk to a person", "real person",
            "representative", "talk to an agent",
        ),
        Intent.DELETE_DATA: (
            "delete my data", "erase my data", "remove my data", "delete my information", "forget me",
            "delete my details",
        ),
        Intent.ACCESS_DATA: (
            "what data do you have", "what data do you have on me", "what data do you have about me",
            "show my data", "send my data", "export my data", "my data",
        ),
    },
    "hi": {
        Intent.OPT_OUT: (
            "band karo", "band kar do", "bandh karo", "bandh kar do", "mat bhejo", "message mat bhejo",
            "msg mat bhejo", "messages band karo", "बंद करो", "बन्द करो", "बंद कर दो", "मत भेजो",
            "मैसेज मत भेजो", "मैसेज बंद करो", "स्टॉप", "بند کرو", "بند کر دو", "مت بھیجو", "میسج مت بھیجو",
            "میسج بند کرو",
        ),
        Intent.OPT_IN: (
            "shuru karo", "chalu karo", "phir se shuru karo", "शुरू करो", "चालू करो", "شروع کرو", "چالو کرو",
        ),
        Intent.HUMAN: (
            "insaan se baat karao", "insaan se baat karni hai", "kisi se baat karao", "aadmi se baat karao",
            "इंसान से बात कराओ", "इंसान से बात करनी है", "किसी से बात कराओ", "انسان سے بات کراؤ",
            "انسان سے بات کرنی ہے", "کسی سے بات کراؤ",
        ),
        Intent.DELETE_DATA: (
            "mera data delete karo", "mera data mita do", "mera data hatao", "मेरा डेटा मिटा दो",
            "मेरा डेटा डिलीट करो", "मेरा डेटा हटाओ", "میرا ڈیٹا مٹا دو", "میرا ڈیٹا ڈیلیٹ کرو", "میرا ڈیٹا ہٹاؤ",
        ),
        Intent.ACCESS_DATA: (
            "mera data kya hai", "mera data bhejo", "mera data dikhao", "मेरा डेटा दिखाओ", "मेरा डेटा भेजो",
            "मेरा डेटा क्या है", "میرا ڈیٹا دکھاؤ", "میرا ڈیٹا بھیجو", "میرا ڈیٹا کیا ہے",
        ),
    },
}  # fmt: skip

_NOT_WORD = re.compile(r"[^\w\u0900-\u0963\u0966-\u097f]+")  # the danda (U+0964/5) is punctuation
# Latin diacritics, Arabic vowel marks and hamza (a free mark would split an Urdu word), zero-width joiners.
# Devanagari's own signs (U+0900 block) are letters, kept.
_MARKS = re.compile(r"[\u0300-\u036f\u064b-\u065f\u0670\u200c\u200d]")


def normalize(text: str) -> str:
    """Casefolded, Latin diacritics and punctuation removed, whitespace collapsed: "Stóp!" → "stop"."""
    decomposed = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    folded = unicodedata.normalize("NFC", decomposed).casefold().replace("'", "").replace("’", "")
    return " ".join(_NOT_WORD.sub(" ", folded).split())


# Politeness around a command leaves it a command: "stop please", "band karo ji".
_COURTESY = frozenset({"please", "pls", "plz", "ji", "jee", "kripya", "कृपया", "जी", "प्लीज", "جی", "پلیز"})
# Languages whose keywords are also matched loosely (romanized Hindi has no standard spelling).
_LOOSE_LANGUAGES = frozenset({"hi"})
_DEVANAGARI_FOLD = str.maketrans({"\u093c": None, "\u0901": "\u0902", "\u0949": "\u094b", "\u0948": "\u0947"})
_NASAL_CONJUNCT = re.compile(r"[ङञणनम]\u094d(?=[क-ह])")  # बन्द / बंद, इन्सान / इंसान
_URDU_FOLD = str.maketrans(
    {"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0647": "\u06c1", "\u06be": "\u06c1"}
)
_C = "bcdfghjklmnpqrstvwxyz"
_ROMAN_STEPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"ee", "i"),  # long vowels written doubled or not: baat / bat, insaan / insan
        (r"oo", "u"),
        (r"u(?=n[" + _C + "])", "a"),  # English-style schwa: bund / band
        (r"c(?!h)|q", "k"),  # what an English model writes for k: "car do" / kar do
        (r"w", "v"),
        (r"z", "j"),
        (r"ph", "f"),
        (r"([bcdgjkpt])h", r"\1"),  # aspiration written or not: bandh / band, bhejo / bejo
        (r"(.)\1+", r"\1"),  # doubled letters: baat / bat, bhatt / bhat
        (r"(?<=[" + _C + "])a(?=[" + _C + "])", ""),  # chat spelling drops the schwa: karo / kro, band / bnd
    )
)


def _roman(token: str) -> str:
    for pattern, replacement in _ROMAN_STEPS:
        token = pattern.sub(replacement, token)
    return token


def _courteous(normalized: str) -> str:
    """`normalized` without courtesy words at its ends (unless that is all it is)."""
    words = normalized.split()
    while len(words) > 1 and words[-1] in _COURTESY:
        words.pop()
    while len(words) > 1 and words[0] in _COURTESY:
        words.pop(0)
    return " ".join(words)


def _loose(normalized: str) -> str:
    """The spelling-free key of a normalized Hindi phrase, the same for every way it is commonly written:
    romanized (band / bandh / bund, karo / kro, kar do / kardo), Devanagari with or without nukta, chandrabindu
    or a nasal conjunct, and the Urdu letters Whisper writes Hindi speech in (Arabic or Persian yeh, kaf and
    heh). Only whole messages are compared, so the key never finds a keyword inside a sentence."""
    text = _NASAL_CONJUNCT.sub("\u0902", unicodedata.normalize("NFD", normalized))
    text = unicodedata.normalize("NFC", text.translate(_DEVANAGARI_FOLD).translate(_URDU_FOLD))
    return "".join(_roman(word) if word.isascii() else word for word in text.split())


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    intent: Intent
    language: str  # the language of the matched keyword: the confirmation is answered in it


class KeywordClassifier:
    """Maps a whole message to an intent; a keyword inside a longer sentence is not a command. Courtesy words
    at the ends are ignored; Hindi keywords also match in their common spellings (`_loose`)."""

    def __init__(self, keywords: Mapping[str, Mapping[Intent, Iterable[str]]]) -> None:
        self._table: dict[str, KeywordMatch] = {}
        self._loose: dict[str, KeywordMatch] = {}
        for language, intents in keywords.items():
            for intent, words in intents.items():
                for word in words:
                    match = KeywordMatch(intent, language)
                    self._table.setdefault(normalize(word), match)
                    if language in _LOOSE_LANGUAGES:
                        self._loose.setdefault(_loose(normalize(word)), match)
        self._table.pop("", None)
        self._loose.pop("", None)

    @classmethod
    def with_extra(cls, extra: Mapping[str, Mapping[Intent, Iterable[str]]]) -> KeywordClassifier:
        """The defaults plus a tenant's own words (a default keeps its meaning if a tenant repeats it)."""
        merged: dict[str, dict[Intent, list[str]]] = {}
        for table in (DEFAULT_KEYWORDS, extra):
            for language, intents in table.items():
                for intent, words in intents.items():
                    merged.setdefault(language, {}).setdefault(intent, []).extend(words)
        return cls(merged)

    def classify(self, text: str) -> KeywordMatch | None:
        message = _courteous(normalize(text))
        return self._table.get(message) or self._loose.get(_loose(message))


@dataclass(frozen=True, slots=True)
class Notice:
    """A fixed text as sent, with the version and hash the ledger records as evidence of what was shown."""

    text: str
    language: str
    version: str
    sha256: str


def render_notice(template: str, language: str, *, business: str, version: str) -> Notice:
    """The notice as sent (`{business}` replaced), with the hash the ledger records."""
    text = template.replace("{business}", business)
    return Notice(text, language, version, hashlib.sha256(text.encode()).hexdigest())


def prefaced(notice: str, reply: str) -> str:
    """A reply as sent with a notice (the AI disclosure) before it; said in this order in a voice note too."""
    return f"{notice}\n\n{reply}" if notice else reply


_CLAIMS_HUMAN = re.compile(
    r"(?:^| )(?:"
    r"(?:i am|im|i m)(?: a| an)?(?: real)? (?:human|person|human being)"
    r"|(?:i am|im|i m) not (?:a |an )?(?:bot|robot|machine|ai|computer|chatbot)"
    r"|main (?:ek )?(?:insaan|insan|aadmi) (?:hoon|hu|hun)"
    r"|main (?:bot|robot) nahi (?:hoon|hu|hun)"
    r"|मैं (?:एक )?(?:इंसान|इन्सान|आदमी) (?:हूँ|हूं|हू)"
    r")(?: |$)"
)


def claims_to_be_human(text: str) -> bool:
    """A reply in which the assistant says it is a person (the prompt forbids it; this proves it)."""
    return _CLAIMS_HUMAN.search(normalize(text)) is not None
