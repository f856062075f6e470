"""Builders for webhook bodies shaped like Meta's documented ones, and their signatures."""

from __future__ import annotations

import json
import time
from typing import Any

from agent.whatsapp import sign

APP_SECRET = "test-app-secret"
PHONE_NUMBER_ID = "100000000000001"  # prompts/default/tenant.yaml


def message(kind: str, sender: str, mid: str, *, ts: int | None = None, **body: Any) -> dict[str, Any]:
    return {"from": sender, "id": mid, "timestamp": str(ts or int(time.time())), "type": kind, **body}


def text(sender: str, mid: str, body: str, **kw: Any) -> dict[str, Any]:
    return message("text", sender, mid, text={"body": body}, **kw)


def voice(sender: str, mid: str, media_id: str, sha256: str, **kw: Any) -> dict[str, Any]:
    audio = {"id": media_id, "mime_type": "audio/ogg; codecs=opus", "sha256": sha256, "voice": True}
    return message("audio", sender, mid, audio=audio, **kw)


def payload(
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    calls: list[dict[str, Any]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
    names: dict[str, str] | None = None,
) -> bytes:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    if messages:
        senders = dict.fromkeys(m["from"] for m in messages)
        value["contacts"] = [
            {"profile": {"name": (names or {}).get(s, "Customer")}, "wa_id": s} for s in senders
        ]
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    if calls:
        value["calls"] = calls
    field = "calls" if calls else "messages"
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000002", "changes": [{"field": field, "value": value}]}],
    }
    return json.dumps(body).encode()


def status(mid: str, state: str, recipient: str, ts: int, error_code: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": mid, "status": state, "timestamp": str(ts), "recipient_id": recipient}
    if error_code is not None:
        out["errors"] = [{"code": error_code, "title": "error"}]
    return out


def headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(secret.encode(), body), "Content-Type": "application/json"}
