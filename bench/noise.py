"""Noise suppression (DeepFilterNet3, pipelines/denoise.py) judged by recognition: WER of the shared English clips
(tiny.en, the production transcriber with its guard: a refused transcript counts as all words wrong) and CER of
the Hindi clips (the multilingual `base`, forced to Hindi, when `leadclose models assemble` has built it), clean
and mixed with street-and-shop noise at 10, 5 and 0 dB SNR, without and with suppression.

The noise is made from real recordings: a babble of four other corpus speakers (Hindi and the multilingual
clips: other voices, other languages, as in a shop) over brown noise with a low rumble (traffic), scaled to the
SNR over the clip's speech. Deterministic (fixed seed), so runs compare.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path

import jiwer
import numpy as np
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.audio import STT_SAMPLE_RATE, Pcm, decode
from pipelines.denoise import DeepFilter
from pipelines.stt import WhisperTranscriber, load_whisper

AUDIO = Path(__file__).resolve().parent.parent.parent / "shared" / "audio"
SNRS_DB = (None, 10.0, 5.0, 0.0)  # None: clean


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in (AUDIO / "manifest.jsonl").read_text().splitlines()]


def _noise(length: int, rng: np.random.Generator, voices: list[np.ndarray]) -> np.ndarray:
    babble = np.zeros(length, np.float32)
    for voice in rng.choice(len(voices), 4, replace=False):
        v = np.resize(voices[voice], length)  # repeats a short clip
        babble += np.roll(v, int(rng.integers(0, length))) / max(1e-6, float(v.std()))
    brown = np.cumsum(rng.standard_normal(length)).astype(np.float32)
    brown -= np.convolve(brown, np.ones(1600) / 1600, mode="same")  # no DC drift
    t = np.arange(length) / STT_SAMPLE_RATE
    rumble = np.sin(2 * np.pi * 55 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.3 * t))
    parts = [babble / babble.std(), brown / brown.std(), rumble / rumble.std()]
    mix = 0.6 * parts[0] + 0.5 * parts[1] + 0.3 * parts[2]
    return (mix / mix.std()).astype(np.float32)


def _mixed(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    loud = np.abs(speech) > 0.02 * np.abs(speech).max()
    power = float(np.mean(speech[loud] ** 2)) if loud.any() else float(np.mean(speech**2))
    scaled = noise * np.sqrt(power / 10 ** (snr_db / 10))
    out = speech + scaled
    return (out / max(1.0, float(np.abs(out).max()))).astype(np.float32)


def _hindi_norm(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.noise")
    parser.add_argument("--clips", type=int, default=8, help="clips per language")
    parser.add_argument("--languages", default="en,hi", help="comma-separated: en, hi")
    args = parser.parse_args()
    rng = np.random.default_rng(19)
    rows = _rows()
    english = [r for r in rows if r["file"].startswith("en/") and 3 <= float(r["duration_s"]) <= 12][
        : args.clips
    ]
    hindi = [r for r in rows if r["language"] == "hi" and 3 <= float(r["duration_s"]) <= 12]
    voice_rows = [r for r in rows if r["file"].startswith("multilingual/")] + hindi[
        args.clips : args.clips + 8
    ]
    voices = [decode((AUDIO / r["file"]).read_bytes()).samples for r in voice_rows]
    denoiser = DeepFilter.load()
    tiny = WhisperTranscriber(load_whisper("tiny.en"))
    base_dir = Path(sys.prefix) / "share" / "leadclose" / "whisper-base"
    base = load_whisper(str(base_dir)) if (base_dir / "ASSEMBLED").is_file() else None
    norm = EnglishTextNormalizer()
    wanted = args.languages.split(",")
    sets = [("en", english)] if "en" in wanted else []
    sets += [("hi", hindi[: args.clips])] if base is not None and "hi" in wanted else []
    times: list[float] = []
    print(f"{'lang':>4} {'noise':>8} {'metric':>6} {'off':>6} {'on':>6} {'refused off/on':>15}")
    for lang, picked in sets:
        clips = [decode((AUDIO / r["file"]).read_bytes()).samples for r in picked]
        refs = [r["reference"] for r in picked]
        for snr in SNRS_DB:
            scores: dict[str, list[float]] = {"off": [], "on": []}
            refused = {"off": 0, "on": 0}
            for speech, ref in zip(clips, refs, strict=True):
                heard = speech if snr is None else _mixed(speech, _noise(len(speech), rng, voices), snr)
                start = time.perf_counter()
                cleaned = denoiser.denoise(Pcm(heard, STT_SAMPLE_RATE)).samples
                times.append((time.perf_counter() - start) / (len(heard) / STT_SAMPLE_RATE))
                for way, audio in (("off", heard), ("on", cleaned)):
                    if lang == "en":
                        got = tiny.transcribe(Pcm(audio, STT_SAMPLE_RATE))
                        refused[way] += not got.understood
                        scores[way].append(jiwer.wer(norm(ref), norm(got.text) or "∅"))
                    else:
                        assert base is not None
                        segments, _ = base.transcribe(audio, language="hi", beam_size=1, vad_filter=True)
                        text = _hindi_norm(" ".join(s.text for s in segments)) or "∅"
                        scores[way].append(jiwer.cer(_hindi_norm(ref), text))
            label = "clean" if snr is None else f"{snr:.0f} dB"
            metric = "WER" if lang == "en" else "CER"
            print(
                f"{lang:>4} {label:>8} {metric:>6} {100 * np.mean(scores['off']):5.1f}% "
                f"{100 * np.mean(scores['on']):5.1f}% {refused['off']:>7}/{refused['on']:<7}",
                flush=True,
            )
    print(f"\nsuppression RTF: median {statistics.median(times):.3f} (one thread, 48 kHz DeepFilterNet3)")
    if base is None:
        print("Hindi skipped: the multilingual base model is not assembled (leadclose models assemble)")


if __name__ == "__main__":
    main()
