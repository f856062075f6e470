"""Person names by the frame around them, for names no lexicon holds (issue 17).

People put names in a few kinds of place, in any language: after a form label ("Naam:", "Lead:", "Name -",
"Patient"), after a relation ("register my mother …", "papa ka naam … hai", "मेरी माँ का नाम … है"), after a
greeting or an address form ("Hi …,", "ask for …"), before a colon as the speaker ("…: can you deliver"), after a
sign-off ("Best, …"). In such a frame, one to three words that look like a name are one: capitalized and not a
common word, or listed in the world lexicon (Faker's person providers, `data/world_*.txt`), or an initial ("G.").
Outside any frame, a listed given name before a listed surname, or initials before a listed surname, are a name.

Every pattern here is a fixed phrase or a possessive run; the words after a frame are read one token at a time,
at most a few per frame, so the work is linear in the text.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from pipelines.pii.common_words import LABEL_WORDS as _LABELS
from pipelines.pii.common_words import is_common_word
from pipelines.pii.entities import EntityType, Span
from pipelines.pii.names import DEITIES, STOP_WORDS, is_acronym_title, is_known_name_part, is_surname

if TYPE_CHECKING:
    from collections.abc import Iterator

_LETTER = r"(?:[^\W\d_]|[\u0900-\u0963\u0971-\u097F])"  # Devanagari vowel signs are not \w
TOKEN = re.compile(rf"{_LETTER}++(?:['’-]{_LETTER}++)*+")


@cache
def _world(name: str) -> frozenset[str]:
    text = resources.files("pipelines.pii").joinpath("data", name).read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_world_given_name(word: str) -> bool:
    return word.lower() in _world("world_given_names.txt")


def is_world_surname(word: str) -> bool:
    return word.lower() in _world("world_surnames.txt")


def is_listed(word: str) -> bool:
    return is_known_name_part(word) or is_world_given_name(word) or is_world_surname(word)


_CONTRACTIONS = frozenset({"m", "s", "re", "ve", "ll", "d", "t"})


def is_plain_word(word: str) -> bool:
    """Letters, not a common or label word, not a city ("hii Bengaluru mein …"), not an acronym ("PAN")."""
    low = word.lower().replace("’", "'")
    if low.rpartition("'")[2] in _CONTRACTIONS:  # "I'm", "it's", "don't"; not "D'Souza", "O'Brien"
        return False
    acronym = len(word) > 1 and word.isupper() and word.isascii()
    common = is_common_word(low) or low in _LABELS or low in STOP_WORDS or low in _world("cities.txt")
    return not acronym and not common


def looks_like_name(word: str) -> bool:
    """Looks like a name on its own: capitalized or listed (Devanagari: listed), and a plain word."""
    if not is_plain_word(word):
        return False
    return (word.isascii() and word[:1].isupper()) or is_listed(word)


def _title_case_runs_on(text: str, end: int) -> bool:
    """A capitalized common word right after one unlisted word: Title Case prose ("Dear Valued Customer", "Hi
    Quick Question On Pricing"), not a name ("Hi Regards Sunita I stay …" is one: "I" is too short to tell)."""
    nxt = TOKEN.match(text, end + 1) if text[end : end + 1] == " " else None
    if nxt is None or len(nxt.group()) < 3:
        return False
    return nxt.group()[:1].isupper() and not is_plain_word(nxt.group())


def is_any_surname(word: str) -> bool:
    return is_world_surname(word) or is_surname(word)


def _full(words: list[str]) -> bool:
    """A listed given name and a listed surname: the name is complete."""
    return len(words) == 2 and is_listed(words[0]) and is_any_surname(words[1])


def _loose(word: str) -> bool:
    """After a sure label ("Naam:", "papa ka naam"), any plain word of two letters or more."""
    return len(word) >= 2 and is_plain_word(word)


_FLAGS = re.IGNORECASE
# A field label then a separator: the value is the name, whatever its case.
_SURE_LABEL = re.compile(
    r"(?<![\w-])(?:full\s+name|naam|name|lead(?:\s+name)?|patient(?:\s+name)?|customer(?:\s+name)?|"
    r"client(?:\s+name)?|guest(?:\s+name)?|contact\s+(?:person|name)|applicant(?:\s+name)?|beneficiary|owner|"
    r"student(?:\s+name)?|passenger(?:\s+name)?|nominee|policy\s?holder|account\s+holder|attendee|candidate|"
    r"member|tenant|buyer|booked\s+by|sent\s+by|submitted\s+by|ordered\s+by|contact|co-applicant|spouse|guardian|"
    r"agent|broker|poc|doctor|consultant|visitor|driver|bride|groom|referred\s+by|assigned\s+to|"
    r"नाम|मरीज़?|मरीज)"
    r"[ \t]*+\*{0,2}+(?:[:=\-–|]\*{0,2}+[ \t]*+|\??\n[ \t]*+)",
    _FLAGS,
)
# "papa ka naam …", "meri beti ka naam … hai", "मेरी माँ का नाम … है": a possessive then "name".
_POSSESSIVE_NAME = re.compile(
    r"(?<!\w)(?:ka|ki|ke|uska|uski|unka|unki|iska|inka|aapka|apka|tumhara|tera)[ \t]++(?:naam|nam)[ \t]++"
    r"(?:hai[ \t]++)?|(?:का|की|के)[ \t]++नाम[ \t]++(?:है[ \t]++)?",
    _FLAGS,
)
# A label without a separator ("Patient Abebe Tesfaye", "booking under …"): only a name-like word.
_LABEL = re.compile(
    r"(?<![\w-])(?:name|patient|beneficiary|applicant|passenger|nominee|attendee|guest|policy\s?holder|"
    r"booking\s+under|booked\s+by|sent\s+by|signed\s+by|in\s+the\s+name\s+of|on\s+behalf\s+of|attention|attn|"
    r"(?:is|booked|booking|it)\s+under(?:\s+the\s+name(?:\s+of)?)?|under\s+the\s+name(?:\s+of)?)"
    r"[ \t]++(?:is[ \t]++|named[ \t]++|name[ \t]++)?",
    _FLAGS,
)
_RELATIVES = (
    r"mother|mom|mum|mummy|mummi|maa|mata|father|dad|daddy|papa|pitaji|wife|husband|son|daughter|brother|"
    r"sister|bro|sis|grandmother|grandma|grandfather|grandpa|granny|uncle|aunt|aunty|auntie|cousin|nephew|niece|"
    r"colleague|friend|boss|manager|tenant|client|guest|neighbour|neighbor|"
    r"fiance|fiancee|partner|maid|driver|landlord|beta|beti|bhai|bhaiya|behen|"
    r"didi|chacha|chachi|mama|mami|nana|nani|dada|dadi|sasur|saas|pati|patni|bhabhi|jiju|devar|nanad"
)
_RELATION = re.compile(
    rf"(?<!\w)(?:my|our|his|her|meri|mere|mera|hamari|hamare|apni|apne)[ \t]++(?:late[ \t]++|elder[ \t]++|"
    rf"younger[ \t]++|little[ \t]++|chhoti[ \t]++|chhota[ \t]++|badi[ \t]++|bada[ \t]++)?(?:{_RELATIVES})"
    r"(?:[ \t]*+,[ \t]*+|[ \t]++(?:is[ \t]++|named[ \t]++|called[ \t]++)?)"
    r"|(?:मेरी|मेरे|मेरा|हमारी|हमारे)[ \t]++"
    r"(?:माँ|मां|माता|पिता|पापा|पत्नी|पति|बेटा|बेटी|बेटे|भाई|बहन|दादी|दादा|नानी|नाना|दोस्त|सहेली)[ \t]++",
    _FLAGS,
)
# Greetings and address forms; the name follows.
_GREETING = re.compile(
    r"(?:^|(?<=[\n.!?]))[ \t]*+(?:hi++|hello|hey|dear|good[ \t]++(?:morning|afternoon|evening)|namaste|namaskar|"
    r"salaam|salam|hola|thanks|thank[ \t]++you|okay|ok|bye|नमस्ते|नमस्कार)(?![^\W\d_])[ \t]*+,?[ \t]*+",
    _FLAGS,
)
_ADDRESS_FORM = re.compile(
    r"(?<!\w)(?:ask[ \t]++for|speak[ \t]++(?:to|with)|talk[ \t]++(?:to|with)|attention[ \t]++of|"
    r"hand[ \t]++(?:it[ \t]++)?over[ \t]++to|collected[ \t]++by|pick(?:ed)?[ \t]++up[ \t]++by)[ \t]++",
    _FLAGS,
)
# Verbs and kin forms whose object is a person ("ask Tovrimba to send", "cc Ozirra", "Nashvari w/o Krovander").
_OBJECT = re.compile(
    r"(?<![\w/])(?:ask|tell|call|ring|meet|inform|remind|message|msg|ping|text|cc|bcc|named|referred[ \t]++by|"
    r"ref(?:erence)?[ \t]++by|introduced[ \t]++by|recommended[ \t]++by|reference[ \t]*+:)[ \t]++",
    _FLAGS,
)
# Titles before a name ("Adv. Quorvel Tandimbe", "Capt. Ozirra"); the short ones need their dot.
_TITLE = re.compile(
    r"(?<![\w.])(?:(?:mr|mrs|ms|mx|dr|prof|shri|shree|sri|smt|sushri|kumari|mister|janab|begum|late|sardar|"
    r"pandit|capt|captain|col|colonel|major|adv|advocate|doctor)\.?|(?:er|pt|sh|km|lt|maj|insp|rev|fr)\.)[ \t]++",
    _FLAGS,
)
# "my son's name is …", "her husband's name: …": sure, whatever the case.
_RELATIVE_NAME = re.compile(
    rf"(?<!\w)(?:my|our|his|her|their)[ \t]++(?:{_RELATIVES})['’]s[ \t]++name[ \t]*+(?:is[ \t]++|[:\-][ \t]*+)",
    _FLAGS,
)
# "main Ozirra hoon", "मैं Ozirra हूँ": the words between are the name.
_MAIN = re.compile(r"(?<!\w)(?:main|mai|मैं)[ \t]++", _FLAGS)
_HOON = re.compile(r"[ \t]++(?:hoon|hun|hu|hoo|हूँ|हूं|हु)(?!\w)", _FLAGS)
# Indian forms' kin: "S/o", "D/o", "W/o", "C/o", "son of": the value is a name, whatever its case.
_KIN_OF = re.compile(
    r"(?<![\w/])(?:[sdwc][ \t]*+/[ \t]*+o|(?:son|daughter|wife|husband)[ \t]++of)[ \t]*+[.:]?[ \t]*+", _FLAGS
)
# Header lines of a forwarded mail or note: "From: …", "To: …", "CC: …".
_HEADER = re.compile(r"(?:^|(?<=\n))[ \t]*+(?:from|to|cc|bcc|attn)[ \t]*+:[ \t]*+", _FLAGS)
# "@Quorvel please check": a mention.
_MENTION = re.compile(r"(?<![\w.@])@(?=[^\W\d_])")
# Words after a name that mark it as a person: honorifics ("Drevanti ji", "Tovrimba bhai"), Hinglish case
# markers before a verb of telling or giving ("Zembrani ko bolo", "Ozirra se baat", "Drevanti ne bheja"), and
# "'s" before a person's things ("Quorvel's number").
_CUE = re.compile(
    r"(?:[ \t]++(?:ji|jee|bhai|bhaiya|bhaiyya|bhaisahab|sir|madam|ma'am|maam|sahab|saheb|saab|sahib|didi|"
    r"bhabhi|aunty|uncle|garu|anna|akka|मैडम|भाई|भैया|दीदी|साहब)"
    r"|[ \t]++(?:ko|se|ne|को|से|ने)[ \t]++(?:bulaya|bulao|bula|bulana|बुलाओ|बुला|"
    r"bolo|bol|bolna|bata|batao|batana|bataya|call|phone|baat|bheja|bheji|"
    r"bhejo|bhej|bola|boli|kaha|diya|di|dena|do|de|milo|milna|mil|pucho|puchho|poocho|puchna|बोलो|बोल|बता|बताओ|"
    r"कॉल|फोन|फ़ोन|बात|भेजा|भेजी|बोला|बोली|कहा|दिया|दी|देना|मिलो|पूछो)"
    r"|[ \t]++(?:ka|ki|ke|का|की|के)[ \t]++(?:number|no|phone|mobile|contact|naam|"
    r"birthday|shaadi|wife|husband|beta|beti|नंबर|नाम|फोन)"
    r"|['’]s[ \t]++(?:number|phone|mobile|no|contact|address|email|mail|whatsapp|wife|husband|son|daughter|"
    r"mother|father|flat|house|birthday|dob))(?!\w)",
    _FLAGS,
)
_CUE_WORDS = frozenset(
    {"ji", "jee", "bhai", "bhaiya", "bhaiyya", "bhaisahab", "sir", "madam", "ma", "maam", "sahab", "saheb", "saab",
     "sahib", "didi", "bhabhi", "aunty", "uncle", "garu", "anna", "akka", "ko", "se", "ne", "s", "ka", "ki", "ke"}
)  # fmt: skip
# Verbs only people do, after a capitalized name: "Ozirra said she will pay", "Kasia Nowak called for a 3BHK".
_VERB_WORDS = frozenset(
    {"said", "says", "told", "asked", "replied", "mentioned", "messaged", "texted", "agreed", "wants", "wanted",
     "called", "promised", "complained", "requested", "booked", "paid", "ordered", "confirmed", "cancelled",
     "visited", "signed"}
)  # fmt: skip
_FIRM_BEFORE = re.compile(r"(?<!\w)(?:from|at|of|with)[ \t]++\Z", _FLAGS)  # a firm, not its people
_VERB_CUE = re.compile(rf"[ \t]++(?:{'|'.join(sorted(_VERB_WORDS))})(?!\w)")
# A list goes on: "with Kwame, Quorvel and Ozirra", "Quorvel aur Tandimbe".
_AND = re.compile(r"[ \t]*+(?:,|&|/)?[ \t]*+(?:(?:and|aur|or|evam|और)[ \t]++)?", _FLAGS)
_MAX_LISTED = 6  # names read on after one found: bounded work per name
# Whom a parcel is for: a place follows these as often as a person ("deliver to Andheri West"), so only a listed
# given name, or a capitalized word before a listed surname ("deliver to Oindrila Deshpande").
_RECIPIENT = re.compile(
    r"(?<!\w)(?:deliver(?:ed)?[ \t]++(?:it[ \t]++)?to|(?:order|parcel|booking|gift|bill)[ \t]++is[ \t]++for|"
    r"addressed[ \t]++to|parcel[ \t]++for|courier[ \t]++for|gift[ \t]++for|with|for)[ \t]++",
    _FLAGS,
)
# Introducing oneself: a listed name ("this is wei zhang"), or two capitalized words ("I am Sipho Dlamini").
_SELF = re.compile(r"(?<!\w)(?:this[ \t]++is|i[ \t]++am|i'm|im|myself|it's|its)[ \t]++", _FLAGS)
# A sign-off on its own, then the name that ends the message or its line.
_SIGN_OFF = re.compile(
    r"(?<!\w)(?:(?:best|warm|kind|many)[ \t]++regards|thanks[ \t]*+(?:&|and)[ \t]*+regards|regards|best|"
    r"cheers|sincerely|yours[ \t]++(?:truly|sincerely|faithfully)|signed|sent[ \t]++by|love|warmly)"
    r"[ \t]*+[,:\-]?[ \t]*+\n?[ \t]*+"
    r"|(?:^|(?<=\n))[ \t]*+(?:-|–|—|--)[ \t]*+",
    _FLAGS,
)
# Thanks on a line of its own: a name on the next, last line is the sender's, whatever its case.
_THANKS_LINE = re.compile(
    r"(?<!\w)(?:thanks|thx|thank[ \t]++you|dhanyavaad|shukriya)[ \t]*+[,.!]?[ \t]*+\n[ \t]*+", _FLAGS
)
# "Kwame Mensah: can you deliver by 6?": up to three words at the start of a line, then a colon.
_SPEAKER = re.compile(
    r"(?:^|(?<=\n))[ \t]*+(?:\[[\d:/,. apmAPM]{1,30}+\][ \t]*+|"
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}+,?[ \t]++\d{1,2}:\d{2}(?::\d{2})?+(?:[ \t]*+[apAP][mM])?+[ \t]*+-[ \t]*+)?+"
    rf"(?P<name>{_LETTER}++(?:[ .'’-]{{1,2}}{_LETTER}++){{0,2}}+):[ \t]",
    _FLAGS,
)
# "G. Garcia", "R. K. Lakshmanan"
_INITIALS = re.compile(r"(?<![\w.])(?:[A-Z]\.[ \t]?){1,3}+(?=[A-Z][a-z])")
# Two capitalized words (the world lexicons are Latin script); overlapping pairs are all seen ("Mr Ama Owusu").
_CAPITALIZED = r"[A-Z][a-z]++(?:['’-][A-Za-z]++)?+"
_CAPITALIZED_PAIR = re.compile(rf"(?<![\w'’-])(?=({_CAPITALIZED}) ({_CAPITALIZED})(?![\w'’-]))")
_ASCII_WORD = re.compile(r"[a-z]++")
_PARTICLES = ("al-", "el-", "bin-", "abu-", "abd-", "ul-")
_FIRST_WORDS: dict[re.Pattern[str], frozenset[str]] = {
    _SURE_LABEL: frozenset(
        {"full", "naam", "name", "lead", "patient", "customer", "client", "guest", "contact", "applicant",
         "beneficiary", "owner", "student", "passenger", "nominee", "policy", "policyholder", "account",
         "attendee", "candidate", "member", "tenant", "buyer", "booked", "sent", "submitted", "ordered",
         "co", "spouse", "guardian", "agent", "broker", "poc", "doctor", "consultant", "visitor", "driver",
         "bride", "groom", "referred", "assigned"}
    ),
    _POSSESSIVE_NAME: frozenset(
        {"ka", "ki", "ke", "uska", "uski", "unka", "unki", "iska", "inka", "aapka", "apka", "tumhara", "tera"}
    ),
    _LABEL: frozenset(
        {"patient", "beneficiary", "applicant", "passenger", "nominee", "attendee", "guest", "policy",
         "policyholder", "booking", "booked", "sent", "signed", "name", "behalf", "attention", "attn", "under"}
    ),
    _RELATION: frozenset({"my", "our", "his", "her", "meri", "mere", "mera", "hamari", "hamare", "apni", "apne"}),
    _GREETING: frozenset(
        {"hi", "hii", "hiii", "hiiii", "hello", "hey", "dear", "good", "namaste", "namaskar", "salaam", "salam",
         "hola", "thanks", "thank", "ok", "okay", "bye"}
    ),
    _RECIPIENT: frozenset({"deliver", "delivered", "is", "addressed", "parcel", "courier", "gift", "with", "for"}),
    _SELF: frozenset({"this", "i", "im", "myself", "it", "its"}),
    _ADDRESS_FORM: frozenset({"ask", "speak", "talk", "attention", "hand", "collected", "pick", "picked"}),
    _OBJECT: frozenset(
        {"ask", "tell", "call", "ring", "meet", "inform", "remind", "message", "msg", "ping", "text", "cc", "bcc",
         "named", "referred", "ref", "reference", "introduced", "recommended"}
    ),
    _KIN_OF: frozenset({"s", "d", "w", "c", "son", "daughter", "wife", "husband"}),
    _TITLE: frozenset(
        {"mr", "mrs", "ms", "mx", "dr", "prof", "shri", "shree", "sri", "smt", "sushri", "kumari", "mister", "janab",
         "begum", "late", "sardar", "pandit", "capt", "captain", "col", "colonel", "major", "adv", "advocate", "er",
         "pt", "sh", "km", "lt", "maj", "insp", "rev", "fr", "doctor"}
    ),
    _RELATIVE_NAME: frozenset({"my", "our", "his", "her", "their"}),
    _MAIN: frozenset({"main", "mai"}),
    _HEADER: frozenset({"from", "to", "cc", "bcc", "attn"}),
    _SIGN_OFF: frozenset(
        {"best", "warm", "kind", "many", "thanks", "thx", "thank", "dhanyavaad", "shukriya", "regards", "cheers",
         "sincerely", "yours", "signed", "sent",
         "love", "warmly"}
    ),
}  # fmt: skip
# Where a form field's value ends: the line, a field separator, or the "hai"/"है" that closes a Hindi frame.
_FIELD_END = re.compile(r"[ \t]*+(?:$|\n|[|,;.!/]|(?:hai|है)(?!\w))", re.IGNORECASE)
# A lower-case self-introduction goes on ("i am quorvel, need …", "this is ozirra from pune").
_SELF_CLAUSE = re.compile(r"[ \t]*+(?:,|(?:from|here|speaking)(?!\w))", re.IGNORECASE)
_SELF_END = re.compile(r"[ \t]*+(?:[.!,;]|$|\n|(?:from|here|speaking)(?!\w))", re.IGNORECASE)
_HONORIFIC_AFTER = re.compile(r"[ \t]++(?:जी|ji)(?!\w)", re.IGNORECASE)
_LINE_END = re.compile(r"[ \t]*+(?:[.!,;]|$|\n)")
# What follows a lower-case name and not an adjective or a noun: a case marker, "ji", "will", "this side".
_NAME_FOLLOWER = re.compile(r"[ \t]++(?:ka|ki|ke|ko|se|ne|ji|will|who|this[ \t]++side)(?!\w)", _FLAGS)
# English word endings: no list can hold every English word, but "bringing", "graduated", "lives" are not names.
_ENGLISH_ENDING = re.compile(
    r"(?:ing|ed|ly|tion|sion|ment|ness|able|ible|ous|ive|ful|less|ist|ism|ity|ance|ence|[^s]s)\Z"
)


