"""Business-initiated marketing messages (WhatsApp templates), sent only while `may(marketing)` holds.

Marketing is opt-in only: the guard is asked right before each send, so a STOP (or Meta's marketing stop,
an objection, an erasure) that arrived a moment earlier stops it. Each attempt leaves a T0 record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.privacy.records import ProcessingRecord, hashed_id
from pipelines.consent import Purpose

if TYPE_CHECKING:
    from agent.privacy.gate import ConsentGate
    from agent.privacy.identities import Identities
    from agent.tenants.registry import TenantRegistry
    from agent.whatsapp import GraphClient


class MarketingSender:
    def __init__(
        self, graph: GraphClient, gate: ConsentGate, tenants: TenantRegistry, identities: Identities
    ) -> None:
        self._graph = graph
        self._gate = gate
        self._tenants = tenants
        self._identities = identities

    async def send_template(self, tenant_id: str, wa_id: str, template: str, language: str) -> str | None:
        """The sent message's id, or None when consent does not allow marketing to this person now."""
        tenant = self._tenants.get(tenant_id).config
        subject = await self._identities.known_or_derived(tenant_id, wa_id)  # a STOP under the BSUID holds
        decision = await self._gate.may(tenant_id, subject, Purpose.MARKETING)
        if not decision.allowed:
            await self._gate.processed(
                tenant_id,
                subject,
                ProcessingRecord(event="marketing", subject=subject, outcome=decision.reason),
            )
            return None
        token = self._tenants.access_token(tenant_id)
        sent = await self._graph.send_template(tenant.phone_number_ids[0], token, wa_id, template, language)
        record = ProcessingRecord(event="marketing", subject=subject, outcome="sent", message=hashed_id(sent))
        await self._gate.processed(tenant_id, subject, record)
        return sent
