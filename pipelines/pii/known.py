"""Values known before anyone says them: the sender's number and WhatsApp profile name from the webhook."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import phonenumbers

from pipelines.pii.entities import EntityType
from pipelines.pii.names import is_known_name_part

if TYPE_CHECKING:
    from pipelines.pii.vault import Vault

_NAME_PART = re.compile(r"[^\W\d_]{3,}")


def seed_sender(vault: Vault, *, wa_id: str | None, profile_name: str | None) -> None:
    """Seed the vault so the sender's number and name are masked wherever they appear, in any layout
    (numbers are matched by value) and in part (a first name alone)."""
    if wa_id:
        try:
            number = phonenumbers.parse("+" + wa_id.lstrip("+"))
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            vault.seed(EntityType.PHONE, e164, e164, aliases=(e164, e164.lstrip("+")))
    name = " ".join((profile_name or "").split())
    if _NAME_PART.search(name):
        # Parts alone only when they are known names: "Sunny Home Solutions" must not mask every "home".
        parts = [p for p in _NAME_PART.findall(name) if is_known_name_part(p)]
        vault.seed(EntityType.PERSON, name.lower(), name, aliases=(name, *parts))
