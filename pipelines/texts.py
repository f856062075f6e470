"""Every fixed text a customer reads or hears, per language: English and Hindi built in, a tenant's on top.

One `Texts` per language (one field per text), so chat and calls read the same catalogue by attribute, never
by string key. No model writes these: they are what the person gets when the model is not asked (a fallback,
a consent confirmation, the AI disclosure) or must not improvise (the handoff line). `{business}` is the only
placeholder; it is replaced by the tenant's name where a text is sent.

A `Catalogue` is one business's texts: the built-in languages, the tenant's overrides (tenant.yaml `texts:`,
validated in `agent/tenants/texts.py`) over them. A lookup by language falls back to the business's default
language, then English, so every lookup returns a complete set.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pipelines.audio import AudioProblem
from pipelines.consent import Intent
from pipelines.language import reply_language

if TYPE_CHECKING:
    from collections.abc import Mapping

BUSINESS = "{business}"


@dataclass(frozen=True, slots=True)
class CallTexts:
    """What a call says without the LLM (spoken: "say: talk to a person", never "reply HUMAN")."""

    greeting: str  # the AI disclosure: the ledger records it as said
    apology: str  # the LLM failed: sorry, and a call back
    goodbye: str
    busy: str  # the worker is draining
    withheld: str  # consent forbids the AI to answer
    way_back: str  # the caller stopped us earlier: only their "start" opens the call
    recording_question: str
    recording_yes: str
    recording_no: str
    confirmations: Mapping[Intent, str]

    def for_business(self, name: str) -> CallTexts:
        """These texts with `{business}` replaced by `name`."""
        said = {f.name: getattr(self, f.name).replace(BUSINESS, name) for f in _fields(CallTexts)}
        confirmations = {i: t.replace(BUSINESS, name) for i, t in self.confirmations.items()}
        return CallTexts(**said, confirmations=MappingProxyType(confirmations))


@dataclass(frozen=True, slots=True)
class Texts:
    """Every customer-facing text in one language."""

    language: str
    not_understood: str  # a voice note heard but not understood
    audio_too_long: str
    audio_unreadable: str
    unavailable: str  # the LLM (or the PII guard) failed: no model-written answer
    refused: str  # the model was talked into repeating its instructions
    unsupported: str  # a message type we cannot read (image, sticker, location, …)
    handoff: str  # what the handoff tool tells the model to pass on
    disclosure: str  # the AI disclosure before a first reply in chat
    confirmations: Mapping[Intent, str]  # consent keywords answered in chat
    call: CallTexts

    def for_audio(self, problem: AudioProblem) -> str:
        if problem in (AudioProblem.TOO_LONG, AudioProblem.TOO_LARGE):
            return self.audio_too_long
        if problem is AudioProblem.SILENT:
            return self.not_understood
        return self.audio_unreadable

    def over(self, changes: Mapping[str, Any]) -> Texts:
        """These texts with `changes` (field → text; `confirmations` and `call` merged, not replaced)."""
        confirmations = dict(self.confirmations) | dict(changes.get("confirmations", {}))
        call_changes = dict(changes.get("call", {}))
        call = replace(
            self.call,
            **{k: v for k, v in call_changes.items() if k != "confirmations"},
            confirmations=MappingProxyType(
                dict(self.call.confirmations) | dict(call_changes.get("confirmations", {}))
            ),
        )
        plain = {k: v for k, v in changes.items() if k not in ("confirmations", "call")}
        return replace(self, **plain, confirmations=MappingProxyType(confirmations), call=call)


def _fields(cls: type) -> list[Any]:
    """A dataclass's text fields (not its mappings, nested texts or language)."""
    return [f for f in fields(cls) if f.type == "str" and f.name != "language"]


TEXT_FIELDS = tuple(f.name for f in _fields(Texts))
CALL_TEXT_FIELDS = tuple(f.name for f in _fields(CallTexts))

_DATA_HOW_EN = "To get a copy of your data send 'what data do you have'; to erase it send 'delete my data'."
_DATA_HOW_HI = "अपने डेटा की कॉपी के लिए 'mera data bhejo' लिखें; उसे मिटाने के लिए 'mera data mita do' लिखें।"

