"""A local OpenAI-compatible speech endpoint on 127.0.0.1 for tests (a hosted engine cannot be reached here).

It speaks the documented protocols and rejects what does not follow them (400, OpenAI-style error body):
- `POST /v1/audio/transcriptions`: multipart/form-data with `file` (a file part with a filename), `model`,
  optional `language` (ISO-639-1) and `response_format` (`json`, the default, or `text`); answers
  `{"text": …}`. It hears with the bundled multilingual Whisper base (what a self-hosted faster-whisper
  server would run), in the language the request names, and returns the text as a server would: unguarded.
- `POST /v1/audio/speech`: JSON `{model, input, voice, response_format}`; the voice is an espeak-ng voice
  (`hi`, `en`), `pcm` answers 24 kHz 16-bit mono as OpenAI does, `wav` a WAV file.
Every accepted request is recorded (`transcriptions`, `speeches`) for the tests to inspect.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipelines.audio import AudioError, Pcm, decode
from pipelines.stt_routing import wav_bytes
from pipelines.tts import EspeakSynthesizer
from tests.local_server import serve_in_thread

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.requests import Request

    from pipelines.stt import WhisperTranscriber

OPENAI_PCM_RATE = 24_000


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)


def _form(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """multipart/form-data → {name: (filename, bytes)} with the standard library's MIME parser."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return {}
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


@dataclass
class SpeechPeer:
    transcriber: WhisperTranscriber
    base_url: str = ""
    transcriptions: list[dict[str, Any]] = field(default_factory=list)
    speeches: list[dict[str, Any]] = field(default_factory=list)
    # What a hosted engine that hears the notes writes, answered in order instead of the bundled base's
    # hearing: the bundled models mishear short synthetic Hindi commands (docs/speech.md, Hinglish).
    transcripts: list[str] = field(default_factory=list)
    _voices: dict[str, EspeakSynthesizer] = field(default_factory=dict)

    async def _transcriptions(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return _error("expected multipart/form-data")
        fields = _form(content_type, await request.body())
        filename, audio = fields.get("file", (None, b""))
        model = fields.get("model", (None, b""))[1].decode()
        language = fields.get("language", (None, b""))[1].decode() or None
        response_format = fields.get("response_format", (None, b"json"))[1].decode()
        if not filename or not audio:
            return _error("file: a file part with a filename is required")
        if not model:
            return _error("model is required")
        if language is not None and not (len(language) == 2 and language.isalpha()):
            return _error("language must be ISO-639-1")
        if response_format not in ("json", "text"):
            return _error("response_format not supported by this peer")
        try:
            pcm = decode(audio)
        except AudioError as exc:
            return _error(f"could not decode audio ({exc.problem.value})")
        if self.transcripts:
            text = self.transcripts.pop(0)
        else:
            heard = await asyncio.to_thread(self.transcriber.transcribe, pcm, language)
            text = " ".join(s.text for s in heard.segments).strip()  # what it heard, unguarded
        self.transcriptions.append({"model": model, "language": language, "bytes": len(audio), "text": text})
        return PlainTextResponse(text) if response_format == "text" else JSONResponse({"text": text})

    async def _speech(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return _error("body must be JSON")
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) for k in ("model", "input", "voice")
        ):
            return _error("model, input and voice are required strings")
        response_format = body.get("response_format", "mp3")
        if response_format not in ("pcm", "wav"):
            return _error("response_format not supported by this peer (pcm, wav)")
        voice = self._voices.get(body["voice"])
        if voice is None:
            try:
                voice = await asyncio.to_thread(EspeakSynthesizer.load, body["voice"])
            except Exception:
                return _error("unknown voice")
            self._voices[body["voice"]] = voice
        speech = await voice.synthesize(body["input"])
        self.speeches.append({"model": body["model"], "voice": body["voice"], "input": body["input"]})
        resampled = _resample(speech, OPENAI_PCM_RATE)
        if response_format == "wav":
            return Response(wav_bytes(resampled), media_type="audio/wav")
        return Response(resampled.to_int16().tobytes(), media_type="audio/pcm")


def _resample(pcm: Pcm, rate: int) -> Pcm:
    count = round(len(pcm.samples) * rate / pcm.sample_rate)
    positions = np.linspace(0, len(pcm.samples) - 1, count)
    samples = np.interp(positions, np.arange(len(pcm.samples)), pcm.samples).astype(np.float32)
    return Pcm(samples, rate)


@contextmanager
def serve_speech_peer(transcriber: WhisperTranscriber) -> Iterator[SpeechPeer]:
    peer = SpeechPeer(transcriber)
    app = Starlette(
        routes=[
            Route("/v1/audio/transcriptions", peer._transcriptions, methods=["POST"]),
            Route("/v1/audio/speech", peer._speech, methods=["POST"]),
        ]
    )
    with serve_in_thread(app) as port:
        peer.base_url = f"http://127.0.0.1:{port}/v1"
        yield peer
