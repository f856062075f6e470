"""Payloads shaped like Meta's documented webhooks (messages, statuses, calls), built as dicts here."""

import dataclasses
import json
import pickle
from typing import Any

import pydantic
import pytest

from agent.whatsapp import (
    CallEvent,
    InboundMessage,
    MediaRef,
    PayloadError,
    StatusUpdate,
    WebhookPayload,
    parse_events,
    parse_payload,
)

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
ALICE_WA = "16505551234"
BOB_WA = "447700900123"
BSUID = "US.13491208655302741918"


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _value(**parts: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
        **parts,
    }


def _change(field: str = "messages", **parts: Any) -> dict[str, Any]:
    return {"field": field, "value": _value(**parts)}


def _payload(*changes: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": list(changes)} for _ in range(entries)],
    }


def _contact(name: str, wa_id: str | None = None, user_id: str | None = None) -> dict[str, Any]:
    contact: dict[str, Any] = {"profile": {"name": name}}
    if wa_id is not None:
        contact["wa_id"] = wa_id
    if user_id is not None:
        contact["user_id"] = user_id
    return contact


def _message(
    msg_type: str, sender: str | None = ALICE_WA, mid: str = "wamid.A1", **body: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {"id": mid, "timestamp": "1717171717", "type": msg_type, **body}
    if sender is not None:
        message["from"] = sender
    return message


def _one(payload: dict[str, Any]) -> InboundMessage:
    events = parse_events(_body(payload))
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, InboundMessage)
    return event


TEXT = _message("text", text={"body": "Hi, do you deliver to Leeds on Saturday?"})


def test_text_message() -> None:
    event = _one(_payload(_change(contacts=[_contact("Alice Moreau", ALICE_WA)], messages=[TEXT])))
    assert event == InboundMessage(
        phone_number_id=PHONE_NUMBER_ID,
        message_id="wamid.A1",
        user_key=ALICE_WA,
        wa_id=ALICE_WA,
        profile_name="Alice Moreau",
        timestamp=1717171717,
        kind="text",
        original_type="text",
        text="Hi, do you deliver to Leeds on Saturday?",
        media=None,
        context_message_id=None,
    )


def test_voice_note() -> None:
    audio = {
        "mime_type": "audio/ogg; codecs=opus",
        "sha256": "K4+/kd4y0EWzYqJLuNu0sH3YxVn2Fo9X1vXbcq2vq7I=",
        "id": "1003383421387256",
        "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1",
        "voice": True,
    }
    event = _one(
        _payload(_change(contacts=[_contact("Alice", ALICE_WA)], messages=[_message("audio", audio=audio)]))
    )
    assert event.kind == "audio"
    assert event.original_type == "audio"
    assert event.text is None
    assert event.media == MediaRef(
        id="1003383421387256",
        mime_type="audio/ogg; codecs=opus",
        sha256="K4+/kd4y0EWzYqJLuNu0sH3YxVn2Fo9X1vXbcq2vq7I=",
        voice=True,
    )


def test_audio_file_is_not_a_voice_note() -> None:
    audio = {"mime_type": "audio/mpeg", "sha256": "abc=", "id": "2222"}
    event = _one(_payload(_change(messages=[_message("audio", audio=audio)])))
    assert event.media == MediaRef(id="2222", mime_type="audio/mpeg", sha256="abc=", voice=False)


def test_legacy_voice_type_is_a_voice_note() -> None:
    voice = {"mime_type": "audio/ogg; codecs=opus", "sha256": "abc=", "id": "3333"}
    event = _one(_payload(_change(messages=[_message("voice", voice=voice)])))
    assert event.kind == "audio"
    assert event.original_type == "voice"
    assert event.media is not None
    assert event.media.voice


