"""PERSON and ADDRESS by rule: triggers, honorifics, known pairs; address components in a row."""

from __future__ import annotations

import pytest

from pipelines.pii import EntityType, Minimizer


def _found(text: str) -> list[tuple[EntityType, str]]:
    return [(s.type, text[s.start : s.end]) for s in Minimizer().scan(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, my name is Priya Sharma, I need a quote", "Priya Sharma"),
        ("this is Rahul from Baner", "Rahul"),
        ("main Ramesh Kumar bol raha hoon", "Ramesh Kumar"),
        ("mera naam Sunita hai", "Sunita"),
        ("Mr. Kapoor called yesterday", "Kapoor"),
        ("please ask Anjali Verma to call", "Anjali Verma"),
        ("my name is zorawar bhangu", "zorawar bhangu"),
        ("मेरा नाम अनिल है", "अनिल"),
        ("Arjun ke naam pe bill banana", "Arjun"),
        ("तो बिल गीता के नाम पर बनाइए", "गीता"),
        ("parcel Ramesh ko dena", "Ramesh"),
        ("Hello please deliver to Prakash", "Prakash"),
        ("my name is Prem D'Souza", "Prem D'Souza"),
    ],
)
def test_person_names(text: str, name: str) -> None:
    assert (EntityType.PERSON, name) in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "this is urgent",
        "I am interested in solar",
        "I am in Pune",
        "Sunny day today",
        "is the rose colour nice?",
        "I saw your ad on MG Road",
        "Dr appointment kab hai",
        "please deliver to Pune by Monday",
        "is it good for home use?",
        "bill ke naam pe kya likhna hai?",
        "order ko dena hai kal",
    ],
)
def test_not_person_names(text: str) -> None:
    assert all(t is not EntityType.PERSON for t, _ in _found(text))


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Flat 302, Sai Heights, Baner Road, Pune 411045", "Flat 302, Sai Heights, Baner Road, Pune 411045"),
        ("deliver to house no 45, shanti nagar, nagpur please", "house no 45, shanti nagar, nagpur"),
        ("near Dagdusheth mandir, Budhwar Peth, Pune", "near Dagdusheth mandir, Budhwar Peth, Pune"),
        ("B-204, Sector 21, Noida", "B-204, Sector 21, Noida"),
        # two components with the same extent (a locality that is also "<word> nagar") once crashed the sort
        (
            "Address - House No. 102, next to Axis Bank, Anna Nagar, Chennai 600096",
            "House No. 102, next to Axis Bank, Anna Nagar, Chennai 600096",
        ),
    ],
)
def test_addresses(text: str, address: str) -> None:
    assert (EntityType.ADDRESS, address) in _found(text)


