"""Person names with no frame around them (issue 17, round 3).

Where `name_frames` reads a name from the words before it, these read it from its own shape and the clause it
sits in: a bare list of names ("Ravi, Sunita and Manoj will come", "राम, सीता और लक्ष्मण आएंगे"), a listed given
name as the subject of a clause ("Naveen will pay tomorrow", "Deepika aayegi"), a surname cut to its initial
("Priya K.", "K. Tandimbe"), a lower-case speaker prefix in a chat export ("quorvel: is it available"), a
capitalized word after an English title even where it is also a word ("Mrs Hope"), capitalized runs one list
vouches for ("add Chidi Okafor"), lower-case full names ("wanjiru kamau", "oindrila deshpande"), a name that
ends the message on its own ("… tomorrow. Quorvel Tandimbe"), and Devanagari names after a title ("श्रीमती …").

Each anchor (a conjunction, a colon, an initial, a title) reads a bounded window around it: at most
`_MAX_ITEMS` list items within `_WINDOW` characters back, one or two words ahead. The work is linear in the text.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

from pipelines.pii.common_words import LABEL_WORDS
from pipelines.pii.english import english_words, is_english_word
from pipelines.pii.entities import EntityType, Span
from pipelines.pii.name_frames import (
    TOKEN,
    english_form,
    is_any_surname,
    is_listed,
    is_plain_word,
    is_world_given_name,
)
from pipelines.pii.names import DEITIES, STOP_WORDS, is_acronym_title, is_given_name, is_surname

if TYPE_CHECKING:
    from collections.abc import Iterator

_FLAGS = re.IGNORECASE
_WINDOW = 160  # characters read back from a conjunction
_MAX_ITEMS = 6  # list items read back from a conjunction

# The conjunction before a list's last item.
_CONJUNCTION = re.compile(r"(?:&|(?<![^ \t,])(?:and|aur|evam|और|एवं)(?=[ \t]))[ \t]*+", _FLAGS)
# What people do after being listed: come, join, visit, be there (English, Hinglish, Hindi), or a case marker.
_PEOPLE_VERBS = (
    r"come|coming|join|joining|visit|visiting|attend|attending|be[ \t]++(?:there|here|coming|present)|call|calling|"
    r"meet|meeting|stay|staying|reach|arrive|arriving|sign|signing|collect|pick|here|there|present|available|"
    r"already[ \t]++(?:here|there|paid)"
)
_LIST_PREDICATE = re.compile(
    rf"[ \t]++(?:(?:will|would|can|could|shall|should|are|were|both|all)(?:[ \t]++(?:not|also|both|all))?+"
    rf"[ \t]++(?:{_PEOPLE_VERBS})(?![ \t]++(?:out|up|with)(?!\w))|aayenge|aaenge|ayenge|aa[ \t]++rahe|"
    r"aa[ \t]++jayenge|jayenge|jaenge|milenge|honge|dono|आएंगे|आयेंगे|आ[ \t]++रहे|जाएंगे|मिलेंगे|होंगे|दोनों)(?!\w)",
    _FLAGS,
)
# What only people do after being listed: a list of words no lexicon holds needs one of these.
_PEOPLE_ONLY = re.compile(
    r"[ \t]++(?:(?:will|would|can|could|shall|should|are|were|both|all)(?:[ \t]++(?:not|also|both|all))?+[ \t]++"
    r"(?:join|joining|attend|attending|visit|visiting|meet|meeting|stay|staying|sign|signing|be[ \t]++present)"
    r"|ne|ji|ने|जी)(?!\w)",
    _FLAGS,
)
# A case marker or an honorific after a list: people only where the names look like names ("Ravi aur Sunita ko").
_LIST_MARKER = re.compile(r"[ \t]++(?:ne|ko|se|ka|ki|ke|ji|ने|को|से|का|की|के|जी)(?!\w)", _FLAGS)
# After one listed given name, the clause's verb: an auxiliary, a Hinglish future or a verb only people do.
_SUBJECT_PREDICATE = re.compile(
    r"[ \t]++(?:will|would|can|could|should|shall|has|had|is|was|did|does|cannot|can't|won't|didn't|hasn't|isn't|"
    r"wasn't|paid|came|left|joined|booked|visited|phoned|aayega|aayegi|aaega|aaegi|ayega|ayegi|aa[ \t]++raha|"
    r"aa[ \t]++rahi|jayega|jayegi|jaega|jaegi|karega|karegi|dega|degi|lega|legi|bolega|bolegi|bhejega|bhejegi|"
    r"आएगा|आएगी|आयेगा|आयेगी|करेगा|करेगी|देगा|देगी)(?!\w)",
    _FLAGS,
)
_AND_ME = re.compile(r"[ \t]++(?:and|aur|&)[ \t]++(?:i|me|myself|main|mai|hum|मैं|हम)(?!\w)", _FLAGS)
# Words the world's given-name lists share with places, months, things and brands' adjectives ("Royal Enfield
# Classic", "Crystal will be delivered").
_NOT_SUBJECTS = frozenset(
    {"india", "asia", "africa", "america", "china", "japan", "paris", "london", "sydney", "april", "may", "june",
     "july", "august", "march", "summer", "autumn", "winter", "sky", "river", "star", "sun", "moon", "rose",
     "lily", "jasmine", "ginger", "honey", "pepper", "candy", "apple", "mercedes", "porsche", "tesla", "alexa",
     "siri", "google", "amazon", "delta", "echo", "iris", "victoria", "jordan", "georgia", "virginia", "florida",
     "kerala", "goa", "royal", "crystal", "king", "prince", "princess", "queen", "golden", "silver", "diamond",
     "emerald", "liberty", "harmony", "bliss", "angel", "sterling"}
)  # fmt: skip
# "Priya K.", "Ravi S will call": a given name, then one capital letter that ends the name.
_GIVEN_INITIAL = re.compile(
    r"(?<![\w'’.-])([A-Z][a-z]++) ([B-HJ-Z])(?:\.|(?=[ \t]*+(?:$|[\n,;:!?)])|[ \t]++[a-z]))"
)
# "K. Tandimbe", "R.K. Ozirra": initials with their dots before a capitalized word.
_DOTTED_INITIALS = re.compile(r"(?<![\w.])(?:[A-Z]\.[ \t]?){1,3}+(?=[A-Z][a-z])")
_PREVIOUS_WORD = re.compile(rf"({TOKEN.pattern})[ \t]++\Z")
_TITLE_WORDS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "shri", "smt", "sri", "miss", "mister", "adv", "er"}
)
# A lower-case speaker prefix: one or two words at the start of a line, then a colon.
_LOWER_SPEAKER = re.compile(
    r"(?:^|(?<=\n))[ \t]*+([a-z]{3,}+(?: [a-z]{2,}+)?+):[ \t]++([a-z']++|\?)?", _FLAGS
)
# How a chat line opens: a question, an answer, a request.
_OPENERS = frozenset(
    {"can", "could", "is", "are", "do", "does", "did", "will", "when", "what", "how", "where", "why", "which",
     "pls", "plz", "please", "ok", "okay", "hi", "hii", "hello", "hey", "yes", "yeah", "no", "i", "i'm", "we",
     "sir", "bhai", "kya", "haan", "han", "nahi", "ji", "thanks", "thank", "send", "call", "share", "price",
     "any", "you", "my", "mera", "meri", "aap", "kal", "?"}
)  # fmt: skip
_NOT_AFTER_TITLE = STOP_WORDS | LABEL_WORDS | _TITLE_WORDS  # "Mr Mr", "Dr Customer Care"
# Lower-case words that head a chat line and are no one's name.
_LINE_HEADS = frozenset(
    {"query", "issue", "problem", "reason", "request", "doubt", "reply", "message", "msg", "user", "bot", "staff",
     "me", "you", "them", "fyi", "btw", "imp", "edit", "update", "urgent", "ques", "sol", "solution", "step"}
)  # fmt: skip
# English titles: a capitalized word after one is a surname even where it is also a word ("Mrs Hope").
_ENGLISH_TITLE = re.compile(r"(?<![\w.])(?:mr|mrs|ms|miss|dr|mister)\.?[ \t]++(?=(?-i:[A-Z][a-z]))", _FLAGS)


_CAPITALIZED = re.compile(r"[A-Z][a-z]++(?:-[A-Za-z]++)?+")
# Second words that make a shop, a place or a brand of a given name ("Priya Electronics", "Rajiv Chowk").
_PLACE_OR_SHOP = frozenset(
    {"electronics", "sweets", "hardware", "stores", "store", "motors", "textiles", "jewellers", "jewelers",
     "medicals", "medical", "bakery", "caterers", "tailors", "opticals", "pharmacy", "mart", "emporium", "palace",
     "mahal", "bhavan", "bhawan", "chowk", "gate", "bagh", "ganj", "pur", "puram", "vihar", "kunj", "marg",
     "hills", "lake", "beach", "bridge", "circle", "square", "junction", "fort", "ghat", "memorial", "stadium",
     "airport", "metro", "express", "travels", "tours", "foods", "dairy", "kitchen", "dhaba", "bhandar", "collection",
     "fashion", "fashions", "boutique", "salon", "academy", "classes", "institute", "foundation", "trust",
     "builders", "constructions", "infra", "realtors", "properties", "associates", "brothers", "sons"}
)  # fmt: skip


# Devanagari titles and labels that take a name with no separator: "मरीज़ रामप्रसाद यादव, उम्र 60", "श्रीमती कमला".
_DEVANAGARI_TITLE = re.compile(
    r"(?<![\u0900-\u097F])(?:मरीज़|मरीज|रोगी|श्रीमती|श्री|सुश्री|कुमारी|डॉक्टर|डॉ\.?|डा\.|स्व\.)[ \t]++"
)
# Where a name after such a title ends: a mark, the line, a case marker or "जी".
_DEVANAGARI_END = re.compile(r"[ \t]*+(?:[,.!?;:|।\n)]|\Z|(?:का|की|के|को|से|ने|जी)(?![\u0900-\u097F]))")
# Words after such a title that are no name: gods, verbs, function words.
_NOT_DEVANAGARI_NAMES = frozenset(
    {"राम", "कृष्ण", "गणेश", "हनुमान", "शिव", "साईं", "लक्ष्मी", "दुर्गा", "गणपति", "है", "हैं", "था", "थी", "का", "की",
     "के", "को", "से", "ने", "में", "पर", "और", "जी", "नाम", "यह", "वह", "ये", "वो", "भी", "तो", "ही", "आप", "हम",
     "मैं", "नहीं", "कल", "आज", "अभी", "ठीक", "बहुत", "अच्छा"}
)  # fmt: skip
# Hinglish function words: a message with one is not read against the English list.
_HINGLISH = re.compile(
    r"(?<![a-z])(?:hai|hain|ka|ki|ke|ko|se|ne|pe|mein|aur|bhi|kya|nahi|nahin|kar|karo|karna|dena|hua|tha|"
    r"thi|wala|wali|wale|ji|bhai|haan|toh|tak|baje|jaana|hoga|raha|rahi|rahe|abhi|jaldi|batao|chahiye|kitna|"
    r"kitne|mera|meri|mere|aap|aapka|mujhe|yeh|woh|kab|kaise|kahan|lekin|accha|achha|theek)(?![a-z])",
    re.IGNORECASE,
)
_SPOKEN_MARKS = frozenset({"dot", "underscore", "dash", "hyphen", "slash", "point", "at", "the", "rate"})
_LOWER_TOKEN = re.compile(r"(?<![\w'’.@-])[a-z]++(?![\w'’@-]|\.[a-z])")


def _name_word(word: str) -> bool:
    """A lower-case word that can be part of a name: plain, no English ending, not a spoken "dot" or "at"."""
    return len(word) >= 2 and word not in _SPOKEN_MARKS and is_plain_word(word) and not english_form(word)


def _given(word: str) -> bool:
    """A listed given name that is not also a place, a month or a brand's word ("India", "May", "Royal")."""
    low = word.lower()
    return (
        low not in _NOT_SUBJECTS and is_plain_word(word) and (is_given_name(low) or is_world_given_name(low))
    )


