"""Word lists for synthetic Indian personal data: names, places, banks, mail and UPI providers.

Hand-written, no network data. Devanagari lists carry their own spellings (not transliterated on the fly).
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_NAMES = (
    "Rahul", "Priya", "Amit", "Sneha", "Vikram", "Ananya", "Arjun", "Kavya", "Rohan", "Neha", "Sanjay",
    "Suresh", "Lakshmi", "Venkatesh", "Karthik", "Divya", "Meera", "Imran", "Ayesha", "Farhan", "Zoya",
    "Gurpreet", "Harpreet", "Simran", "Joseph", "Thomas", "Anil", "Sunita", "Ramesh", "Geeta", "Abhishek",
    "Shreya", "Aditya", "Ishita", "Siddharth", "Tanvi", "Nikhil", "Ritu", "Manoj", "Anjali", "Harish",
    "Lalitha", "Srinivas", "Bhavana", "Ravi", "Swati", "Vivek", "Pallavi", "Gaurav", "Nandini", "Yash",
    "Aarti", "Mohammed", "Fatima", "Sameer", "Rekha", "Prakash", "Deepika", "Naveen", "Shalini",
    "Pooja", "Deepak", "Kiran", "Anand", "Asha", "Sagar", "Suraj", "Prem",
    # less common names, not in the engine's list: only a trigger phrase or capitals can tell they are names
    "Tejaswini", "Oindrila", "Hrithik", "Mrunal", "Paramjit", "Lavanya", "Dhanush", "Sushmita", "Jayant", "Ojas",
    "Chandrakant", "Bhupinder", "Nivedita", "Zubair", "Kshitij",
)  # fmt: skip
LAST_NAMES = (
    "Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel", "Shah", "Mehta", "Reddy", "Rao", "Nair", "Menon",
    "Iyer", "Pillai", "Das", "Chatterjee", "Banerjee", "Mukherjee", "Ghosh", "Bose", "Joshi", "Kulkarni",
    "Deshpande", "Patil", "Jadhav", "Khan", "Sheikh", "Qureshi", "Ansari", "Siddiqui", "Gill", "Sandhu",
    "Dhillon", "Agarwal", "Jain", "Bansal", "Chauhan", "Yadav", "Mishra", "Tiwari", "Pandey", "Dubey",
    "Naidu", "Hegde", "Shetty", "Fernandes", "D'Souza", "Mathew", "Kurian", "Bhatt", "Saxena", "Kapoor",
    "Wagh", "Lobo", "Barua", "Thapa", "Nadar", "Gaikwad", "Sodhi", "Rizvi", "Mahapatra", "Kaul",
)  # fmt: skip
# First names that are also ordinary words: the hard negatives use the words, not the names.
WORD_NAMES = ("Pooja", "Deepak", "Kiran", "Anand", "Asha", "Sagar", "Suraj", "Prem")

FIRST_NAMES_DEVA = (
    "राहुल", "प्रिया", "अमित", "स्नेहा", "विक्रम", "अनन्या", "अर्जुन", "रोहन", "नेहा", "संजय", "सुरेश", "सुनीता",
    "रमेश", "गीता", "अभिषेक", "श्रेया", "आदित्य", "निखिल", "रितु", "मनोज", "अंजलि", "रवि", "स्वाति", "विवेक",
    "पल्लवी", "गौरव", "आरती", "प्रकाश", "रेखा", "दीपिका",
)  # fmt: skip
LAST_NAMES_DEVA = (
    "शर्मा", "वर्मा", "गुप्ता", "सिंह", "कुमार", "पटेल", "शाह", "मेहता", "जोशी", "यादव", "मिश्रा", "तिवारी",
    "पांडे", "दुबे", "अग्रवाल", "जैन", "चौहान", "खान", "सक्सेना", "श्रीवास्तव",
)  # fmt: skip
TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.", "Shri", "Smt.")


@dataclass(frozen=True, slots=True)
class City:
    name: str
    pin_prefix: str  # first three digits of the city's PIN codes
    state_code: str  # vehicle registration prefix
    localities: tuple[str, ...]


CITIES = (
    City(
        "Mumbai",
        "400",
        "MH",
        ("Andheri West", "Bandra West", "Powai", "Borivali East", "Dadar", "Malad West"),
    ),
    City("Pune", "411", "MH", ("Kothrud", "Baner", "Viman Nagar", "Hadapsar", "Aundh", "Wakad")),
    City(
        "Delhi", "110", "DL", ("Lajpat Nagar", "Rohini", "Dwarka", "Karol Bagh", "Mayur Vihar", "Janakpuri")
    ),
    City("Noida", "201", "UP", ("Sector 62", "Sector 18", "Sector 137", "Sector 50")),
    City("Gurugram", "122", "HR", ("DLF Phase 3", "Sohna Road", "Sector 56", "Palam Vihar")),
    City("Bengaluru", "560", "KA", ("Indiranagar", "Koramangala", "Whitefield", "HSR Layout", "Jayanagar")),
    City("Chennai", "600", "TN", ("T. Nagar", "Adyar", "Velachery", "Anna Nagar", "Mylapore")),
    City("Hyderabad", "500", "TS", ("Banjara Hills", "Kukatpally", "Madhapur", "Gachibowli", "Ameerpet")),
    City("Kolkata", "700", "WB", ("Salt Lake", "Behala", "Garia", "New Town", "Ballygunge")),
    City("Ahmedabad", "380", "GJ", ("Navrangpura", "Satellite", "Maninagar", "Bopal", "Vastrapur")),
    City("Jaipur", "302", "RJ", ("Malviya Nagar", "Vaishali Nagar", "Mansarovar", "C-Scheme", "Raja Park")),
    City("Lucknow", "226", "UP", ("Gomti Nagar", "Aliganj", "Indira Nagar", "Hazratganj", "Alambagh")),
    City("Kochi", "682", "KL", ("Kakkanad", "Edappally", "Vyttila", "Kaloor", "Palarivattom")),
    City("Indore", "452", "MP", ("Vijay Nagar", "Palasia", "Rajendra Nagar", "Bhawarkua")),
    City("Patna", "800", "BR", ("Kankarbagh", "Boring Road", "Rajendra Nagar", "Patliputra Colony")),
    City("Chandigarh", "160", "CH", ("Sector 22", "Sector 35", "Sector 44", "Manimajra")),
    # cities and localities the engine's list does not hold
    City("Hubballi", "580", "KA", ("Vidyanagar", "Keshwapur", "Gokul Road")),
    City("Tiruppur", "641", "TN", ("Kumar Nagar", "Avinashi Road", "Anupparpalayam")),
    City("Bhilwara", "311", "RJ", ("Azad Nagar", "Shastri Nagar", "Pur Road")),
    City("Kottayam", "686", "KL", ("Nagampadam", "Kanjikuzhy", "Collectorate")),
)
BUILDINGS = (
    "Sai Krupa Apartments", "Shanti Niketan Society", "Green Park Residency", "Prestige Lakeside",
    "Sunshine Heights", "Gokuldham Society", "Shree Ganesh Complex", "Lotus Enclave", "Royal Palms",
    "Om Sai CHS", "Balaji Residency", "Brigade Meadows", "DLF Capital Greens", "Ashiana Towers",
    "Orchid Petals", "Lodha Amara", "Nirmal Lifestyle", "Mantri Elegance",
)  # fmt: skip
STREETS = (
    "MG Road", "Link Road", "Station Road", "14th Cross", "4th Main", "100 Feet Road", "Nehru Marg",
    "Gali No. 4", "Tilak Road", "Church Street", "Mall Road", "Gandhi Path", "Ring Road", "Temple Street",
    "Sarojini Naidu Marg", "Old Airport Road", "Lane 7", "2nd Cross",
)  # fmt: skip
LANDMARKS = (
    "near Hanuman Mandir", "opp. SBI ATM", "behind City Hospital", "near Reliance Fresh", "opp. Bus Depot",
    "near DAV School", "next to Axis Bank", "opposite Gurudwara", "behind Big Bazaar", "near Metro Pillar 112",
)  # fmt: skip
# Places a business is asked about: its stores, malls, areas. Not anybody's address.
PUBLIC_PLACES = (
    "MG Road", "Phoenix Mall", "Andheri West", "Connaught Place", "Sector 18 market", "Forum Mall, Koramangala",
    "Linking Road", "Inorbit Mall Malad", "the station road outlet", "Brigade Road",
)  # fmt: skip

CITIES_DEVA = (
    ("जयपुर", "302", ("मालवीय नगर", "वैशाली नगर", "मानसरोवर", "राजा पार्क")),
    ("लखनऊ", "226", ("गोमती नगर", "अलीगंज", "इंदिरा नगर", "आलमबाग")),
    ("पटना", "800", ("कंकड़बाग", "बोरिंग रोड", "राजेंद्र नगर")),
    ("भोपाल", "462", ("अरेरा कॉलोनी", "कोलार रोड", "शाहपुरा")),
    ("इंदौर", "452", ("विजय नगर", "पलासिया", "राजेंद्र नगर")),
    ("वाराणसी", "221", ("लंका", "सिगरा", "भेलूपुर")),
    ("दिल्ली", "110", ("लाजपत नगर", "रोहिणी", "द्वारका", "करोल बाग")),
    ("कानपुर", "208", ("स्वरूप नगर", "किदवई नगर", "गोविंद नगर")),
)
STREETS_DEVA = ("गली नं. 4", "स्टेशन रोड", "गांधी मार्ग", "नेहरू मार्ग", "सिविल लाइन्स", "मेन रोड")
LANDMARKS_DEVA = ("हनुमान मंदिर के पास", "SBI ATM के सामने", "सरकारी स्कूल के पीछे")

MAIL_DOMAINS = (
    "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "yahoo.co.in", "rediffmail.com", "outlook.com",
    "hotmail.com", "icloud.com", "infosys.com", "tcs.com", "protonmail.com",
)  # fmt: skip
UPI_HANDLES = ("okaxis", "oksbi", "okhdfcbank", "okicici", "ybl", "ibl", "axl", "paytm", "upi", "apl")

# IFSC prefixes: four letters of the bank; the fifth character is always 0.
BANKS = {
    "SBIN": (11,),  # SBI accounts: 11 digits
    "HDFC": (14,),
    "ICIC": (12,),
    "UTIB": (15,),  # Axis
    "KKBK": (10,),  # Kotak
    "PUNB": (16,),
    "BARB": (14,),
    "CNRB": (13,),
    "IDIB": (10,),
    "YESB": (15,),
}

# IBAN country formats (BBAN pattern as (kind, length) runs): NRI customers' foreign accounts.
IBAN_FORMATS = {
    "GB": (("A", 4), ("N", 14)),
    "DE": (("N", 18),),
    "AE": (("N", 19),),
    "NL": (("A", 4), ("N", 10)),
    "IE": (("A", 4), ("N", 14)),
}

# Hindi numbers 10-99 as a speaker says them, each its own word: romanized (common spellings, the first most
# usual) and Devanagari, one decade per line. Written here for the generator, apart from the engine's own list.
_HINDI_PAIRS = (
    "das gyarah barah terah chaudah pandrah solah satrah atharah unnis",
    "bees ikkis bais teis chaubis pachchis chhabbis sattais atthais untis",
    "tees iktis battis taintis chauntis paintis chhattis saintis adtis untalis",
    "chalis iktalis bayalis taintalis chawalis paintalis chhiyalis saintalis adtalis unchas",
    "pachas ikyavan bavan tirpan chauvan pachpan chhappan sattavan atthavan unsath",
    "saath iksath basath tirsath chaunsath painsath chhiyasath sadsath adsath unhattar",
    "sattar ikhattar bahattar tihattar chauhattar pachhattar chhihattar sathattar athhattar unyasi",
    "assi ikyasi bayasi tirasi chaurasi pachasi chhiyasi sattasi atthasi navasi",
    "nabbe ikyanve banve tiranve chauranve pachanve chhiyanve sattanve atthanve ninyanve",
)
_HINDI_PAIRS_DEVA = (
    "दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह अठारह उन्नीस",
    "बीस इक्कीस बाईस तेईस चौबीस पच्चीस छब्बीस सत्ताईस अट्ठाईस उनतीस",
    "तीस इकतीस बत्तीस तैंतीस चौंतीस पैंतीस छत्तीस सैंतीस अड़तीस उनतालीस",
    "चालीस इकतालीस बयालीस तैंतालीस चवालीस पैंतालीस छियालीस सैंतालीस अड़तालीस उनचास",
    "पचास इक्यावन बावन तिरेपन चौवन पचपन छप्पन सत्तावन अट्ठावन उनसठ",
    "साठ इकसठ बासठ तिरेसठ चौंसठ पैंसठ छियासठ सड़सठ अड़सठ उनहत्तर",
    "सत्तर इकहत्तर बहत्तर तिहत्तर चौहत्तर पचहत्तर छिहत्तर सतहत्तर अठहत्तर उन्यासी",
    "अस्सी इक्यासी बयासी तिरासी चौरासी पचासी छियासी सत्तासी अट्ठासी नवासी",
    "नब्बे इक्यानवे बानवे तिरानवे चौरानवे पचानवे छियानवे सत्तानवे अट्ठानवे निन्यानवे",
)
# Other spellings transcripts hold for a few of them.
_HINDI_PAIR_VARIANTS = {50: ("pachaas",), 25: ("pachis",), 11: ("gyaarah",), 12: ("baarah",), 90: ("nabbey",)}


def _pairs(decades: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
    words = [w for decade in decades for w in decade.split()]
    return {n: (word,) for n, word in enumerate(words, start=10)}


HINDI_PAIRS: dict[int, tuple[str, ...]] = {
    n: words + _HINDI_PAIR_VARIANTS.get(n, ()) for n, words in _pairs(_HINDI_PAIRS).items()
}
HINDI_PAIRS_DEVA: dict[int, tuple[str, ...]] = _pairs(_HINDI_PAIRS_DEVA)