ENGLISH = Texts(
    language="en",
    not_understood="Sorry, I couldn't make out that voice note. Could you say it again, or type your question?",
    audio_too_long="That voice note is too long for me. Could you send a shorter one, or type your question?",
    audio_unreadable="Sorry, I couldn't play that audio. Could you send it again, or type your question?",
    unavailable="Sorry, I can't answer right now. Please try again in a few minutes.",
    refused="Sorry, I can't share that. I'm happy to help with questions about our products and services.",
    unsupported="Sorry, I can only read text messages and listen to voice notes. Could you send your question "
    "that way?",
    handoff="A person from the team has been asked to take over and will reply here.",
    disclosure="You're chatting with {business}'s automated AI assistant, not a person. Reply HUMAN to reach "
    "our team, or STOP to stop messages.",
    confirmations=MappingProxyType({
        Intent.OPT_OUT: "Done: {business} will send you no more messages. Send START to talk to us again. "
        + _DATA_HOW_EN,
        Intent.OPT_IN: "Welcome back: {business} will answer your messages again. Send STOP at any time to "
        "stop. " + _DATA_HOW_EN,
        Intent.HUMAN: "A person from {business} will take over this chat; the AI assistant stops answering. "
        + _DATA_HOW_EN,
        Intent.DELETE_DATA: "We have stopped processing your data and will erase it within 30 days; {business} "
        "keeps only a record that you asked, without content. You will get no marketing messages.",
        Intent.ACCESS_DATA: "We have recorded your request: {business} will send you a copy of your data within "
        "30 days. Your messages keep being answered. To erase your data send 'delete my data'.",
    }),
    call=CallTexts(
        greeting="Hello! You are speaking with the AI assistant of {business}, not a person. "
        "To reach our team, say: talk to a person. How can I help you?",
        apology="Sorry, I can't answer that right now. I'll ask someone to call you back shortly. "
        "Is that all right?",
        goodbye="Thank you for calling. Goodbye!",
        busy="Sorry, we are about to end this call. Please call again in a moment. Goodbye!",
        withheld="Sorry, we can't take your call here. Goodbye!",
        way_back="You asked us earlier not to contact you. If you want to talk with us now, say: start. "
        "Otherwise, goodbye.",
        recording_question="We would like to record this call. Is that all right? Please say yes or no.",
        recording_yes="Thank you, this call is recorded. How can I help you?",
        recording_no="All right, this call is not recorded. How can I help you?",
        confirmations=MappingProxyType({
            Intent.OPT_OUT: "Understood. We will not contact you again. Goodbye!",
            Intent.OPT_IN: "Welcome back. How can I help you?",
            Intent.HUMAN: "Of course. A person from our team will call you back shortly. Goodbye!",
            Intent.DELETE_DATA: "We have stopped using your data and will erase it within thirty days. Goodbye!",
            Intent.ACCESS_DATA: "We have noted your request and will send you a copy of your data within "
            "thirty days. Is there anything else?",
        }),
    ),
)  # fmt: skip

