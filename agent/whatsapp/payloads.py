"""Meta's WhatsApp Cloud API webhook payload, validated at the edge and flattened into frozen events.

One POST can carry several entries, each with several changes, each with messages, statuses or calls of
different people; `parse_events` walks every one of them instead of reading `[0]`. The models ignore the
fields Meta keeps adding, and a `PayloadError` names a place in the schema, never a value from the body
(invariant 4: phone numbers and texts stay out of exception text).
"""

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

# Changes of other fields (template status, account updates, ...) have other shapes and are skipped.
EVENT_FIELDS = frozenset({"messages", "calls", "user_preferences"})

# ---------------------------------------------------------------------------------------------------------
# Payload models (Meta's shapes; only what we read is required)


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="ignore", frozen=True, hide_input_in_errors=True, coerce_numbers_to_str=True
    )


class Profile(_Model):
    name: str | None = None


class Contact(_Model):
    """The sender's profile. `user_id` is the business-scoped user id (BSUID); `wa_id` may be withheld."""

    profile: Profile | None = None
    wa_id: str | None = None
    user_id: str | None = None


class Metadata(_Model):
    display_phone_number: str | None = None
    phone_number_id: str


class ErrorData(_Model):
    details: str | None = None


class Error(_Model):
    code: int
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None


class Text(_Model):
    body: str


class Media(_Model):
    """audio, voice, image, video, document and sticker share this shape."""

    id: str
    mime_type: str | None = None
    sha256: str | None = None
    voice: bool = False
    caption: str | None = None
    filename: str | None = None
    animated: bool | None = None


class Location(_Model):
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None


class SharedContactName(_Model):
    formatted_name: str | None = None


class SharedContact(_Model):
    name: SharedContactName | None = None


class Reply(_Model):
    """An interactive `button_reply` or `list_reply`."""

    id: str | None = None
    title: str
    description: str | None = None


class CallPermissionReply(_Model):
    """The person's answer to a call-permission request: `accept` or `reject`."""

    response: str
    is_permanent: bool | None = None
    expiration_timestamp: int | None = None


class Interactive(_Model):
    type: str
    button_reply: Reply | None = None
    list_reply: Reply | None = None
    call_permission_reply: CallPermissionReply | None = None


class Button(_Model):
    """A quick-reply button of a template message."""

    text: str
    payload: str | None = None


class Reaction(_Model):
    message_id: str | None = None
    emoji: str | None = None


class ProductItem(_Model):
    product_retailer_id: str | None = None
    quantity: int | None = None


class Order(_Model):
    catalog_id: str | None = None
    text: str | None = None
    product_items: tuple[ProductItem, ...] = ()


class System(_Model):
    type: str | None = None
    body: str | None = None


class Context(_Model):
    id: str | None = None
    from_: str | None = Field(default=None, alias="from")
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None


# The object a message of these types must carry; other types are answered as unsupported.
_REQUIRED_BODY = ("text", "audio", "voice", "interactive", "button")