@pytest.mark.parametrize(
    ("msg_type", "body", "title"),
    [
        (
            "interactive",
            {
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "yes-book", "title": "Yes, book it"},
                }
            },
            "Yes, book it",
        ),
        (
            "interactive",
            {
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "slot-3", "title": "Saturday 10:00", "description": "Leeds depot"},
                }
            },
            "Saturday 10:00",
        ),
        ("button", {"button": {"text": "Call me back", "payload": "CALLBACK"}}, "Call me back"),
    ],
    ids=["button_reply", "list_reply", "template-button"],
)
def test_replies_are_interactive(msg_type: str, body: dict[str, Any], title: str) -> None:
    context: dict[str, Any] = {"context": {"from": DISPLAY_NUMBER, "id": "wamid.OUR-PROMPT"}}
    event = _one(_payload(_change(messages=[_message(msg_type, **body, **context)])))
    assert event.kind == "interactive"
    assert event.original_type == msg_type
    assert event.text == title
    assert event.context_message_id == "wamid.OUR-PROMPT"


@pytest.mark.parametrize(
    ("msg_type", "body"),
    [
        (
            "sticker",
            {"sticker": {"mime_type": "image/webp", "sha256": "s=", "id": "4444", "animated": False}},
        ),
        (
            "location",
            {
                "location": {
                    "latitude": 53.7965,
                    "longitude": -1.5478,
                    "name": "Leeds",
                    "address": "1 Park Row",
                }
            },
        ),
        (
            "image",
            {"image": {"caption": "my order", "mime_type": "image/jpeg", "sha256": "i=", "id": "5555"}},
        ),
        ("video", {"video": {"mime_type": "video/mp4", "sha256": "v=", "id": "6666"}}),
        ("document", {"document": {"filename": "quote.pdf", "mime_type": "application/pdf", "id": "7777"}}),
        ("reaction", {"reaction": {"message_id": "wamid.OURS", "emoji": "\U0001f44d"}}),
        (
            "contacts",
            {"contacts": [{"name": {"formatted_name": "Carol", "first_name": "Carol"}, "phones": []}]},
        ),
        (
            "order",
            {
                "order": {
                    "catalog_id": "1",
                    "product_items": [{"product_retailer_id": "sku-1", "quantity": 2, "currency": "GBP"}],
                }
            },
        ),
        ("system", {"system": {"body": "User changed number", "type": "user_changed_number"}}),
        (
            "unsupported",
            {"errors": [{"code": 131051, "title": "Message type unknown", "error_data": {"details": "n/a"}}]},
        ),
        ("unknown", {"errors": [{"code": 131051, "title": "Message type unknown"}]}),
        ("some_future_type", {"some_future_type": {"anything": [1, 2, 3]}}),
        ("interactive", {"interactive": {"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_other_types_are_unsupported(msg_type: str, body: dict[str, Any]) -> None:
    event = _one(
        _payload(_change(contacts=[_contact("Alice", ALICE_WA)], messages=[_message(msg_type, **body)]))
    )
    assert event.kind == "unsupported"
    assert event.original_type == msg_type
    assert event.text is None
    assert event.media is None
    assert event.user_key == ALICE_WA


def test_batch_matches_profile_by_sender_not_position() -> None:
    change = _change(
        contacts=[_contact("Bob Smith", BOB_WA), _contact("Alice Moreau", ALICE_WA)],
        messages=[
            _message("text", ALICE_WA, "wamid.A1", text={"body": "first"}),
            _message("text", BOB_WA, "wamid.B1", text={"body": "second"}),
        ],
    )
    events = parse_events(_body(_payload(change)))
    assert [(e.message_id, e.user_key, e.profile_name) for e in events if isinstance(e, InboundMessage)] == [
        ("wamid.A1", ALICE_WA, "Alice Moreau"),
        ("wamid.B1", BOB_WA, "Bob Smith"),
    ]


def test_every_entry_and_change_is_flattened() -> None:
    first = _change(messages=[_message("text", ALICE_WA, "wamid.1", text={"body": "a"})])
    second = _change(
        messages=[
            _message("text", BOB_WA, "wamid.2", text={"body": "b"}),
            _message("text", BOB_WA, "wamid.3", text={"body": "c"}),
        ]
    )
    events = parse_events(_body(_payload(first, second, entries=2)))
    assert [e.message_id for e in events if isinstance(e, InboundMessage)] == [
        "wamid.1",
        "wamid.2",
        "wamid.3",
    ] * 2


def test_missing_contacts() -> None:
    event = _one(_payload(_change(messages=[TEXT])))
    assert event.profile_name is None
    assert event.user_key == ALICE_WA
    assert event.wa_id == ALICE_WA


def test_contact_of_another_sender_is_not_used() -> None:
    event = _one(_payload(_change(contacts=[_contact("Bob Smith", BOB_WA)], messages=[TEXT])))
    assert event.profile_name is None


def test_bsuid_user_without_phone_number() -> None:
    message = _message("text", sender=None, text={"body": "hello"}, from_user_id=BSUID)
    contacts = [_contact("Bob", BOB_WA), {**_contact("Dana", user_id=BSUID), "username": "@dana"}]
    event = _one(_payload(_change(contacts=contacts, messages=[message])))
    assert event.user_key == BSUID
    assert event.wa_id is None
    assert event.profile_name == "Dana"


def test_bsuid_is_the_key_when_both_ids_are_sent() -> None:
    message = _message("text", ALICE_WA, text={"body": "hello"}, from_user_id=BSUID)
    event = _one(_payload(_change(contacts=[_contact("Alice", ALICE_WA, BSUID)], messages=[message])))
    assert (event.user_key, event.wa_id, event.profile_name) == (BSUID, ALICE_WA, "Alice")


def test_bsuid_from_contact_when_message_only_has_phone() -> None:
    event = _one(_payload(_change(contacts=[_contact("Alice", ALICE_WA, BSUID)], messages=[TEXT])))
    assert (event.user_key, event.wa_id) == (BSUID, ALICE_WA)


def _status(status: str, mid: str = "wamid.OUT1", **extra: Any) -> dict[str, Any]:
    return {"id": mid, "status": status, "timestamp": "1717171800", "recipient_id": ALICE_WA, **extra}


def test_statuses() -> None:
    failed = _status(
        "failed",
        "wamid.OUT5",
        errors=[
            {
                "code": 131047,
                "title": "Re-engagement message",
                "message": "Re-engagement message",
                "error_data": {"details": "Message failed to send because more than 24 hours have passed"},
            }
        ],
    )
    statuses = [
        _status("sent", "wamid.OUT1", conversation={"id": "c1", "origin": {"type": "service"}}, pricing={}),
        _status("delivered", "wamid.OUT2"),
        _status("read", "wamid.OUT3"),
        _status("played", "wamid.OUT4"),
        failed,
        _status("deleted", "wamid.OUT6"),  # unknown to us: skipped
        {**_status("ACCEPTED", "wacid.CALL1"), "type": "call"},  # a call status: skipped
    ]
    events = parse_events(_body(_payload(_change(statuses=statuses))))
    assert all(isinstance(e, StatusUpdate) for e in events)
    assert [(e.message_id, e.status, e.error_code) for e in events if isinstance(e, StatusUpdate)] == [
        ("wamid.OUT1", "sent", None),
        ("wamid.OUT2", "delivered", None),
        ("wamid.OUT3", "read", None),
        ("wamid.OUT4", "played", None),
        ("wamid.OUT5", "failed", 131047),
    ]
    first = events[0]
    assert first == StatusUpdate(
        phone_number_id=PHONE_NUMBER_ID,
        message_id="wamid.OUT1",
        status="sent",
        recipient=ALICE_WA,
        timestamp=1717171800,
        error_code=None,
    )


def test_status_recipient_prefers_bsuid() -> None:
    status = {"id": "wamid.OUT1", "status": "read", "timestamp": "1", "recipient_user_id": BSUID}
    (event,) = parse_events(_body(_payload(_change(statuses=[status]))))
    assert isinstance(event, StatusUpdate)
    assert event.recipient == BSUID


SDP_OFFER = "v=0\r\no=- 7669997803033704573 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"


def test_call_connect_with_sdp_offer() -> None:
    call = {
        "id": "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh",
        "from": ALICE_WA,
        "to": DISPLAY_NUMBER,
        "event": "connect",
        "timestamp": "1671644824",
        "direction": "USER_INITIATED",
        "session": {"sdp_type": "offer", "sdp": SDP_OFFER},
    }
    change = _change("calls", contacts=[_contact("Alice", ALICE_WA)], calls=[call])
    (event,) = parse_events(_body(_payload(change)))
    assert event == CallEvent(
        phone_number_id=PHONE_NUMBER_ID,
        call_id="wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh",
        event="connect",
        user_key=ALICE_WA,
        timestamp=1671644824,
        sdp=SDP_OFFER,
        sdp_type="offer",
        status=None,
        wa_id=ALICE_WA,
    )


def test_call_terminate_and_business_initiated_call() -> None:
    terminate = {
        "id": "wacid.T1",
        "from": ALICE_WA,
        "to": DISPLAY_NUMBER,
        "event": "terminate",
        "direction": "USER_INITIATED",
        "timestamp": "1671644900",
        "status": "COMPLETED",
        "start_time": "1671644830",
        "end_time": "1671644900",
        "duration": 70,
    }
    outbound = {
        "id": "wacid.B1",
        "from": DISPLAY_NUMBER,
        "to": BOB_WA,
        "event": "connect",
        "direction": "BUSINESS_INITIATED",
        "timestamp": "1749196895",
        "session": {"sdp_type": "answer", "sdp": SDP_OFFER},
        "connection": {"webrtc": {"sdp": SDP_OFFER}},
        "biz_opaque_callback_data": "TRx334DUDFTI4Mj",
    }
    events = parse_events(_body(_payload(_change("calls", calls=[terminate, outbound]))))
    assert [(e.call_id, e.event, e.user_key, e.status) for e in events if isinstance(e, CallEvent)] == [
        ("wacid.T1", "terminate", ALICE_WA, "COMPLETED"),
        ("wacid.B1", "connect", BOB_WA, None),
    ]


def test_other_fields_are_ignored() -> None:
    template_update = {
        "field": "message_template_status_update",
        "value": {"event": "APPROVED", "message_template_id": 123, "message_template_name": "hello"},
    }
    events = parse_events(_body(_payload(template_update, _change(messages=[TEXT]))))
    assert [e.message_id for e in events if isinstance(e, InboundMessage)] == ["wamid.A1"]
    assert parse_events(_body(_payload(template_update))) == []


def test_unknown_fields_are_tolerated() -> None:
    message = {**TEXT, "from_logical_id": "95000398405635", "brand_new": {"x": 1}}
    payload = _payload(
        _change(contacts=[{**_contact("Alice", ALICE_WA), "country_code": "US"}], messages=[message])
    )
    payload["entry"][0]["time"] = 1717171717
    assert _one(payload).text == TEXT["text"]["body"]


def test_events_and_models_are_frozen() -> None:
    event = _one(_payload(_change(messages=[TEXT])))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.text = "changed"  # type: ignore[misc]
    model = parse_payload(_body(_payload(_change(messages=[TEXT]))))
    with pytest.raises(pydantic.ValidationError):
        model.object = "whatsapp_business_account"  # type: ignore[misc]


# --- errors: clear, and never carrying a value from the body -------------------------------------------


def _assert_content_free(error: PayloadError) -> None:
    text = str(error)
    for secret in (ALICE_WA, BOB_WA, BSUID, DISPLAY_NUMBER, "Leeds", "Alice", "hello"):
        assert secret not in text
    assert error.__cause__ is None
    assert error.__suppress_context__


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"object": "whatsapp_business_account", ', b"\xff\xfe\xfa", b"[" * 100_000],
    ids=["empty", "text", "truncated", "not-utf8", "deep"],
)
def test_unreadable_body(body: bytes) -> None:
    with pytest.raises(PayloadError, match=r"^body is") as info:
        parse_events(body)
    _assert_content_free(info.value)


def test_wrong_object() -> None:
    payload = {**_payload(_change(messages=[TEXT])), "object": "page"}
    with pytest.raises(PayloadError, match=r" at object \(literal_error\)$") as info:
        parse_events(_body(payload))
    _assert_content_free(info.value)


@pytest.mark.parametrize(
    ("mutate", "location", "code"),
    [
        (lambda m: m.pop("id"), "entry.0.changes.0.value.messages.0.id", "missing"),
        (
            lambda m: m.update(timestamp="Leeds " + ALICE_WA),
            "entry.0.changes.0.value.messages.0.timestamp",
            None,
        ),
        (lambda m: m.pop("text"), "entry.0.changes.0.value.messages.0", "message_without_body"),
        (lambda m: m.pop("from"), "entry.0.changes.0.value.messages.0", "message_without_sender"),
        (lambda m: m.update(id=["hello", ALICE_WA]), "entry.0.changes.0.value.messages.0.id", "string_type"),
    ],
    ids=["missing-id", "bad-timestamp", "text-without-body", "no-sender", "id-not-a-string"],
)
def test_schema_mismatch_names_the_place_not_the_value(mutate: Any, location: str, code: str | None) -> None:
    message = json.loads(json.dumps(TEXT))
    mutate(message)
    payload = _payload(_change(contacts=[_contact("Alice", ALICE_WA)], messages=[message]))
    with pytest.raises(PayloadError) as info:
        parse_events(_body(payload))
    error = info.value
    assert str(error).startswith(f"payload does not match the WhatsApp webhook schema at {location}")
    assert error.location == location
    if code is not None:
        assert error.code == code
    _assert_content_free(error)


def test_top_level_not_an_object() -> None:
    with pytest.raises(PayloadError, match=r" at top level \(model_type\)$") as info:
        parse_events(_body([{"from": ALICE_WA}]))  # type: ignore[arg-type]
    _assert_content_free(info.value)


def test_second_message_error_is_located() -> None:
    bad = _message("text", BOB_WA, "wamid.B1", text={"body": None})
    with pytest.raises(PayloadError) as info:
        parse_events(_body(_payload(_change(messages=[TEXT, bad]))))
    assert info.value.location == "entry.0.changes.0.value.messages.1.text.body"


def test_status_and_call_without_a_user() -> None:
    status = {"id": "wamid.OUT1", "status": "sent", "timestamp": "1"}
    with pytest.raises(PayloadError) as info:
        parse_events(_body(_payload(_change(statuses=[status]))))
    assert info.value.code == "status_without_recipient"
    call = {"id": "wacid.X", "to": DISPLAY_NUMBER, "event": "connect", "timestamp": "1"}
    with pytest.raises(PayloadError) as info:
        parse_events(_body(_payload(_change("calls", calls=[call]))))
    assert info.value.code == "call_without_user"
    _assert_content_free(info.value)


def test_pydantic_errors_hide_input() -> None:
    payload = _payload(_change(messages=[{**TEXT, "timestamp": "Leeds " + ALICE_WA}]))
    with pytest.raises(pydantic.ValidationError) as info:
        WebhookPayload.model_validate(payload)
    assert ALICE_WA not in str(info.value)


def test_payload_error_survives_pickling() -> None:
    with pytest.raises(PayloadError) as info:
        parse_events(_body(_payload(_change(messages=[{**TEXT, "id": None}]))))
    copy = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own object
    assert (copy.reason, copy.location, copy.code, str(copy)) == (
        info.value.reason,
        info.value.location,
        info.value.code,
        str(info.value),
    )


def test_messages_change_without_value_is_an_error() -> None:
    payload = _payload({"field": "messages"})
    with pytest.raises(PayloadError) as info:
        parse_events(_body(payload))
    assert (info.value.location, info.value.code) == ("entry.0.changes.0.value", "missing")


def test_numeric_ids_are_read_as_strings() -> None:
    message = {**TEXT, "from": int(ALICE_WA)}
    value = {**_value(messages=[message]), "metadata": {"phone_number_id": int(PHONE_NUMBER_ID)}}
    event = _one(_payload({"field": "messages", "value": value}))
    assert (event.phone_number_id, event.user_key) == (PHONE_NUMBER_ID, ALICE_WA)
