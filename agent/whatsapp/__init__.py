"""WhatsApp Cloud API edge: webhook signature, payload events, the Graph client and its error tree."""

from agent.whatsapp.errors import (
    GraphAuthError,
    GraphError,
    GraphProtocolError,
    GraphRateLimited,
    GraphRecipientError,
    GraphTransportError,
    GraphUnavailable,
    GraphWindowClosed,
    MediaError,
    MediaFailure,
)
from agent.whatsapp.graph import GraphClient, MediaInfo, RetryPolicy
from agent.whatsapp.payloads import (
    CallEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    MessageKind,
    PayloadError,
    StatusName,
    StatusUpdate,
    WebhookPayload,
    parse_events,
    parse_payload,
)
from agent.whatsapp.signature import sign, verify_signature

__all__ = [
    "CallEvent",
    "GraphAuthError",
    "GraphClient",
    "GraphError",
    "GraphProtocolError",
    "GraphRateLimited",
    "GraphRecipientError",
    "GraphTransportError",
    "GraphUnavailable",
    "GraphWindowClosed",
    "InboundEvent",
    "InboundMessage",
    "MediaError",
    "MediaFailure",
    "MediaInfo",
    "MediaRef",
    "MessageKind",
    "PayloadError",
    "RetryPolicy",
    "StatusName",
    "StatusUpdate",
    "WebhookPayload",
    "parse_events",
    "parse_payload",
    "sign",
    "verify_signature",
]
