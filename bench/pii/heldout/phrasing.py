"""Held-out phrasing: how the value is introduced, in layouts the development templates do not use.

`{v}` is the value. Forms, CRM exports and voice notes: labels in other languages and layouts, relations, address
forms, speaker prefixes, sign-offs; Hindi/Hinglish frames.
"""

from __future__ import annotations

from bench.pii.labels import Label as E

Phrases = dict[str, tuple[str, ...]]  # language -> templates

PHRASES: dict[E, Phrases] = {
    E.PERSON: {
        "en": (
            "Lead: {v}", "Name - {v}", "Patient {v}, 54 yrs, follow-up", "please register my mother {v} as well",
            "Hi {v}, is the 2BHK still available?", "ask for {v} at the reception", "{v}: can you deliver by 6?",
            "add my wife {v} to the booking", "booking under {v}", "contact person {v}", "guest name {v}",
            "this is for my brother {v}", "Dear {v},", "Cheers, {v}", "Sent by {v}", "{v} here, from the Baner site",
            "Customer: {v}", "my father {v} will come to collect", "policy holder {v}", "kindly note, attendee {v}",
            "my colleague {v} will sign", "Hello {v}! thanks for the quick reply",
        ),
        "hinglish": (
            "Naam: {v}", "papa ka naam {v} hai", "meri beti ka naam {v} hai", "mummy ka naam {v} likh do",
            "{v} bol raha hoon, flat ke baare mein", "bhaiya {v} ko bolna gate pe", "patient ka naam {v}",
            "booking {v} ke naam se karni hai", "Hi {v}, kal aa sakte ho?", "{v}: bhai price kya hai",
            "mere husband {v} aayenge pickup ke liye", "lead ka naam {v}",
        ),
        "devanagari": (
            "नाम: {v}", "मेरी माँ का नाम {v} है", "पापा का नाम {v} है", "मरीज़ {v}, उम्र 60", "{v} बोल रहा हूँ",
            "नमस्ते {v} जी", "बुकिंग {v} के नाम से करनी है",
        ),
    },
    E.PHONE: {
        "en": (
            "Mob. {v}", "reach my son on {v}", "ph {v} (evenings)", "best number to call: {v}", "WA {v}",
            "contact no {v} pls save", "My number is {v}",
        ),
        "hinglish": ("mera no {v} hai", "{v} pe baat kar lena", "papa ka number {v}", "call back karo {v} pe"),
        "devanagari": ("मोबाइल {v}", "मेरा मोबाइल नंबर {v} है"),
    },
    E.EMAIL: {
        "en": (
            "e-mail id {v}", "mail the quote to {v}", "my email is {v}", "you can write to {v}",
            "cc my accountant at {v}", "Email ID: {v}",
        ),
        "hinglish": ("mail id {v} hai", "quotation {v} pe bhejo", "mera mail {v}"),
        "devanagari": ("ईमेल आईडी {v}", "मेरा मेल {v} है"),
    },
    E.UPI: {
        "en": (
            "UPI: {v}", "GPay on {v}", "send the deposit to {v}", "PhonePe {v}", "my upi address is {v}",
            "refund pls to {v}",
        ),
        "hinglish": ("paise {v} pe daal do", "mera upi {v} hai", "advance {v} pe bhej raha hoon"),
        "devanagari": ("यूपीआई {v}", "पैसे {v} पर डाल दो"),
    },
    E.DOB: {
        "en": (
            "DOB {v}", "born {v}", "date of birth: {v}", "D.O.B - {v}", "my birthday is {v}, born in Kochi",
            "Birth date {v}",
        ),
        "hinglish": ("unka DOB {v} hai", "meri date of birth {v} hai", "janamdin {v} ko hai, DOB ke liye"),
        "devanagari": ("जन्म तिथि {v}", "मेरी जन्मतिथि {v} है"),
    },
    E.ADDRESS: {
        "en": (
            "ship to {v}", "Address: {v}", "I stay at {v}", "deliver to my sister at {v}", "my address is {v}",
            "Delivery addr - {v}",
        ),
        "hinglish": ("mera address {v} hai", "parcel {v} pe bhejna", "bhai ka ghar {v}"),
        "devanagari": ("पता: {v}", "मेरा पता {v} है"),
    },
    E.PAN: {
        "en": ("pan {v}", "PAN number is {v}", "my pan card {v}"),
        "hinglish": ("pan card {v} hai", "mera pan {v}"),
        "devanagari": ("पैन {v}",),
    },
    E.AADHAAR: {
        "en": ("aadhaar {v}", "UID {v}", "my aadhar is {v}"),
        "hinglish": ("aadhar no {v} hai", "aadhaar {v} verify karo"),
        "devanagari": ("आधार {v}", "मेरा आधार {v} है"),
    },
}  # fmt: skip

WEIGHTS: dict[E, float] = {
    E.PERSON: 3.0, E.PHONE: 2.0, E.EMAIL: 1.5, E.UPI: 1.5, E.DOB: 1.2, E.ADDRESS: 1.5, E.PAN: 0.7, E.AADHAAR: 0.7,
}  # fmt: skip

# Around the values, and on their own as the PII-free part: numbers, prices and capitalised words.
CLEAN: Phrases = {
    "en": (
        "Is the Sea View Tower flat still on rent?", "Block C lift is not working since Monday",
        "Can you do 45,000 for the Marina Heights unit?", "Please Share The Brochure And Price List",
        "Order 4512369870 still not delivered", "Meeting at 10:30 at the Phoenix Mall office",
        "need 3 rooms from 12/05 to 15/05", "Hi, what are your timings on Sunday?", "Thanks, Received With Thanks",
        "Table for 6 at 8 pm please", "Rs 12,500 paid via NEFT, ref 20240312", "Tower B, 14th floor view?",
        "Is parking included in the 2 BHK?", "Grace period for EMI is 5 days?", "Room 1204 AC not cooling",
        "Do you deliver to Sector 62?", "The Hilton Garden Inn package looks good", "Apple iPhone 15 in stock?",
        "Will Jordan shoes size 9 be back?", "Summer Sale ends on 30 June?",
    ),
    "hinglish": (
        "bhai rate kya hai 2 BHK ka", "kal 11 baje aa jaunga site pe", "Sector 21 mein delivery hoti hai?",
        "payment 15,000 kar diya, UTR 404512345678", "Block A ka flat dikhao", "total kitna hoga 3 piece ka",
        "Diwali offer kab tak hai", "Galaxy S24 ka exchange price batao",
    ),
    "devanagari": (
        "कल 11 बजे आ सकते हैं?", "2 BHK का किराया कितना है?", "ऑर्डर 4512369870 अभी तक नहीं आया",
        "सेक्टर 62 में डिलीवरी होती है?", "दिवाली ऑफर कब तक है?",
    ),
}  # fmt: skip
