"""Phrases customers send, per entity type and language; `{v}` is where the value goes.

Also the PII-free material: small talk, and hard negatives (`{n}`: a business reference, a price, a time, a
look-alike with a wrong checksum) that a careless detector masks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.pii.labels import Label as E

if TYPE_CHECKING:
    from bench.pii.surface import Language

Phrases = dict["Language", tuple[str, ...]]

PII_PHRASES: dict[E, Phrases] = {
    E.PHONE: {
        "en": (
            "My number is {v}", "call me on {v}", "you can reach me at {v}", "my whatsapp no. is {v}",
            "Pls call {v} after 6", "alternate number: {v}", "{v} is my husband's number, call him for delivery",
        ),
        "hinglish": (
            "mera number {v} hai", "is number pe call karo {v}", "{v} pe whatsapp kar dena",
            "mere bhai ka number {v} hai", "delivery ke time {v} pe call karna",
        ),
        "devanagari": ("मेरा नंबर {v} है", "इस नंबर पर कॉल करें {v}", "{v} पर व्हाट्सएप कर दीजिए", "मेरे पति का नंबर {v} है"),
    },
    E.EMAIL: {
        "en": ("my email is {v}", "send the invoice to {v}", "mail me at {v}", "Email: {v}"),
        "hinglish": ("mera email {v} hai", "invoice {v} pe bhej do", "{v} pe mail kar dijiye"),
        "devanagari": ("मेरा ईमेल {v} है", "बिल {v} पर भेज दीजिए"),
    },
    E.CARD: {
        "en": ("card number {v}", "charge it to my card {v}", "my credit card is {v}, expiry next year"),
        "hinglish": ("mera card number {v} hai", "is card se payment karo {v}"),
        "devanagari": ("मेरा कार्ड नंबर {v} है", "कार्ड {v} से पेमेंट कर दीजिए"),
    },
    E.AADHAAR: {
        "en": ("my Aadhaar is {v}", "Aadhaar no: {v}", "aadhar number {v} for KYC"),
        "hinglish": ("mera aadhar number {v} hai", "KYC ke liye aadhaar {v}", "aadhar card no {v}"),
        "devanagari": ("मेरा आधार नंबर {v} है", "आधार कार्ड संख्या {v}"),
    },
    E.PAN: {
        "en": ("PAN: {v}", "my PAN card number is {v}", "PAN no {v} for the invoice"),
        "hinglish": ("mera PAN {v} hai", "pan card number {v} likh lo"),
        "devanagari": ("मेरा पैन नंबर {v} है", "पैन कार्ड {v}"),
    },
    E.IBAN: {
        "en": ("my IBAN is {v}", "please refund to IBAN {v}", "transfer to {v} (my account abroad)"),
        "hinglish": ("refund is IBAN pe karo {v}", "mera IBAN {v} hai, Dubai wala account"),
        "devanagari": ("मेरा IBAN {v} है", "रिफंड IBAN {v} पर भेजें"),
    },
    E.UPI: {
        "en": ("my UPI id is {v}", "pay to {v}", "send the refund on {v}", "GPay {v}"),
        "hinglish": ("refund {v} pe bhej do", "mera UPI {v} hai", "{v} pe paise daal do"),
        "devanagari": ("मेरी UPI आईडी {v} है", "पैसे {v} पर भेज दीजिए"),
    },
    E.VOTER_ID: {
        "en": ("voter ID {v}", "my EPIC number is {v}", "Voter card no. {v} as ID proof"),
        "hinglish": ("mera voter id {v} hai", "ID proof ke liye voter card {v}"),
        "devanagari": ("मेरा वोटर आईडी {v} है", "मतदाता पहचान पत्र संख्या {v}"),
    },
    E.PASSPORT: {
        "en": ("passport no {v}", "my passport number is {v}", "Passport: {v}, valid till 2031"),
        "hinglish": ("mera passport number {v} hai", "passport {v} ki copy bhej raha hoon"),
        "devanagari": ("मेरा पासपोर्ट नंबर {v} है", "पासपोर्ट संख्या {v}"),
    },
    E.VEHICLE: {
        "en": ("my car number is {v}", "vehicle no. {v}", "bike {v} for service"),
        "hinglish": ("gaadi number {v} hai", "meri bike {v} ki servicing karni hai", "{v} wali car ka insurance"),
        "devanagari": ("गाड़ी नंबर {v} है", "मेरी बाइक {v} की सर्विस करनी है"),
    },
    E.GSTIN: {
        "en": ("our GSTIN is {v}", "GST no {v}, please add it on the bill", "GSTIN: {v}"),
        "hinglish": ("bill pe GST number {v} daal dena", "hamara GSTIN {v} hai"),
        "devanagari": ("हमारा GST नंबर {v} है", "बिल पर GSTIN {v} लिखें"),
    },
    E.IFSC: {
        "en": ("IFSC {v}", "IFSC code is {v}", "branch IFSC: {v}"),
        "hinglish": ("IFSC code {v} hai", "ifsc {v}"),
        "devanagari": ("IFSC कोड {v} है",),
    },
    E.BANK_ACCOUNT: {
        "en": ("account number {v}", "a/c no {v}", "refund to my account {v}", "my savings account is {v}"),
        "hinglish": ("mera account number {v} hai", "a/c {v} mein refund karo", "khata number {v}"),
        "devanagari": ("मेरा खाता नंबर {v} है", "खाता संख्या {v} में पैसे भेजें"),
    },
    E.IP: {
        "en": ("my IP is {v}", "login blocked from {v}", "the router shows {v}"),
        "hinglish": ("mera IP {v} hai", "{v} se login nahi ho raha"),
        "devanagari": ("मेरा IP {v} है", "{v} से लॉगिन नहीं हो रहा"),
    },
    E.DOB: {
        "en": ("DOB {v}", "date of birth: {v}", "I was born on {v}", "my DOB is {v}"),
        "hinglish": ("meri DOB {v} hai", "janam tithi {v}", "date of birth {v} hai"),
        "devanagari": ("मेरी जन्म तिथि {v} है", "जन्मतिथि: {v}"),
    },
    E.PERSON: {
        "en": (
            "This is {v}", "my name is {v}", "I am {v}", "the order is for {v}", "{v} here", "please deliver to {v}",
            "Regards, {v}", "Thanks, {v}", "{v} this side", "customer name: {v}", "Name - {v}",
            "it's {v} from yesterday's call", "hand it over to {v} at the gate", "I'm {v}, ordered last week",
        ),
        "hinglish": (
            "mera naam {v} hai", "main {v} bol raha hoon", "{v} ke naam pe bill banana", "parcel {v} ko dena",
            "naam {v} likh lo", "{v} bol rahi hoon", "bill {v} ke naam se banao", "myself {v}",
        ),
        "devanagari": (
            "मेरा नाम {v} है", "मैं {v} बोल रहा हूँ", "बिल {v} के नाम पर बनाइए", "मैं {v} हूँ", "पार्सल {v} को देना",
            "{v} को call करो", "मेरा नाम है {v}", "{v} जी से बात करवा दो", "धन्यवाद, {v}", "नाम {v} लिख लीजिए",
            "कृपया {v} को फोन कर दीजिए",
        ),
    },
    E.ADDRESS: {
        "en": (
            "deliver to {v}", "my address: {v}", "Address - {v}", "ship it to {v}", "I stay at {v}",
            "pickup from {v} please", "new address is {v}, please update",
        ),
        "hinglish": (
            "address hai {v}", "is address pe bhej do: {v}", "delivery address {v}", "ghar ka address {v} hai",
            "{v} pe pickup karna",
        ),
        "devanagari": ("पता: {v}", "मेरा पता {v} है", "इस पते पर भेजें: {v}", "घर का पता {v} है"),
    },
}  # fmt: skip

# How often a type is mentioned, relative; voice notes rarely carry IBANs, GSTINs or IP addresses.
WEIGHTS_WRITTEN: dict[E, float] = {
    E.PHONE: 3, E.EMAIL: 2, E.PERSON: 3, E.ADDRESS: 2, E.UPI: 1.5, E.AADHAAR: 1.2, E.PAN: 1.2, E.CARD: 1,
    E.DOB: 1, E.BANK_ACCOUNT: 1, E.IFSC: 0.8, E.VEHICLE: 0.8, E.GSTIN: 0.7, E.PASSPORT: 0.7, E.VOTER_ID: 0.7,
    E.IBAN: 0.6, E.IP: 0.6,
}  # fmt: skip
WEIGHTS_SPOKEN: dict[E, float] = {**WEIGHTS_WRITTEN, E.IBAN: 0.3, E.GSTIN: 0.4, E.IP: 0.3, E.PHONE: 4}

SMALL_TALK: Phrases = {
    "en": (
        "Is the blue kurta available in XL?", "What are your timings on Sunday?", "Do you have this in stock?",
        "Can I return it if it doesn't fit?", "How long does delivery take?", "Thanks, received the parcel",
        "Please share the catalogue", "Is COD available?", "ok", "Great, thank you!",
        "What's the warranty on this model?", "Can you send more photos?", "Any discount for bulk orders?",
        "The colour looks different from the photo", "I want to cancel my order", "Need an invoice with GST",
    ),
    "hinglish": (
        "kya ye XL mein available hai?", "COD hai kya?", "kitne din mein delivery hogi?", "thik hai bhaiya",
        "photo bhejo na", "discount milega kya?", "return policy kya hai?", "kal tak mil jayega?", "ok ji",
        "bahut badhiya, thanks", "size chhota aa gaya, exchange karna hai", "abhi tak parcel nahi aaya",
    ),
    "devanagari": (
        "क्या यह XL में मिलेगा?", "डिलीवरी कब तक होगी?", "कैश ऑन डिलीवरी है क्या?", "ठीक है, धन्यवाद",
        "फोटो भेजिए", "कोई डिस्काउंट मिलेगा?", "साइज़ छोटा है, बदलना है", "अभी तक पार्सल नहीं आया",
    ),
}  # fmt: skip
OPENERS: Phrases = {
    "en": ("Hi", "Hello", "Good morning", "Hey", "Hi there"),
    "hinglish": ("Hi bhaiya", "Namaste ji", "Hello sir", "hello madam", "Hii"),
    "devanagari": ("नमस्ते", "नमस्ते जी", "हैलो सर"),
}
CLOSERS: Phrases = {
    "en": ("thanks", "please confirm", "thank you!", "asap please"),
    "hinglish": ("jaldi batao", "thank you ji", "please confirm kar do", "dhanyavaad"),
    "devanagari": ("धन्यवाद", "जल्दी बताइए", "कृपया पुष्टि करें"),
}
FILLERS: Phrases = {
    "en": ("umm", "so", "actually", "hello", "yeah so", "okay"),
    "hinglish": ("haan", "toh", "actually", "hello ji", "achha", "umm"),
    "devanagari": ("अच्छा", "हाँ", "तो", "हैलो"),
}

# Hard negatives: `{n}` is generated by the decoy kind's generator (bench/pii/dataset.py).
DECOY_PHRASES: dict[str, Phrases] = {
    "order": {
        "en": ("Order {n} not delivered yet", "where is my order {n}?", "order id {n} shows cancelled"),
        "hinglish": ("order {n} kab aayega?", "mera order {n} abhi tak nahi aaya"),
        "devanagari": ("ऑर्डर {n} अभी तक नहीं आया", "ऑर्डर नंबर {n} का स्टेटस बताइए"),
    },
    "awb": {
        "en": ("AWB {n} shows in transit", "tracking no {n}", "courier tracking id is {n}"),
        "hinglish": ("AWB {n} ka status batao", "tracking number {n} pe kuch nahi dikh raha"),
        "devanagari": ("ट्रैकिंग नंबर {n}", "AWB {n} का स्टेटस क्या है?"),
    },
    "pnr": {
        "en": ("PNR {n}, my train is late, can you deliver tomorrow?", "travelling on PNR {n}"),
        "hinglish": ("PNR {n} hai, kal travel kar raha hoon", "train ka PNR {n} confirm nahi hua"),
        "devanagari": ("PNR {n} है, कल यात्रा है",),
    },
    "utr": {
        "en": ("paid, UTR {n}", "UPI ref no {n}", "transaction id {n}, please check"),
        "hinglish": ("payment ho gaya, UTR {n}", "UPI ref {n} dekh lo"),
        "devanagari": ("भुगतान हो गया, UTR {n}", "ट्रांजैक्शन आईडी {n}"),
    },
    "invoice": {
        "en": ("invoice {n} attached", "please resend invoice {n}"),
        "hinglish": ("bill no {n} check karo", "invoice {n} mein galti hai"),
        "devanagari": ("बिल नंबर {n}", "इनवॉइस {n} दोबारा भेजिए"),
    },
    "ticket": {
        "en": ("complaint {n} is still open", "ticket {n} not resolved"),
        "hinglish": ("ticket {n} abhi tak close nahi hua", "complaint number {n} hai"),
        "devanagari": ("शिकायत नंबर {n}", "टिकट {n} अभी भी खुला है"),
    },
    "price": {
        "en": ("is it {n}?", "my budget is {n}", "total {n} right?", "paid {n} yesterday"),
        "hinglish": ("{n} mein de doge?", "price {n} hai kya", "total {n} hua"),
        "devanagari": ("कीमत {n} है क्या?", "कुल {n} हुआ"),
    },
    "quantity": {
        "en": ("need {n}", "send {n} please"),
        "hinglish": ("{n} chahiye", "{n} bhej do"),
        "devanagari": ("{n} चाहिए",),
    },
    "time": {
        "en": ("come at {n}", "shop open till {n}?"),
        "hinglish": ("{n} tak aa jaana", "{n} ke baad call karna"),
        "devanagari": ("{n} तक आ जाइए",),
    },
    "pin": {
        "en": ("do you deliver to pincode {n}?", "is {n} serviceable?"),
        "hinglish": ("pincode {n} pe delivery hai?", "{n} pin code mein COD milega?"),
        "devanagari": ("पिनकोड {n} पर डिलीवरी होती है?",),
    },
    "version": {
        "en": ("app version {n} keeps crashing", "updated to {n}, still not working"),
        "hinglish": ("app {n} update kiya, ab bhi crash", "version {n} mein login nahi ho raha"),
        "devanagari": ("ऐप {n} में दिक्कत है",),
    },
    "date": {
        "en": ("deliver on {n} please", "appointment on {n}", "delivery date {n}"),
        "hinglish": ("{n} ko delivery chahiye", "{n} tak bhej dena"),
        "devanagari": ("{n} को डिलीवरी चाहिए",),
    },
    "city": {
        "en": ("do you deliver to {n}?", "any store in {n}?"),
        "hinglish": ("{n} mein shop hai kya?", "{n} tak shipping kitna hai?"),
        "devanagari": ("{n} में दुकान है क्या?",),
    },
    "card_lookalike": {
        "en": ("gift voucher no {n}", "coupon code {n} not working"),
        "hinglish": ("voucher {n} apply nahi ho raha",),
        "devanagari": ("वाउचर {n} काम नहीं कर रहा",),
    },
    "aadhaar_lookalike": {
        "en": ("IMPS ref {n}", "consignment {n}"),
        "hinglish": ("refund ref {n} aaya hai",),
        "devanagari": ("रेफरेंस नंबर {n}",),
    },
    "pan_lookalike": {
        "en": ("SKU {n} is out of stock?", "batch no {n}"),
        "hinglish": ("model {n} wala chahiye",),
        "devanagari": ("मॉडल {n} चाहिए",),
    },
    "gstin_lookalike": {
        "en": ("serial number {n}", "warranty code {n}"),
        "hinglish": ("serial no {n} hai",),
        "devanagari": ("सीरियल नंबर {n}",),
    },
    "iban_lookalike": {
        "en": ("reference {n} from the bank", "SWIFT ref {n}"),
        "hinglish": ("bank ka reference {n} hai",),
        "devanagari": ("बैंक रेफरेंस {n}",),
    },
    "place": {
        "en": (
            "is your {n} store open on Sunday?", "do you have a showroom near {n}?", "pickup point at {n} works",
            "which branch is closer to {n}?",
        ),
        "hinglish": ("{n} wala store kab khulta hai?", "{n} ke paas koi outlet hai?"),
        "devanagari": ("{n} वाली दुकान कब खुलती है?",),
    },
    "phone_lookalike": {
        "en": ("consumer no {n} for the electricity bill", "my meter number is {n}"),
        "hinglish": ("bijli ka consumer number {n} hai",),
        "devanagari": ("उपभोक्ता संख्या {n}",),
    },
}  # fmt: skip

# Words that are also first names, used as words: no name in these.
NAME_WORDS: Phrases = {
    "en": (
        "Will it be delivered by Friday?", "Hope it arrives before Diwali", "Is rose gold colour available?",
        "Is there a grace period for returns?", "Need a Raja size mattress", "The joy of gifting, wrap it please",
        "Sunny side up egg tray in stock?", "Kiran lamp in 9 watt available?",
    ),
    "hinglish": (
        "pooja ke liye samagri chahiye", "bahut sundar saree hai", "asha hai kal tak mil jayega",
        "deepak aur diya ka set hai?", "Lakshmi pooja ka saman bhejo", "prem se pack karna please",
        "bahut anand aaya shopping karke", "sagar wala print chahiye", "suraj dhalne se pehle aa jaana",
        "Ganesh ji ki murti 2 feet ki hai?",
    ),
    "devanagari": (
        "पूजा के लिए सामग्री चाहिए", "बहुत सुंदर साड़ी है", "आशा है कल तक मिल जाएगा", "दीपक का सेट है क्या?",
        "प्रेम से पैक करना", "सूरज ढलने से पहले आ जाना",
    ),
}  # fmt: skip