def english_form(word: str) -> bool:
    """An unlisted lower-case word with an English ending (transcripts are where these frames read lower case)."""
    return not is_listed(word) and bool(_ENGLISH_ENDING.search(word))


_MESSAGE_END = re.compile(r"[ \t.!]*+\Z")
_LOWER_WORD = re.compile(r" ([a-z]{3,}+)(?![\w'’-])")


class FramedPersonDetector:
    """Names in frames (labels, relations, greetings, address forms, speaker prefixes, sign-offs), initials
    before a surname, and listed world given-name + surname pairs."""

    type = EntityType.PERSON

    def find(self, text: str) -> Iterator[Span]:
        seen: set[tuple[int, int]] = set()
        for first in self._spans(text):
            for span in (first, *self._list_goes_on(text, first)):
                if (span.start, span.end) not in seen:
                    seen.add((span.start, span.end))
                    yield span

    def _list_goes_on(self, text: str, span: Span) -> Iterator[Span]:
        """Names listed after a found one: "with Kwame, Quorvel and Ozirra". After a comma alone the next
        must be listed or be followed by the list's next separator ("Hi Quennavi, Please …" is no list)."""
        cursor = span.end
        for _ in range(_MAX_LISTED):
            sep = _AND.match(text, cursor)
            joined = sep is not None and sep.end() > cursor and sep.group().strip() not in ("", "/")
            found = (
                self._words(text, sep.end(), loose=False, fill=False) if sep is not None and joined else None
            )
            if sep is None or found is None:
                return
            start, end, words = found
            conjunction = sep.group().strip(" \t,&/") != "" or "&" in sep.group()
            after = _AND.match(text, end)
            listed_on = (after is not None and after.end() > end and after.group().strip() != "") or bool(
                _LINE_END.match(text, end)
            )
            cased = text[start].isupper() or not text[start].isascii()  # "Rohan Bansal, pooja ke liye …"
            if not (conjunction or (cased and (is_listed(words[0]) or listed_on))):
                return
            yield Span(start, end, self.type, " ".join(words))
            cursor = end

    def _spans(self, text: str) -> Iterator[Span]:
        # A frame's pattern runs only where its first word is in the text (any Devanagari: every pattern).
        words = None if not text.isascii() else frozenset(_ASCII_WORD.findall(text.lower()))

        def present(pattern: re.Pattern[str]) -> bool:
            return words is None or not words.isdisjoint(_FIRST_WORDS[pattern])

        for pattern in (_SURE_LABEL, _POSSESSIVE_NAME, _KIN_OF, _RELATIVE_NAME):
            for m in pattern.finditer(text) if present(pattern) else ():
                yield from self._name(text, m.end(), loose=True)
        for pattern in (_LABEL, _RELATION, _ADDRESS_FORM, _OBJECT, _HEADER, _TITLE):
            for m in pattern.finditer(text) if present(pattern) else ():
                if pattern is _TITLE and is_acronym_title(m.group()):
                    continue  # "MS Excel", "DR Congo": an acronym, not a title
                # "Jay Shree Krishna": a god after a title
                framed = [f for f in self._name(text, m.end(), loose=False) if f.value not in DEITIES]
                yield from framed or self._lower_case(text, m.end())
        for m in _RECIPIENT.finditer(text) if present(_RECIPIENT) else ():
            found = self._words(text, m.end(), loose=False, fill=False)
            if found is not None and (
                is_listed(found[2][0]) or (len(found[2]) > 1 and is_any_surname(found[2][-1]))
            ):
                yield Span(found[0], found[1], self.type, " ".join(found[2]))
        for m in _SELF.finditer(text) if present(_SELF) else ():
            found = self._words(text, m.end(), loose=False, fill=False)
            # One unlisted capitalized word only where the clause ends or goes on to where from ("It's
            # Chandrakant from yesterday's call", "I am Chandrakant, pay to …").
            if found is None:  # "i am quorvel, need 2bhk": a plain lower-case word that ends the clause
                found = self._words(text, m.end(), loose=True, fill=False)
                one = found is not None and len(found[2]) == 1 and len(found[2][0]) >= 3
                found = found if found is not None and one and not english_form(found[2][0]) else None
                if found is None or not _SELF_CLAUSE.match(text, found[1]):
                    # "this is quorvel tandimbe calling": two plain words
                    yield from (span for span in self._lower_case(text, m.end()) if " " in span.value)
                    continue
            if is_listed(found[2][0]) or len(found[2]) > 1 or _SELF_END.match(text, found[1]):
                yield Span(found[0], found[1], self.type, " ".join(found[2]))
        for m in _MAIN.finditer(text) if present(_MAIN) else ():
            found = self._words(text, m.end(), loose=True, fill=True)
            if found is not None and len(found[2]) < 3 and _HOON.match(text, found[1]):
                yield Span(found[0], found[1], self.type, " ".join(found[2]))
        for m in _MENTION.finditer(text) if "@" in text else ():
            yield from self._name(text, m.end(), loose=False)
        if words is None or not words.isdisjoint(_CUE_WORDS):
            for m in _CUE.finditer(text):
                span = self._before(text, m.start())
                # "Ganesh ji ki murti" is about the god
                if span is not None and not (
                    m.group().split()[0].lower() in ("ji", "jee") and span.value in DEITIES
                ):
                    yield span
        for m in _VERB_CUE.finditer(text) if words is None or not words.isdisjoint(_VERB_WORDS) else ():
            span = self._before(text, m.start())
            # "Ozirra said", not "everyone said", nor the firm in "Mr Sharma from Lodha called"
            if (
                span is not None
                and text[span.start].isupper()
                and not _FIRM_BEFORE.search(text, 0, span.start)
            ):
                yield span
        for m in _GREETING.finditer(text) if present(_GREETING) else ():
            # "hii sagar wala print", "hii asha hai": a lower-case word after a greeting is a name only where
            # it ends the clause ("hi siobhan, sending the docs").
            found = self._words(text, m.end(), loose=True, fill=False)
            if found is None:
                continue
            start, end, names = found
            head = text[start:end].split()[0]
            # "नमस्ते जी": a Devanagari word is a name when listed, or when "जी" follows it ("नमस्ते रुखसाना जी").
            if not head.isascii() and not (is_listed(head) or _HONORIFIC_AFTER.match(text, end)):
                continue
            closed = (_LINE_END.match(text, end) or _HONORIFIC_AFTER.match(text, end)) and not (
                head.islower() and english_form(head)  # "ok noted.", "hi checking."
            )
            if not closed and "," not in text[m.start() : start] and self._thing_named(text, end, names):
                continue
            if (text[start].isupper() and looks_like_name(head)) or closed:
                yield Span(start, end, self.type, " ".join(names))
        dash = "-" in text or "–" in text or "—" in text
        for m in _SIGN_OFF.finditer(text) if dash or present(_SIGN_OFF) else ():
            yield from self._last_line(text, m)
            # The name ends the line, unless it is listed ("regards naveen alternate number …").
            for span in self._name(text, m.end(), loose=False):
                if _LINE_END.match(text, span.end) or (
                    m.group()[:1].isalpha() and is_listed(span.value.split()[0])
                ):
                    yield span
        for m in _THANKS_LINE.finditer(text) if "\n" in text and present(_SIGN_OFF) else ():
            yield from self._last_line(text, m)
        for m in _SPEAKER.finditer(text) if ":" in text else ():
            names = TOKEN.findall(m.group("name"))
            if all(looks_like_name(w) for w in names) and any(w[:1].isupper() or is_listed(w) for w in names):
                yield Span(m.start("name"), m.end("name"), self.type, " ".join(w.lower() for w in names))
        if text != text.lower():  # both need a capital letter
            if "." in text:
                yield from self._initials(text)
            yield from self._pairs(text)

    def _name(self, text: str, position: int, *, loose: bool) -> Iterator[Span]:
        """One to three name words from `position` (initials count as words); nothing if the first fails.

        After the first word only name-like words continue the name ("Name - Geeta Gill vehicle no …"), and a
        listed surname after a listed given name ends it ("Name - Deepak Kulkarni Kiran lamp …"); after a sure
        label (`loose`), plain words continue it too where they fill the field to its end ("naam: quorvel
        tandimbe", "papa ka naam krovander zelmet hai")."""
        strict = self._words(text, position, loose=loose, fill=False)
        if loose:
            filled = self._words(text, position, loose=True, fill=True)
            if (
                filled is not None
                and (strict is None or filled[1] > strict[1])
                and _FIELD_END.match(text, filled[1])
            ):
                strict = filled
        if strict is not None:
            start, end, words = strict
            yield Span(start, end, self.type, " ".join(words))

    def _words(
        self, text: str, position: int, *, loose: bool, fill: bool
    ) -> tuple[int, int, list[str]] | None:
        start = end = -1
        words: list[str] = []
        cursor = position
        initials = _INITIALS.match(text, cursor)
        if initials is not None:
            start, cursor = initials.start(), initials.end()
            words.append(initials.group().replace(" ", "").lower())
        for m in TOKEN.finditer(text, cursor):
            gap = text[cursor : m.start()]
            if len(words) == 3 or (gap and (not gap.isspace() or "\n" in gap)):
                break
            word = m.group()
            if not words and not (_loose(word) if loose else looks_like_name(word)):
                break
            if words and not (_loose(word) if fill else (looks_like_name(word) and not _full(words))):
                break
            if start < 0:
                start = m.start()
            end, cursor = m.end(), m.end()
            words.append(word.lower())
        if (
            end > start >= 0
            and any(not w.endswith(".") for w in words)
            and not (len(words) == 1 and not is_listed(words[0]) and _title_case_runs_on(text, end))
        ):
            return start, end, words
        return None

    @staticmethod
    def _thing_named(text: str, end: int, names: list[str]) -> bool:
        """ "Hi Kiran lamp in 9 watt", "Hey Sunny side up egg tray": a greeting, no comma, then a one-word name
        with a lower-case noun after it is a product asked about, not a person greeted."""
        after = _LOWER_WORD.match(text, end)
        noun = after.group(1) if after is not None else ""
        return len(names) == 1 and noun not in STOP_WORDS and noun not in _CUE_WORDS and noun != ""

    def _lower_case(self, text: str, position: int) -> Iterator[Span]:
        """A transcript in lower case ("please register my mother ozirra velkhani for the camp"): after a frame,
        two plain words, or one that a clause word follows ("my wife ozirra will come", "mere husband quorvel
        ka number"); three plain words in a row are prose, not a name."""
        found = self._words(text, position, loose=True, fill=True)
        if found is None or not text[found[0]].islower() or len(found[2]) == 3 or len(found[2][0]) < 3:
            return
        if any(english_form(w) for w in found[2]):
            return
        if len(found[2]) == 2 or _NAME_FOLLOWER.match(text, found[1]):
            yield Span(found[0], found[1], self.type, " ".join(found[2]))

    def _last_line(self, text: str, sign_off: re.Match[str]) -> Iterator[Span]:
        """After a sign-off that ends its line, plain words in any case that fill the message's last line
        ("Regards,\nquorvel tandimbe")."""
        if "\n" not in sign_off.group() and "," not in sign_off.group():
            return
        found = self._words(text, sign_off.end(), loose=True, fill=True)
        if found is not None and _MESSAGE_END.match(text, found[1]):
            yield Span(found[0], found[1], self.type, " ".join(found[2]))

    def _before(self, text: str, end: int) -> Span | None:
        """One or two name-like words ending at `end`, read from a bounded window before it."""
        tokens = [m for m in TOKEN.finditer(text, max(0, end - 60), end) if m.end() <= end]
        if not tokens or tokens[-1].end() != end:
            return None
        last = tokens[-1].group()
        if not looks_like_name(last):
            return None
        start = tokens[-1].start()
        previous = tokens[-2].group() if len(tokens) > 1 else ""
        if (
            previous
            and text[tokens[-2].end() : start] == " "
            and previous[:1].isupper()
            and last[:1].isupper()
            and looks_like_name(previous)
        ):
            start = tokens[-2].start()
        return Span(start, end, self.type, " ".join(text[start:end].lower().split()))

    def _initials(self, text: str) -> Iterator[Span]:
        for m in _INITIALS.finditer(text):
            surname = TOKEN.match(text, m.end())
            if surname is not None and is_plain_word(surname.group()) and is_listed(surname.group()):
                value = f"{m.group().replace(' ', '').lower()} {surname.group().lower()}"
                yield Span(m.start(), surname.end(), self.type, value)

    def _pairs(self, text: str) -> Iterator[Span]:
        """A listed world given name right before a listed world surname, both capitalized (in lower case, Hinglish
        words collide with the world's names: "jaana pan")."""
        for m in _CAPITALIZED_PAIR.finditer(text):
            first, second = m.group(1), m.group(2)
            if not (is_plain_word(first) and is_plain_word(second)):
                continue
            # "Mohammed Al-Rashid": a surname with an Arabic particle. (An Indian given name before any capitalized
            # word is a shop as often as a person: "Priya Electronics", "Suraj Hardware".)
            particle = second.lower().startswith(_PARTICLES) and is_world_given_name(first)
            if (is_world_given_name(first) and is_world_surname(second)) or particle:
                yield Span(m.start(1), m.end(2), self.type, f"{first.lower()} {second.lower()}")
