"""Where a tenant's analytics days begin."""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from agent.tenants.registry import Tenant


def tenant_zone(tenant: Tenant) -> tzinfo:
    """The business's own timezone where its folder names one (its booking calendar's), else UTC."""
    booking = tenant.automation.booking
    return ZoneInfo(booking.timezone) if booking is not None else UTC