def _cased(word: str) -> bool:
    """Capitalized (Latin) or Devanagari and listed: how a name looks in a list of names."""
    if word.isascii():
        return word[:1].isupper() and not word.isupper()
    return is_listed(word)


class BareNameDetector:
    """Names by their own shape: bare lists, listed given names as a clause's subject, surname initials,
    lower-case speaker prefixes, capitalized words after an English title."""

    type = EntityType.PERSON

    def __init__(self) -> None:
        english_words()  # the English list loads with the detectors, not on the first message

    def find(self, text: str) -> Iterator[Span]:
        tokens = list(TOKEN.finditer(text))
        yield from self._lists(text)
        yield from self._subjects(text, tokens)
        if "." in text or " " in text:
            yield from self._initials(text)
        if ":" in text:
            yield from self._speakers(text)
        yield from self._titled(text)
        yield from self._capitalized_runs(text, tokens)
        lower = list(_LOWER_TOKEN.finditer(text))
        yield from self._lower_case_full_names(text, lower)
        yield from self._lower_case_world_names(text, lower)
        yield from self._signature(text)
        if not text.isascii():
            yield from self._devanagari_titled(text)

    def _span(self, start: int, end: int, text: str) -> Span:
        return Span(start, end, self.type, " ".join(text[start:end].lower().split()))

    # --- lists ------------------------------------------------------------------------------------------------

    def _lists(self, text: str) -> Iterator[Span]:
        seen: set[tuple[int, int]] = set()
        for m in _CONJUNCTION.finditer(text):
            right = self._item_after(text, m.end())
            left = self._items_before(text, m.start())
            if right is None or not left:
                continue
            items = [*left, right]
            words = [text[s:e].split()[0] for s, e in items]
            cased = all(_cased(w) for w in words)
            given = sum(1 for w in words if _given(w))
            said = _LIST_PREDICATE.match(text, right[1]) is not None
            marked = said or _LIST_MARKER.match(text, right[1]) is not None
            devanagari = not any(w.isascii() for w in words)
            listed = any(is_listed(w) for w in words)
            people = _PEOPLE_ONLY.match(text, right[1]) is not None
            if (
                # "Quorvel, Tandimbe and Ozirra are joining": no word listed, a verb only people do; "Bread,
                # Butter and Jam will come" is an order
                # all given names, or most of three or more ("Amit and Co", "Indians and Royal Challengers" are
                # firms and teams unless something after them says people)
                (
                    cased
                    and (
                        given == len(items) or (2 * given >= len(items) > 2) or (listed and marked) or people
                    )
                )
                or (devanagari and said)  # "राम, सीता और लक्ष्मण आएंगे": no case to go by, only the verb
                or (
                    given == len(items) and said
                )  # "ravi, sunita aur manoj aayenge", not "deepak aur diya ka set"
            ):
                for start, end in items:
                    if (start, end) not in seen:
                        seen.add((start, end))
                        yield self._span(start, end, text)

    @staticmethod
    def _item_after(text: str, position: int) -> tuple[int, int] | None:
        """One name word, and a second one or an initial that goes with it ("Chen Wei", "Sunita M")."""
        first = TOKEN.match(text, position)
        if first is None or not is_plain_word(first.group()):
            return None
        end = first.end()
        second = TOKEN.match(text, end + 1) if text[end : end + 1] == " " else None
        initial = second is not None and len(second.group()) == 1 and second.group() not in "AI"
        if (
            second is not None
            and _cased(first.group())
            and _cased(second.group())
            and (is_plain_word(second.group()) or initial)
        ):
            end = second.end()
        return first.start(), end

    @staticmethod
    def _items_before(text: str, end: int) -> list[tuple[int, int]]:
        """List items ending at `end`, read back over ", " separators: at most `_MAX_ITEMS` in `_WINDOW`."""
        tokens = [t for t in TOKEN.finditer(text, max(0, end - _WINDOW), end) if t.end() <= end]
        items: list[tuple[int, int]] = []
        cursor = end
        while tokens and len(items) < _MAX_ITEMS:
            last = tokens.pop()
            gap = text[last.end() : cursor].strip(" \t")
            word = last.group()
            initial = len(word) == 1 and word.isupper() and word not in "AI"
            if gap not in ((",",) if items else ("", ",")) or not (is_plain_word(word) or initial):
                break
            start = last.start()
            previous = tokens[-1] if tokens else None
            if (  # "Chen Wei", "Ravi K": two words make one item when both look like name words
                previous is not None
                and text[previous.end() : start] == " "
                and _cased(previous.group())
                and is_plain_word(previous.group())
                and (_cased(word) or initial)
            ):
                start = tokens.pop().start()
            elif initial:  # an initial needs a name before it
                break
            items.append((start, last.end()))
            cursor = start
        items.reverse()
        return items

    # --- one given name as the subject -----------------------------------------------------------------------

    def _subjects(self, text: str, tokens: list[re.Match[str]]) -> Iterator[Span]:
        for t in tokens:
            word = t.group()
            if not _cased(word) or not _given(word):
                continue
            if _SUBJECT_PREDICATE.match(text, t.end()) or _AND_ME.match(text, t.end()):
                yield self._span(t.start(), t.end(), text)

    # --- initials -------------------------------------------------------------------------------------------

    def _initials(self, text: str) -> Iterator[Span]:
        for m in _GIVEN_INITIAL.finditer(text):
            if _given(m.group(1)):
                end = m.end()
                surname = TOKEN.match(text, end + 1) if text[end - 1 : end + 1] == ". " else None
                if surname is not None and _cased(surname.group()) and is_plain_word(surname.group()):
                    end = surname.end()  # "Priya K. Sharma"
                yield self._span(m.start(), end, text)
        for m in _DOTTED_INITIALS.finditer(text):
            surname = TOKEN.match(text, m.end())
            if surname is None or not is_plain_word(surname.group()):
                continue
            # "Plan B. Then", "Tower A. Please": an initial after a capitalized word is a label's letter.
            before = _PREVIOUS_WORD.search(text, max(0, m.start() - 40), m.start())
            if before is None or before.group(1).islower() or before.group(1).lower() in _TITLE_WORDS:
                yield self._span(m.start(), surname.end(), text)

    # --- lower-case speakers --------------------------------------------------------------------------------

    def _speakers(self, text: str) -> Iterator[Span]:
        found = list(_LOWER_SPEAKER.finditer(text))
        chat = len(found) > 1
        for m in found:
            words = m.group(1).split()
            plain = all(is_plain_word(w) and not english_form(w) and w not in _LINE_HEADS for w in words)
            opens = m.group(2) is not None and m.group(2).lower() in _OPENERS
            if m.group(1).islower() and plain and (chat or opens):
                yield self._span(m.start(1), m.end(1), text)

    # --- titles ---------------------------------------------------------------------------------------------

    def _titled(self, text: str) -> Iterator[Span]:
        for m in _ENGLISH_TITLE.finditer(text) if "." in text or " " in text else ():
            word = TOKEN.match(text, m.end())
            if word is None or is_acronym_title(m.group()):  # "MS Excel", "DR Congo"
                continue
            low = word.group().lower()
            if low not in _NOT_AFTER_TITLE and not word.group().isupper():
                yield self._span(word.start(), word.end(), text)

    # --- pairs with one listed half -------------------------------------------------------------------------

    def _capitalized_runs(self, text: str, tokens: list[re.Match[str]]) -> Iterator[Span]:
        """Two or three capitalized plain words between words that are not, where the lists vouch for them."""
        run: list[re.Match[str]] = []
        for t in tokens:
            joined = bool(run) and text[run[-1].end() : t.start()] == " "
            if _CAPITALIZED.fullmatch(t.group()) and is_plain_word(t.group()):
                run = [*run, t][-4:] if joined else [t]
                continue
            if run and not (joined and t.group()[:1].isupper()):  # "Chidi Okafor Road" is a road
                yield from self._listed_run(text, run)
            run = []
        if run:
            yield from self._listed_run(text, run)

    def _listed_run(self, text: str, run: list[re.Match[str]]) -> Iterator[Span]:
        """Two or three words that the lists vouch for: a listed surname last ("add Chidi Okafor to the
        booking"), after a listed given name or an unlisted word; of three words, a listed given name first
        ("Ama Kofi Tandimbe"). Not a given name before one unlisted word: that is a brand or a shop as often
        ("Tommy Hilfiger", "Sona Masoori", "Priya Electronics")."""
        words = [m.group() for m in run]
        low = [w.lower() for w in words]
        if len(words) not in (2, 3) or not _PLACE_OR_SHOP.isdisjoint(low) or not DEITIES.isdisjoint(low):
            return
        first, last = words[0], words[-1]
        given = _given(first)
        if len(words) == 2:
            found = is_any_surname(last) and (given or not is_listed(first))
        else:
            found = is_any_surname(last) or given
        if found:
            yield self._span(run[0].start(), run[-1].end(), text)

    # --- lower-case full names ------------------------------------------------------------------------------

    def _lower_case_full_names(self, text: str, tokens: list[re.Match[str]]) -> Iterator[Span]:
        """A transcript's or a hurried chat's full name in lower case: a listed given name, at most one plain
        word, then a listed surname ("wanjiru kamau", "priya lakshmi iyer"); each of them a plain word (no
        common, label or city word, no English ending), so "deepak aur diya" and "jaana pan" stay words."""
        for i, t in enumerate(tokens):
            if i == 0 or not is_any_surname(t.group()) or not _name_word(t.group()):
                continue  # a surname ends the name: only there is anything read back
            run = [t]
            for before in (tokens[i - 1], tokens[i - 2] if i > 1 else None):
                if (
                    before is None
                    or text[before.end() : run[0].start()] != " "
                    or not _name_word(before.group())
                ):
                    break
                run.insert(0, before)
            first = next((m for m in run[:-1] if _given(m.group())), None)
            if first is not None:
                yield self._span(first.start(), t.end(), text)
            # An unlisted word before a surname of India's own list (short and curated: no English words):
            # "oindrila deshpande"; not a three-letter one, which is a Hindi word as often ("sirf das rupaye",
            # "ek pal"). Not a listed given name before an unlisted word: Indian given names are Hindi words
            # too ("bahut sundar saree", "suraj dhalne se pehle").
            elif (
                len(run) >= 2
                and len(run[-2].group()) >= 3
                and len(t.group()) >= 4
                and is_surname(t.group())
                and not is_listed(run[-2].group())
            ):
                yield self._span(run[-2].start(), t.end(), text)

    def _lower_case_world_names(self, text: str, tokens: list[re.Match[str]]) -> Iterator[Span]:
        """A given name of the world's lists, not India's (whose given names are Hindi words too), then an
        unlisted word, neither of them a frequent English word: "wanjiru okonkwo", not "grace period". Only in
        a message that reads as English: the English list knows no Hinglish ("sona chandi ke rate")."""
        if _HINGLISH.search(text):
            return
        for t, nxt in itertools.pairwise(tokens):
            given, other = t.group(), nxt.group()
            if (
                text[t.end() : nxt.start()] == " "
                and len(given) >= 3
                and len(other) >= 3
                and not is_given_name(given)
                and _given(given)
                and _name_word(given)
                and _name_word(other)
                and not is_listed(other)
                and not is_english_word(given)
                and not is_english_word(other)
            ):
                yield self._span(t.start(), nxt.end(), text)

    # --- a name that ends the message on its own ------------------------------------------------------------

    def _signature(self, text: str) -> Iterator[Span]:
        """A message signed with a name and no sign-off word: the last sentence or line is nothing but one to
        three capitalized plain words ("will send the cheque tomorrow. Quorvel Tandimbe"); one word only where
        a list holds it ("Thanks. Ozirra" needs "Ozirra" listed; "ok. Sunday" is no name)."""
        body = text.rstrip(" \t\n.!")
        cut = max(body.rfind(mark) for mark in ".!?\n")
        tail = body[cut + 1 :].strip(" \t")
        words = tail.split(" ")
        if cut < 0 or not 1 <= len(words) <= 3 or (len(words) == 1 and not is_listed(tail)):
            return
        if all(
            _CAPITALIZED.fullmatch(w) and is_plain_word(w) and w.lower() not in _PLACE_OR_SHOP for w in words
        ):
            start = body.index(tail, cut + 1)
            yield self._span(start, start + len(tail), text)

    # --- Devanagari titles ----------------------------------------------------------------------------------

    def _devanagari_titled(self, text: str) -> Iterator[Span]:
        """One or two Devanagari words after a title or a patient/customer label, up to where the name ends
        ("मरीज़ रामप्रसाद यादव, उम्र 60", "श्रीमती कमला को बुलाइए"); not a god ("श्री राम")."""
        for m in _DEVANAGARI_TITLE.finditer(text):
            words: list[re.Match[str]] = []
            for t in TOKEN.finditer(text, m.end()):
                gap = text[(words[-1].end() if words else m.end()) : t.start()]
                if (
                    len(words) == 2
                    or gap.strip(" \t")
                    or t.group().isascii()
                    or t.group() in _NOT_DEVANAGARI_NAMES
                ):
                    break
                words.append(t)
            while words and not _DEVANAGARI_END.match(text, words[-1].end()):
                words.pop()
            if words:
                yield self._span(words[0].start(), words[-1].end(), text)
