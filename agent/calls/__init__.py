"""WhatsApp calls answered by a real-time voice agent: aiortc for WhatsApp's WebRTC, LiveKit Agents for the
conversation (needs the `calls` extra). The entry points are not re-exported (they sit above the services):
`leadclose calls` runs `agent.calls.worker.run_call_worker`; `python -m agent.calls.room` runs the same agent
in LiveKit rooms."""

from agent.calls.agent import CallAgent, CallBrain, call_brain
from agent.calls.assembly import CallAssembly, CallContext, CallOutcome
from agent.calls.call import CallConfig, CallHandler, CallRequest, CallSignals
from agent.calls.loaded import CallModels

__all__ = [
    "CallAgent",
    "CallAssembly",
    "CallBrain",
    "CallConfig",
    "CallContext",
    "CallHandler",
    "CallModels",
    "CallOutcome",
    "CallRequest",
    "CallSignals",
    "call_brain",
]
