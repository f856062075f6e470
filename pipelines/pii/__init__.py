"""PII minimization: detectors, a per-conversation vault, minimize() and restore()."""

from pipelines.pii.deadline import Deadline, PiiTimeout
from pipelines.pii.detectors import default_detectors
from pipelines.pii.entities import Detector, EntityType, Span
from pipelines.pii.guard import PiiGuard
from pipelines.pii.known import seed_sender
from pipelines.pii.minimizer import (
    Minimized,
    Minimizer,
    RestorePolicy,
    RestoreScope,
    RestoreTarget,
    restore,
)
from pipelines.pii.vault import Vault, VaultEntry

__all__ = [
    "Deadline",
    "Detector",
    "EntityType",
    "Minimized",
    "Minimizer",
    "PiiGuard",
    "PiiTimeout",
    "RestorePolicy",
    "RestoreScope",
    "RestoreTarget",
    "Span",
    "Vault",
    "VaultEntry",
    "default_detectors",
    "restore",
    "seed_sender",
]
