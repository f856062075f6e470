"""Customer-facing fixed texts in the languages a business may not have written them in.

A business writes its fallbacks in its default language (`fallbacks:` in tenant.yaml). When a voice note in
another language it serves cannot be heard (a Hindi note for an English-default business), the person is
asked to type it or call, in the language they spoke: the built-in text of that language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

NOT_UNDERSTOOD: dict[str, str] = {
    "en": "Sorry, I couldn't make out that voice note. Could you type your question, or call us?",
    "hi": "माफ़ कीजिए, मैं यह वॉइस नोट ठीक से समझ नहीं पाया। क्या आप अपना सवाल लिखकर भेज सकते हैं, या हमें फ़ोन कर सकते हैं?",
}


def not_understood(
    heard_language: str, default_language: str, languages: Sequence[str], tenant_text: str
) -> str:
    """The tenant's own text when the note was in its default language (or one it does not serve), else the
    built-in text of the language the note was in, when there is one."""
    if heard_language == default_language or heard_language not in languages:
        return tenant_text
    return NOT_UNDERSTOOD.get(heard_language, tenant_text)
