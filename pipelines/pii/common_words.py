"""Common English and Hinglish chat words: a word in this list is never taken for a name on its own."""

from __future__ import annotations

from functools import cache
from importlib import resources

# Words that head a form field or a line but are no one's name ("Note: …", "Budget: 80L").
LABEL_WORDS = frozenset(
    {
        "ma'am", "maam", "siri", "alexa", "google", "amazon", "flipkart", "swiggy", "zomato", "dominos", "customer",
        "customers", "support", "diary", "everyone", "all", "guys", "folks", "friends", "valued", "department",
        "dept", "accounts", "account", "realty", "homes", "sales", "services", "solutions", "enterprises",
        "traders", "pvt", "ltd", "llp", "inc", "company", "group", "studio", "studios", "care", "desk", "helpdesk",
        "rs", "inr", "usd", "aed", "sgd", "gbp", "urgent", "important", "confirmed", "interested", "available",
        "busy", "ready", "sorry", "back", "here", "there", "online", "outside", "inside", "coming", "done",
        "note", "notes", "subject", "re", "ans", "answer", "question", "total", "date", "time", "venue", "location",
        "status", "update", "reminder", "ref", "amount", "qty", "size", "item", "items", "model", "budget", "source",
        "type", "requirement", "requirements", "mob", "ph", "tel", "email", "website", "timing", "timings", "landmark",
        "lead", "leads", "name", "naam", "patient", "client", "guest", "contact", "person", "applicant",
        "beneficiary", "owner", "student", "passenger", "nominee", "holder", "attendee", "candidate", "caller",
        "member", "tenant", "buyer", "seller", "booked", "sent", "submitted", "ordered", "signed", "from", "to", "cc",
        "bcc", "attachment", "remarks", "remark", "comment", "comments", "feedback", "details", "detail", "info",
        "project", "property", "unit", "config", "configuration", "area", "carpet", "possession", "rera", "price",
        "offer", "package", "plan", "city", "age", "gender", "sex", "dob", "mobile", "whatsapp", "alternate", "pincode",
        "pin", "state", "country", "district", "tehsil", "village", "post", "q", "a", "ok", "hi", "hello", "dear",
        "regards", "thanks", "thank", "best", "cheers", "team", "sir", "madam", "admin", "service",
        "manager", "aadhaar", "aadhar", "uid", "pan", "gst", "gstin", "ifsc", "iban", "upi", "swift", "passport",
        "voter", "epic", "kyc", "otp", "pnr", "utr", "neft", "imps", "rtgs", "mall", "store", "shop", "showroom",
        "outlet", "hospital", "clinic", "market", "bazaar", "road", "marg", "tower", "towers", "plaza", "station",
        "bank", "hotel", "resort", "restaurant", "cafe", "school", "college", "university", "temple", "mandir",
        "church", "masjid", "park", "garden", "complex", "centre", "center", "hall", "office", "branch", "nagar",
        "colony", "enclave", "heights", "residency", "apartments", "society", "estate", "phase", "sector", "paytm",
        "phonepe", "gpay", "jio", "airtel", "vodafone", "uber", "ola", "rapido", "blinkit", "zepto", "meesho",
        "myntra", "nykaa", "bigbasket", "dunzo", "ajio", "instagram", "facebook", "youtube", "reception", "spouse",
        "guardian", "agent", "broker", "poc", "doctor", "consultant", "visitor", "driver", "bride", "groom",
        "diwali", "deepavali", "holi", "eid", "christmas", "navratri", "pongal", "onam", "dussehra", "rakhi", "lohri",
        "baisakhi", "ganeshotsav", "builder", "developer", "secretary", "chairman", "president", "landlord",
        "contractor", "plumber", "electrician", "carpenter", "watchman", "guard", "security", "caretaker", "accountant",
        "lawyer", "principal", "teacher", "receptionist", "engineer", "architect", "ma", "said", "says", "told",
        "chai", "coffee", "paneer", "biryani", "thali", "lassi"
    }
)  # fmt: skip


@cache
def _common() -> frozenset[str]:
    text = resources.files("pipelines.pii").joinpath("data", "common_words.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_common_word(word: str) -> bool:
    return word.lower() in _common()


def is_label_or_common(word: str) -> bool:
    """A common chat word or one that heads a field, a team or a brand ("Team", "Accounts", "Paytm")."""
    return word.lower() in LABEL_WORDS or is_common_word(word)