@pytest.mark.parametrize(
    "text",
    ["I live in Pune", "pincode 411001 hai", "price is 190000 for 3 kW", "Pune 411001 mein service hai?"],
)
def test_not_addresses(text: str) -> None:
    assert all(t is not EntityType.ADDRESS for t, _ in _found(text))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Thanks, Hrithik Rizvi", "Hrithik Rizvi"),  # a sign-off ending the message
        ("do you deliver to pincode 201091? Regards, Amit", "Amit"),
        ("is it ₹2,125? Suresh here", "Suresh"),  # name-final phrases
        ("Rahul this side, need a quote", "Rahul"),
        ("बिल श्रेया जैन के नाम पर बनाइए", "श्रेया जैन"),  # Devanagari name lists
        ("main Ishita Nair bol raha hoon", "Ishita Nair"),
        ("toh main rohan mahapatra bol raha hoon", "rohan mahapatra"),  # unlisted surname after a given name
        ("I am Nivedita Bhatt", "Nivedita Bhatt"),  # two capitalized words after "I am"
        ("myself Oindrila Barua, account details below", "Oindrila Barua"),
        ("hand it over to Sameer at the gate", "Sameer"),
        ("naam Tejaswini likh lo", "Tejaswini"),
        ("customer name Imran please", "Imran"),
        ("Ramesh ji se baat karo", "Ramesh"),
    ],
)
def test_person_names_in_more_phrasings(text: str, name: str) -> None:
    assert (EntityType.PERSON, name) in _found(text)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("the order is for Thomas GSTIN 09FLSTA0328D6ZX", "GSTIN"),  # an acronym continues no name
        ("Ganesh ji ki murti 2 feet ki hai?", "Ganesh"),  # a god, not a person
        ("Thanks, Great service", "Great"),  # a sign-off word that does not end the message
        ("I am Interested in the offer", "Interested"),
    ],
)
def test_words_that_are_not_names(text: str, absent: str) -> None:
    assert all(absent not in surface for t, surface in _found(text) if t is EntityType.PERSON)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        # locality and building names no list holds, between components
        (
            "Address - House No. 968, DLF Capital Greens, Kaloor, Kochi, PIN 682048, consumer no 2193102945",
            "House No. 968, DLF Capital Greens, Kaloor, Kochi, PIN 682048",
        ),
        ("deliver to #397, Aliganj, Lucknow - 226092, thanks", "#397, Aliganj, Lucknow - 226092"),
        (
            "new address is Plot 9, Nirmal Lifestyle, Hubballi 580025.",
            "Plot 9, Nirmal Lifestyle, Hubballi 580025",
        ),
        # Devanagari components and a Hindi landmark
        (
            "पता: मकान नं. 141, गांधी मार्ग, अरेरा कॉलोनी, भोपाल, PIN 462096",
            "मकान नं. 141, गांधी मार्ग, अरेरा कॉलोनी, भोपाल, PIN 462096",
        ),
        (
            "फ्लैट 2008, हनुमान मंदिर के पास, गोमती नगर, लखनऊ - 226048 धन्यवाद",
            "फ्लैट 2008, हनुमान मंदिर के पास, गोमती नगर, लखनऊ - 226048",
        ),
        # pasted as lines
        (
            "Address -\nPlot 245\nRoyal Palms\nTilak Road\nGurugram 122020",
            "Plot 245\nRoyal Palms\nTilak Road\nGurugram 122020",
        ),
        # said aloud: house numbers in words, "4th main", a Hinglish landmark
        (
            "address hai c nine seven ashiana towers gali number four kankarbagh patna 800027 please",
            "c nine seven ashiana towers gali number four kankarbagh patna 800027",
        ),
        (
            "plot one six DLF Capital Greens near DAV School Sector 44 Chandigarh",
            "plot one six DLF Capital Greens near DAV School Sector 44 Chandigarh",
        ),
        ("hanuman mandir ke paas, Flat 12, MG Road, Pune", "hanuman mandir ke paas, Flat 12, MG Road, Pune"),
        (
            "पता: मकान नं. 212, sbi atm के सामने, कोलार रोड, भोपाल 462041. जल्दी",
            "मकान नं. 212, sbi atm के सामने, कोलार रोड, भोपाल 462041",
        ),
    ],
)
def test_addresses_in_more_layouts(text: str, address: str) -> None:
    assert (EntityType.ADDRESS, address) in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "Brigade Road ke paas koi outlet hai?",  # a store's place, one component
        "is your MG Road store open on Sunday?",
        "Flat 12 wala offer abhi hai? Pune mein delivery kab tak",  # a sentence between the parts
        "delivery 11/07/2025 ko, Pune",  # a date is no house number
        "Shop open till 9? I live in Pune",
    ],
)
def test_places_that_are_not_addresses(text: str) -> None:
    assert all(t is not EntityType.ADDRESS for t, _ in _found(text))


def test_an_address_stops_before_the_next_value() -> None:
    """ "number 7572" of the Aadhaar on the next line is no house number of the address."""
    found = _found(
        "ship it to Flat 702, 100 Feet Road, Vyttila, Kochi, PIN 682057\naadhar number 7572 3299 1116"
    )
    assert (EntityType.ADDRESS, "Flat 702, 100 Feet Road, Vyttila, Kochi, PIN 682057") in found
    assert (EntityType.AADHAAR, "7572 3299 1116") in found


def test_a_spelt_code_after_number_is_no_address() -> None:
    """Letters and said digits ("… O four zero seven five W one Z nine") are bare numbers, not an address."""
    text = "bill pe gst number one seven C Y X H O four zero seven five W one Z nine daal dena"
    assert all(t is not EntityType.ADDRESS for t, _ in _found(text))


def test_an_address_stops_before_a_vehicle() -> None:
    text = (
        "my address Plot 218 Sector 62 Noida 201038 bike U P double four D seven four double nine for service"
    )
    found = _found(text)
    assert (EntityType.ADDRESS, "Plot 218 Sector 62 Noida 201038") in found
    assert (EntityType.VEHICLE, "U P double four D seven four double nine") in found


def test_a_house_number_before_an_ordinal_street() -> None:
    text = "हाँ, घर का पता number दो आठ तीन 14th Cross New Town Kolkata pin code 700037 है"
    assert (EntityType.ADDRESS, "number दो आठ तीन 14th Cross New Town Kolkata pin code 700037") in _found(
        text
    )


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("parcel dhanush ko dena", "dhanush"),
        ("oindrila ke naam pe bill banana", "oindrila"),
        ("lavanya this side", "lavanya"),
    ],
)
def test_unlisted_lower_case_name_before_a_sure_name_final_phrase(text: str, name: str) -> None:
    assert (EntityType.PERSON, name) in _found(text)


