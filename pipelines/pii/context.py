"""Context gates: a label shortly before a candidate decides what it is ("order 9876543210" is an order)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Labels that say a nearby number is a transaction, logistics, contact or money value, not an identity.
NOT_PERSONAL = re.compile(
    r"\b(?:order|orders|deliver\w*|dispatch\w*|shipment|shipping|shipped|track\w*|awb|pnr|utr|txn|"
    r"transaction\w*|trans|ref|reference|rrn|invoice|inv|bill|consignment|docket|ticket|booking|otp|"
    r"mobile|mob|phone|call|contact|whatsapp|pin|pincode|amount|balance|price|rs|inr|"
    r"appointment|due|expir\w*|valid\w*|visit|payment|paid|emi|sku|qty|quantity|voucher|coupon|promo|gift)\b|₹|"
    r"ऑर्डर|आर्डर|टिकट|इनवॉइस|रेफरेंस|ट्रांजैक्शन|शिकायत|भुगतान",
    re.IGNORECASE,
)


_LONGEST_LABEL = 16  # how far back a word cut by the window's edge is completed


_DIGIT = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class ContextGate:
    """Opens for a candidate when, among the labels within `window` characters before it, the nearest one
    is a trigger (a blocker nearer to the candidate closes the gate).

    With `one_value`, a label names only the value right after it: a label with digits between it and the
    candidate is spent ("UTR SBIN0049311, 98765 43210": the UTR is the first value, not the phone number).
    """

    triggers: re.Pattern[str]
    window: int
    blockers: re.Pattern[str] = NOT_PERSONAL
    one_value: bool = False

    def opens(self, text: str, start: int) -> bool:
        low = max(0, start - self.window)
        stop = max(0, low - _LONGEST_LABEL)
        while low > stop and not text[low - 1].isspace():  # don't cut the first word in half
            low -= 1
        before = text[low:start]
        trigger = self._nearest(self.triggers, before)
        if trigger < 0:
            return False
        return trigger > self._nearest(self.blockers, before)

    def _nearest(self, labels: re.Pattern[str], before: str) -> int:
        ends = (m.end() for m in labels.finditer(before))
        if self.one_value:
            ends = (end for end in ends if _DIGIT.search(before, end) is None)
        return max(ends, default=-1)


# Labels that make a number a reference of the business's (an order, a booking, a payment), not a phone.
REFERENCE_LABELS = re.compile(
    r"\b(?:order|orders|awb|pnr|utr|txn|transaction\w*|ref|reference|rrn|invoice|inv|consignment|docket|"
    r"ticket|booking|tracking|track|otp|sku|serial|model|id|no\.? of|complaint|voucher|coupon|consumer|meter)\b|"
    r"ऑर्डर|आर्डर|टिकट|इनवॉइस|बिल|रेफरेंस|ट्रांजैक्शन|शिकायत|भुगतान|उपभोक्ता",
    re.IGNORECASE,
)
# Said right after a number, these make it a phone number whatever label came before it: "… is my husband's
# number", "… pe call karo", "… पर व्हाट्सएप कर दीजिए".
PHONE_AFTER = re.compile(
    r"\W{0,3}(?:is\s++|hai\s++)?(?:my\s++|mera\s++|meri\s++|mere\s++)?(?:\w++'s\s++|\w++\s++ka\s++)?"
    r"(?:number|no\b|mobile|phone|whatsapp|contact)|\s*+(?:pe|par|पर|on)\s++(?:call|whatsapp|कॉल|व्हाट्सएप)",
    re.IGNORECASE,
)
PHONE_WORDS = re.compile(
    r"\b(?:mobile|mob|phone|call|contact|whatsapp|number|num|no|cell|reach|dial|ring|fon)\b|फ़ोन|फोन|नंबर",
    re.IGNORECASE,
)