HINDI = Texts(
    language="hi",
    not_understood="माफ़ कीजिए, मैं यह वॉइस नोट ठीक से समझ नहीं पाया। क्या आप अपना सवाल लिखकर भेज सकते हैं, "
    "या हमें फ़ोन कर सकते हैं?",
    audio_too_long="यह वॉइस नोट मेरे लिए बहुत लंबा है। क्या आप छोटा वॉइस नोट भेज सकते हैं, या अपना सवाल "
    "लिखकर भेज सकते हैं?",
    audio_unreadable="माफ़ कीजिए, यह ऑडियो मुझसे चल नहीं पाया। क्या आप इसे दोबारा भेज सकते हैं, या अपना सवाल "
    "लिखकर भेज सकते हैं?",
    unavailable="माफ़ कीजिए, मैं अभी जवाब नहीं दे पा रहा हूँ। कृपया कुछ मिनट बाद फिर से कोशिश करें।",
    refused="माफ़ कीजिए, यह जानकारी मैं नहीं दे सकता। हमारे प्रोडक्ट और सेवाओं के बारे में कोई भी सवाल हो, "
    "तो ज़रूर पूछिए।",
    unsupported="माफ़ कीजिए, मैं सिर्फ़ टेक्स्ट मैसेज पढ़ सकता हूँ और वॉइस नोट सुन सकता हूँ। क्या आप अपना सवाल "
    "इनमें से किसी तरह भेज सकते हैं?",
    handoff="हमारी टीम के एक व्यक्ति से यह बातचीत संभालने के लिए कहा गया है; वे यहीं जवाब देंगे।",
    disclosure="आप {business} के स्वचालित AI सहायक से बात कर रहे हैं, किसी इंसान से नहीं। हमारी टीम से बात करने "
    "के लिए HUMAN लिखें, संदेश बंद करने के लिए STOP लिखें।",
    confirmations=MappingProxyType({
        Intent.OPT_OUT: "ठीक है: {business} अब आपको कोई संदेश नहीं भेजेगा। फिर से बात करने के लिए START लिखें। "
        + _DATA_HOW_HI,
        Intent.OPT_IN: "स्वागत है: {business} फिर से आपके संदेशों का जवाब देगा। कभी भी रोकने के लिए STOP लिखें। "
        + _DATA_HOW_HI,
        Intent.HUMAN: "{business} की टीम का कोई व्यक्ति यह चैट संभालेगा; AI सहायक अब जवाब नहीं देगा। "
        + _DATA_HOW_HI,
        Intent.DELETE_DATA: "हमने आपके डेटा का उपयोग रोक दिया है और 30 दिनों के भीतर उसे मिटा देंगे; {business} "
        "केवल आपके अनुरोध का रिकॉर्ड रखेगा, बिना किसी सामग्री के। आपको कोई मार्केटिंग संदेश नहीं मिलेगा।",
        Intent.ACCESS_DATA: "आपका अनुरोध दर्ज हो गया है: {business} 30 दिनों के भीतर आपके डेटा की कॉपी भेजेगा। "
        "आपके संदेशों का जवाब मिलता रहेगा। डेटा मिटाने के लिए 'mera data mita do' लिखें।",
    }),
    call=CallTexts(
        greeting="नमस्ते! आप {business} के AI सहायक से बात कर रहे हैं, किसी इंसान से नहीं। हमारी टीम से बात "
        "करने के लिए कहिए: इंसान से बात कराओ। बताइए, मैं आपकी क्या मदद करूँ?",
        apology="माफ़ कीजिए, अभी मैं इसका जवाब नहीं दे पा रहा। हमारी टीम से कोई आपको जल्दी वापस फ़ोन करेगा। "
        "ठीक है?",
        goodbye="फ़ोन करने के लिए धन्यवाद। नमस्ते!",
        busy="माफ़ कीजिए, यह कॉल अभी बंद होने वाली है। थोड़ी देर में फिर से फ़ोन कीजिए। नमस्ते!",
        withheld="माफ़ कीजिए, हम यहाँ आपकी कॉल नहीं ले सकते। नमस्ते!",
        way_back="आपने पहले कहा था कि हम आपसे संपर्क न करें। अगर अब बात करनी है, तो कहिए: शुरू करो। "
        "वरना, नमस्ते।",
        recording_question="हम यह कॉल रिकॉर्ड करना चाहते हैं। क्या यह ठीक है? कृपया हाँ या ना कहिए।",
        recording_yes="धन्यवाद, यह कॉल रिकॉर्ड हो रही है। बताइए, मैं क्या मदद करूँ?",
        recording_no="ठीक है, यह कॉल रिकॉर्ड नहीं होगी। बताइए, मैं क्या मदद करूँ?",
        confirmations=MappingProxyType({
            Intent.OPT_OUT: "ठीक है। हम आपसे फिर संपर्क नहीं करेंगे। नमस्ते!",
            Intent.OPT_IN: "फिर से स्वागत है। बताइए, मैं क्या मदद करूँ?",
            Intent.HUMAN: "ज़रूर। हमारी टीम से कोई आपको जल्दी वापस फ़ोन करेगा। नमस्ते!",
            Intent.DELETE_DATA: "हमने आपके डेटा का उपयोग रोक दिया है और तीस दिनों में उसे मिटा देंगे। नमस्ते!",
            Intent.ACCESS_DATA: "आपका अनुरोध दर्ज हो गया है। तीस दिनों में हम आपके डेटा की कॉपी भेज देंगे। "
            "और कुछ?",
        }),
    ),
)  # fmt: skip

BUILT_IN: Mapping[str, Texts] = MappingProxyType({"en": ENGLISH, "hi": HINDI})


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One business's texts by language; `get` always answers (language → default language → English).
    `served`: the languages the business answers in (its default first)."""

    texts: Mapping[str, Texts] = field(default_factory=lambda: BUILT_IN)
    default: str = "en"
    served: tuple[str, ...] = ("en",)

    def get(self, language: str) -> Texts:
        for lang in (language, self.default):
            if lang in self.texts:
                return self.texts[lang]
        return self.texts.get("en", ENGLISH)

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language this catalogue has texts in (built-in or the tenant's own)."""
        return tuple(self.texts)

    def for_message(self, text: str) -> Texts:
        """The texts in the language of what the person wrote, when the business serves it (Hinglish is
        Hindi), else the default language's: a Hindi message gets the Hindi apology."""
        return self.get(reply_language(text, self.served, self.default).code)

    def for_heard(self, language: str) -> Texts:
        """The texts in the language a voice note was heard in, when the business serves it."""
        return self.get(language if language in self.served else self.default)

    @classmethod
    def build(
        cls, overrides: Mapping[str, Mapping[str, Any]], default: str = "en", served: tuple[str, ...] = ()
    ) -> Catalogue:
        """The built-in texts with `overrides` (language → field → text) over them. A language without
        built-in texts starts from the default language's (else English): what it leaves out is said there."""
        base = BUILT_IN.get(default, ENGLISH)
        texts = dict(BUILT_IN)
        for language, changes in overrides.items():
            start = texts.get(language) or replace(base, language=language)
            texts[language] = start.over(changes)
        return cls(MappingProxyType(texts), default, (default, *(s for s in served if s != default)))
