"""WhatsApp calls answered by a real-time voice agent: aiortc for WhatsApp's WebRTC, LiveKit Agents for the
conversation (needs the `calls` extra). `leadclose calls` runs `run_call_worker`; `python -m agent.calls.room`
runs the same agent in LiveKit rooms."""

from agent.calls.agent import CallAgent, CallBrain, call_brain
from agent.calls.assembly import CallAssembly, CallContext, CallOutcome
from agent.calls.call import CallConfig, CallHandler, CallRequest, CallSignals
from agent.calls.loaded import CallModels
from agent.calls.worker import CallWorker, run_call_worker

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
    "CallWorker",
    "call_brain",
    "run_call_worker",
]
