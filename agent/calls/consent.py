"""Consent on a call, through the chat path's `ConsentGate`: what the caller says by keyword ("stop", "talk to
a person", "delete my data", …) is applied to the consent ledger as in chat (a handoff is flagged, data requests
reach the business's audit log), and the spoken AI disclosure is recorded as the notice this person was given.
Evidence only: the ledger gets the call id, never what was said."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from pipelines.consent import Method, render_notice

if TYPE_CHECKING:
    from agent.consent_gate import ConsentGate
    from agent.tenants import Tenant
    from pipelines.consent import KeywordMatch


class CallConsent:
    def __init__(self, gate: ConsentGate, tenant: Tenant, subject: str, call_id: str) -> None:
        self._gate = gate
        self._tenant = tenant
        self._subject = subject
        self._call_id = call_id
        self._turns = itertools.count(1)

    async def keyword(self, match: KeywordMatch) -> None:
        evidence = f"{self._call_id}:{next(self._turns)}"
        await self._gate.answer_keyword(self._tenant.id, self._subject, match, evidence, Method.VOICE)

    async def disclosed(self, greeting: str) -> None:
        tenant = self._tenant
        notice = render_notice(
            {tenant.language: greeting},
            tenant.language,
            business=tenant.name,
            version=tenant.consent.notice_version,
        )
        await self._gate.disclosed(tenant.id, self._subject, notice, self._call_id)