class Message(_Model):
    """An inbound message; `type` stays open so a type Meta adds later is unsupported, not an error."""

    from_: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None
    id: str
    timestamp: int
    type: str
    context: Context | None = None
    text: Text | None = None
    audio: Media | None = None
    voice: Media | None = None
    image: Media | None = None
    video: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    contacts: tuple[SharedContact, ...] = ()
    interactive: Interactive | None = None
    button: Button | None = None
    reaction: Reaction | None = None
    order: Order | None = None
    system: System | None = None
    errors: tuple[Error, ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.from_ is None and self.from_user_id is None:
            raise PydanticCustomError("message_without_sender", "a message needs from or from_user_id")
        if self.type in _REQUIRED_BODY and getattr(self, self.type) is None:
            raise PydanticCustomError("message_without_body", "a message lacks the object of its type")
        return self


class Status(_Model):
    """A status of one of our outbound messages; `type: "call"` marks a call status instead."""

    id: str
    status: str
    timestamp: int
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    type: str | None = None
    errors: tuple[Error, ...] = ()

    @model_validator(mode="after")
    def _has_recipient(self) -> Self:
        if self.recipient_id is None and self.recipient_user_id is None:
            raise PydanticCustomError("status_without_recipient", "a status needs a recipient")
        return self


class CallSession(_Model):
    sdp_type: str | None = None
    sdp: str | None = None


class Call(_Model):
    """A Cloud API calling event: `connect` carries the SDP, `terminate` the outcome."""

    id: str
    from_: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None
    to: str | None = None
    to_user_id: str | None = None
    event: str
    timestamp: int
    direction: str | None = None
    session: CallSession | None = None
    status: str | None = None
    duration: int | None = None
    errors: tuple[Error, ...] = ()

    @property
    def user_key(self) -> str | None:
        """The WhatsApp user's id: the callee of a business-initiated call, else the caller."""
        if self.direction == "BUSINESS_INITIATED":
            return self.to_user_id or self.to
        return self.from_user_id or self.from_

    @model_validator(mode="after")
    def _has_user(self) -> Self:
        if self.user_key is None:
            raise PydanticCustomError("call_without_user", "a call needs the user's id")
        return self


class UserPreference(_Model):
    """`user_preferences` webhook: the person stopped or resumed marketing messages in WhatsApp itself."""

    wa_id: str | None = None
    user_id: str | None = None
    category: str
    value: str
    timestamp: int

    @model_validator(mode="after")
    def _has_user(self) -> Self:
        if self.wa_id is None and self.user_id is None:
            raise PydanticCustomError("preference_without_user", "a preference needs the user's id")
        return self


class Value(_Model):
    messaging_product: str | None = None
    metadata: Metadata
    contacts: tuple[Contact, ...] = ()
    messages: tuple[Message, ...] = ()
    statuses: tuple[Status, ...] = ()
    calls: tuple[Call, ...] = ()
    user_preferences: tuple[UserPreference, ...] = ()
    errors: tuple[Error, ...] = ()


class Change(_Model):
    """`value` is None for a field we do not handle, so its foreign shape is never validated."""

    field: str
    value: Value | None

    @model_validator(mode="before")
    @classmethod
    def _drop_other_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("field") not in EVENT_FIELDS:
            return {**data, "value": None}
        return data


class Entry(_Model):
    id: str | None = None
    changes: tuple[Change, ...]


class WebhookPayload(_Model):
    object: Literal["whatsapp_business_account"]
    entry: tuple[Entry, ...]


# ---------------------------------------------------------------------------------------------------------
# Events handed to the rest of the agent


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaRef:
    """Enough to fetch and check a media object: GET /{id}, then compare the download with `sha256`."""

    id: str
    mime_type: str | None
    sha256: str | None
    voice: bool


MessageKind = Literal["text", "audio", "interactive", "unsupported"]


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """One message from one person. `user_key` is the BSUID when Meta sent one, else the wa_id."""

    phone_number_id: str
    message_id: str
    user_key: str
    wa_id: str | None
    profile_name: str | None
    timestamp: int
    kind: MessageKind
    original_type: str
    text: str | None
    media: MediaRef | None
    context_message_id: str | None


StatusName = Literal["sent", "delivered", "read", "played", "failed"]
_STATUS_NAMES: dict[str, StatusName] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "played": "played",
    "failed": "failed",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusUpdate:
    """What happened to one of our outbound messages; `recipient` is keyed like `InboundMessage.user_key`."""

    phone_number_id: str
    message_id: str
    status: StatusName
    recipient: str
    timestamp: int
    error_code: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    phone_number_id: str
    call_id: str
    event: str
    user_key: str
    timestamp: int
    sdp: str | None
    sdp_type: str | None
    status: str | None
    wa_id: str | None = None  # the user's number too, when Meta sent it beside the BSUID (`user_key`)


ConsentSignalKind = Literal[
    "marketing_stop", "marketing_resume", "call_permission_accept", "call_permission_reject"
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentSignal:
    """A consent change Meta reports: a marketing preference, or the reply to a call-permission request."""

    phone_number_id: str
    user_key: str
    kind: ConsentSignalKind
    timestamp: int
    message_id: str | None  # the reply message, for a call-permission answer
    expires_at: int | None = None  # a temporary call permission lapses then
    wa_id: str | None = None  # the number too, when Meta sent it beside the BSUID (`user_key`)


InboundEvent = InboundMessage | StatusUpdate | CallEvent | ConsentSignal


class PayloadError(Exception):
    """The body is not a WhatsApp webhook we can read. The message never contains a value from the body."""

    def __init__(self, reason: str, location: str | None = None, code: str | None = None) -> None:
        self.reason = reason
        self.location = location  # dotted path in the payload, e.g. "entry.0.changes.0.value.messages.0.id"
        self.code = code  # pydantic's error type, e.g. "missing", "int_parsing", "message_without_sender"
        where = f" at {location}" if location is not None else ""
        what = f" ({code})" if code is not None else ""
        super().__init__(f"{reason}{where}{what}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.location, self.code))


# ---------------------------------------------------------------------------------------------------------
# Parsing and flattening


def parse_payload(body: bytes) -> WebhookPayload:
    """Validates the raw body; raises `PayloadError` with a content-free message."""
    try:
        raw = json.loads(body)
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError, an integer too long to convert
        raise PayloadError("body is not valid JSON") from None
    try:
        return WebhookPayload.model_validate(raw)
    except ValidationError as exc:
        raise _schema_error(exc) from None


def parse_events(body: bytes) -> list[InboundEvent]:
    """Every message, known status and call of every entry and change, in payload order."""
    payload = parse_payload(body)
    return [
        event
        for entry in payload.entry
        for change in entry.changes
        if change.value is not None
        for event in _events_of(change.value)
    ]


# Location parts come from our field names; anything else (a dict key, say) is masked, never echoed.
_SAFE_LOC_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _schema_error(exc: ValidationError) -> PayloadError:
    first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
    parts = [
        str(part) if isinstance(part, int) or _SAFE_LOC_PART.fullmatch(part) else "?" for part in first["loc"]
    ]
    location = ".".join(parts) or "top level"
    return PayloadError("payload does not match the WhatsApp webhook schema", location, first["type"])


def _events_of(value: Value) -> Iterator[InboundEvent]:
    phone_number_id = value.metadata.phone_number_id
    for message in value.messages:
        permission = message.interactive.call_permission_reply if message.interactive else None
        if permission is not None:
            yield _permission_signal(phone_number_id, message, permission)
        else:
            yield _inbound_message(phone_number_id, message, value.contacts)
    for preference in value.user_preferences:
        signal = _preference_signal(phone_number_id, preference)
        if signal is not None:
            yield signal
    for status in value.statuses:
        update = _status_update(phone_number_id, status)
        if update is not None:
            yield update
    for call in value.calls:
        yield _call_event(phone_number_id, call)


def _sender(message: Message, contacts: Sequence[Contact]) -> Contact | None:
    """The contact of this message's sender, matched by id; a batch lists contacts in any order."""
    if message.from_user_id is not None:
        for contact in contacts:
            if contact.user_id == message.from_user_id:
                return contact
    if message.from_ is not None:
        for contact in contacts:
            if contact.wa_id == message.from_:
                return contact
    return None


def _inbound_message(phone_number_id: str, message: Message, contacts: Sequence[Contact]) -> InboundMessage:
    contact = _sender(message, contacts)
    wa_id = message.from_ or (contact.wa_id if contact else None)
    user_key = message.from_user_id or (contact.user_id if contact else None) or wa_id
    if user_key is None:  # the model requires from or from_user_id
        raise PayloadError("message has no sender")
    kind, text, media = _content(message)
    return InboundMessage(
        phone_number_id=phone_number_id,
        message_id=message.id,
        user_key=user_key,
        wa_id=wa_id,
        profile_name=contact.profile.name if contact and contact.profile else None,
        timestamp=message.timestamp,
        kind=kind,
        original_type=message.type,
        text=text,
        media=media,
        context_message_id=message.context.id if message.context else None,
    )


def _content(message: Message) -> tuple[MessageKind, str | None, MediaRef | None]:
    if message.type == "text" and message.text is not None:
        return "text", message.text.body, None
    audio = message.audio if message.type == "audio" else message.voice if message.type == "voice" else None
    if audio is not None:
        voice = audio.voice or message.type == "voice"
        return (
            "audio",
            None,
            MediaRef(id=audio.id, mime_type=audio.mime_type, sha256=audio.sha256, voice=voice),
        )
    if message.type == "interactive" and message.interactive is not None:
        reply = {
            "button_reply": message.interactive.button_reply,
            "list_reply": message.interactive.list_reply,
        }
        chosen = reply.get(message.interactive.type)
        if chosen is not None:
            return "interactive", chosen.title, None
    if message.type == "button" and message.button is not None:
        return "interactive", message.button.text, None
    return "unsupported", None, None


def _status_update(phone_number_id: str, status: Status) -> StatusUpdate | None:
    name = _STATUS_NAMES.get(status.status)
    recipient = status.recipient_user_id or status.recipient_id
    if name is None or status.type == "call" or recipient is None:
        return None  # a status we do not track, or a call's ringing/accepted notice
    return StatusUpdate(
        phone_number_id=phone_number_id,
        message_id=status.id,
        status=name,
        recipient=recipient,
        timestamp=status.timestamp,
        error_code=status.errors[0].code if status.errors else None,
    )


def _call_event(phone_number_id: str, call: Call) -> CallEvent:
    user_key = call.user_key
    if user_key is None:  # the model requires the user's id
        raise PayloadError("call has no user")
    return CallEvent(
        phone_number_id=phone_number_id,
        call_id=call.id,
        event=call.event,
        user_key=user_key,
        timestamp=call.timestamp,
        sdp=call.session.sdp if call.session else None,
        sdp_type=call.session.sdp_type if call.session else None,
        status=call.status,
        wa_id=call.to if call.direction == "BUSINESS_INITIATED" else call.from_,
    )


def _permission_signal(phone_number_id: str, message: Message, reply: CallPermissionReply) -> ConsentSignal:
    user_key = message.from_user_id or message.from_
    if user_key is None:  # the model requires from or from_user_id
        raise PayloadError("message has no sender")
    kind: ConsentSignalKind = (
        "call_permission_accept" if reply.response == "accept" else "call_permission_reject"
    )
    return ConsentSignal(
        phone_number_id=phone_number_id,
        user_key=user_key,
        kind=kind,
        timestamp=message.timestamp,
        message_id=message.id,
        expires_at=None if reply.is_permanent else reply.expiration_timestamp,
        wa_id=message.from_,
    )


def _preference_signal(phone_number_id: str, preference: UserPreference) -> ConsentSignal | None:
    if preference.category != "marketing_messages" or preference.value not in ("stop", "resume"):
        return None  # a preference we do not act on
    user_key = preference.user_id or preference.wa_id
    if user_key is None:  # the model requires one of them
        raise PayloadError("preference has no user")
    return ConsentSignal(
        phone_number_id=phone_number_id,
        user_key=user_key,
        kind="marketing_stop" if preference.value == "stop" else "marketing_resume",
        timestamp=preference.timestamp,
        message_id=None,
        wa_id=preference.wa_id,
    )