@pytest.mark.parametrize(
    "text", ["mere bhai ko dena", "parcel ko dena", "company ke naam pe bill", "i am here"]
)
def test_things_and_relatives_before_those_phrases_are_not_names(text: str) -> None:
    assert all(t is not EntityType.PERSON for t, _ in _found(text))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hello sir myself Sushmita", "Sushmita"),  # "myself" introduces a name
        ("myself hrithik lobo, house number 12", "hrithik lobo"),
        ("naam bhupinder reddy likh lo", "bhupinder reddy"),  # "naam … likh lo" frames the name
        ("please deliver to nikhil mahapatra", "nikhil mahapatra"),  # an unlisted surname after a given name
        ("parcel oindrila mukherjee ko dena", "oindrila mukherjee"),
        ("bill sushmita naidu ke naam se banao", "sushmita naidu"),
    ],
)
def test_hinglish_and_indian_english_name_frames(text: str, name: str) -> None:
    assert (EntityType.PERSON, name) in _found(text)


@pytest.mark.parametrize(
    ("text", "person"),
    [
        ("please deliver to nikhil tomorrow", "nikhil"),
        ("naam kya hai aapka", None),
        ("myself also interested", None),
    ],
)
def test_name_frames_stop_at_ordinary_words(text: str, person: str | None) -> None:
    assert [s for t, s in _found(text) if t is EntityType.PERSON] == ([person] if person else [])


@pytest.mark.parametrize(
    ("text", "address"),
    [
        # what Whisper wrote for "flat three zero two, Sai Heights, Baner Road, Pune, four one one zero four five"
        (
            "Please deliver to Flat 302, Sihites, Benerode, Kuna, 41045. Call me",
            "Flat 302, Sihites, Benerode, Kuna, 41045",
        ),
        ("deliver to Flat 302 please", "Flat 302"),
        (
            "Please deliver to flat 302. Sighites, Bainerrove, Tuna, 41045. Call me",
            "flat 302. Sighites, Bainerrove, Tuna, 41045",
        ),
        (
            "Please deliver to Flat302. Sigh Heights, Bainer Road, Puna. 41045. Call me",
            "Flat302. Sigh Heights, Bainer Road, Puna. 41045",
        ),
        (
            "Please deliver to Flat302. Sighites, Bainer Road, Pina. 411045. Call me",
            "Flat302. Sighites, Bainer Road, Pina. 411045",
        ),
    ],
)
def test_an_announced_address_keeps_what_asr_garbled(text: str, address: str) -> None:
    assert (EntityType.ADDRESS, address) in _found(text)


@pytest.mark.parametrize("text", ["Flat 302 is available, please confirm", "do you deliver to Sector 18?"])
def test_unannounced_or_area_only_is_no_address(text: str) -> None:
    assert all(t is not EntityType.ADDRESS for t, _ in _found(text))


def test_two_capitalized_words_after_deliver_to_are_no_name() -> None:
    assert all(t is not EntityType.PERSON for t, _ in _found("can you deliver to Andheri West tomorrow?"))


def test_an_address_running_into_the_next_value_ends_before_it() -> None:
    """Announced addresses take the garbled words after them, but never the e-mail or phone that follows."""
    text = "address hai Flat 12, Sihites, Benerode, vikramnaidu@gmail.com pe mail karo"
    found = _found(text)
    assert (EntityType.ADDRESS, "Flat 12, Sihites, Benerode") in found
    assert (EntityType.EMAIL, "vikramnaidu@gmail.com") in found


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "my address is house number forty two, shanti nagar, pune, pin code four one one zero zero one",
            "house number forty two, shanti nagar, pune, pin code four one one zero zero one",
        ),
        (
            "flat B four zero two, Green Valley apartments, Kothrud, Pune four one one zero three eight",
            "flat B four zero two, Green Valley apartments, Kothrud, Pune four one one zero three eight",
        ),
        (
            "plot number one hundred and five, MIDC road, Nashik, pincode four two two zero zero seven",
            "plot number one hundred and five, MIDC road, Nashik, pincode four two two zero zero seven",
        ),
        (
            "I stay at door number twenty three, second cross, Indiranagar",
            "door number twenty three, second cross",
        ),
    ],
)
def test_spoken_house_numbers_said_as_one_value(text: str, address: str) -> None:
    """Issue 17: house numbers said as a value ("forty two"), a wing letter before digits the shadow wrote."""
    found = [text[s.start : s.end] for s in Minimizer().scan(text) if s.type is EntityType.ADDRESS]
    assert any(address in f for f in found), found
