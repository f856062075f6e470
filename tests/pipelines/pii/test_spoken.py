"""The spoken-form shadow: written forms of spoken digits and addresses, and spans mapped back to the words."""

from __future__ import annotations

import pytest

from pipelines.pii import EntityType, Minimizer, Vault
from pipelines.pii.spoken import _rewrite, spoken_shadow


def _original(text: str, written: str) -> str:
    """The original characters behind the first occurrence of `written` in the shadow of `text`."""
    shadow = spoken_shadow(text)
    start = shadow.text.index(written)
    begin, end = shadow.original_span(start, start + len(written))
    return text[begin:end]


@pytest.mark.parametrize(
    ("text", "shadow", "written", "spoken"),
    [
        (
            "call me on nine eight seven six five four three two one zero please",
            "call me on 9876543210 please",
            "9876543210",
            "nine eight seven six five four three two one zero",
        ),
        (
            "Nine eight seven six five, four three two one zero.",
            "98765 43210.",
            "98765 43210",
            "Nine eight seven six five, four three two one zero",
        ),
        (
            "it is nine eight seven six five... four three two one zero",
            "it is 98765 43210",
            "98765 43210",
            "nine eight seven six five... four three two one zero",
        ),
        (
            "double nine eight seven six five four three two one",
            "9987654321",
            "9987654321",
            "double nine eight seven six five four three two one",
        ),
        ("triple five", "555", "555", "triple five"),
        ("room DOUBLE 9 please", "room 99 please", "99", "DOUBLE 9"),
        (
            "nine oh seven six five four three two one oh",
            "9076543210",
            "9076543210",
            "nine oh seven six five four three two one oh",
        ),
        (
            "nine-eight-seven-six-five-four-three-two-one-zero",
            "9876543210",
            "9876543210",
            "nine-eight-seven-six-five-four-three-two-one-zero",
        ),
        (
            "number is 98765 four three two one zero ok",
            "number is 98765 43210 ok",
            "98765 43210",
            "98765 four three two one zero",
        ),
        (
            "Nine, eight, seven, six, five, four, three, two, one, zero.",
            "9876543210.",
            "9876543210",
            "Nine, eight, seven, six, five, four, three, two, one, zero",
        ),
        (
            "plus nine one nine eight seven six five four three two one zero",
            "+919876543210",
            "+919876543210",
            "plus nine one nine eight seven six five four three two one zero",
        ),
        (
            "plus nine one, nine eight seven six five, four three two one zero",
            "+91 98765 43210",
            "+91 98765 43210",
            "plus nine one, nine eight seven six five, four three two one zero",
        ),
        ("dial plus nine one", "dial +91", "+91", "plus nine one"),
        (
            "mera number hai nau aath saat chhe paanch chaar teen do ek shunya",
            "mera number hai 9876543210",
            "9876543210",
            "nau aath saat chhe paanch chaar teen do ek shunya",
        ),
        (
            "number hai nau aath saat chhah panch, char teen do ek sunya ji",
            "number hai 98765 43210 ji",
            "98765 43210",
            "nau aath saat chhah panch, char teen do ek sunya",
        ),
        (
            "मेरा नंबर नौ आठ सात छह पाँच चार तीन दो एक शून्य है",
            "मेरा नंबर 9876543210 है",
            "9876543210",
            "नौ आठ सात छह पाँच चार तीन दो एक शून्य",
        ),
        ("मेरा नंबर ९८७६५४३२१० है", "मेरा नंबर 9876543210 है", "9876543210", "९८७६५४३२१०"),
        (
            "my email is john dot doe at gmail dot com thanks",
            "my email is john.doe@gmail.com thanks",
            "john.doe@gmail.com",
            "john dot doe at gmail dot com",
        ),
        (
            "John underscore Doe at the rate Gmail dot com",
            "John_Doe@Gmail.com",
            "John_Doe@Gmail.com",
            "John underscore Doe at the rate Gmail dot com",
        ),
        (
            "write to priya dot sharma at yahoo dot co dot in.",
            "write to priya.sharma@yahoo.co.in.",
            "priya.sharma@yahoo.co.in",
            "priya dot sharma at yahoo dot co dot in",
        ),
        (
            "anil dash kumar at tata hyphen steel dot com",
            "anil-kumar@tata-steel.com",
            "anil-kumar@tata-steel.com",
            "anil dash kumar at tata hyphen steel dot com",
        ),
        (
            "p for papa r for rome i for india y for yankee a for apple at gmail dot com",
            "priya@gmail.com",
            "priya@gmail.com",
            "p for papa r for rome i for india y for yankee a for apple at gmail dot com",
        ),
        (
            "capital p r i y a at gmail dot com",
            "Priya@gmail.com",
            "Priya@gmail.com",
            "capital p r i y a at gmail dot com",
        ),
        (
            "my email is rahul one two three at gmail dot com",
            "my email is rahul123@gmail.com",
            "rahul123@gmail.com",
            "rahul one two three at gmail dot com",
        ),
        (
            "rahul nine eight at gmail dot com",
            "rahul98@gmail.com",
            "rahul98@gmail.com",
            "rahul nine eight at gmail dot com",
        ),
        (
            "mail it to john.doe at gmail.com",
            "mail it to john.doe@gmail.com",
            "john.doe@gmail.com",
            "john.doe at gmail.com",
        ),
        (
            "my email id is rahul at infosys dot com",
            "my email id is rahul@infosys.com",
            "rahul@infosys.com",
            "rahul at infosys dot com",
        ),
        (
            "email me at priya at gmail dot com",
            "email me at priya@gmail.com",
            "priya@gmail.com",
            "priya at gmail dot com",
        ),
    ],
)
def test_spoken_forms_are_written_and_map_back_to_the_whole_phrase(
    text: str, shadow: str, written: str, spoken: str
) -> None:
    result = spoken_shadow(text)
    assert result.text == shadow
    assert result.changed
    assert _original(text, written) == spoken


PROSE = [
    "I need 2 panels",
    "call me at five",
    "we are one family",
    "order number one two",
    "dot com companies",
    "meet at the mall",
    "meet at the office at five",
    "I want one system",
    "two days",
    "at five pm",
    "dot the i and cross the t",
    "plus one for that idea",
    "double the capacity, triple the savings",
    "we will come at the rate of 5 percent",
    "I worked at amazon dot com for two years",
    "selling at flipkart dot com",
    "nine to five job",
    "It costs 2,50,000 rupees for 3 kW",
    "Oh, one more thing",
    "one or two",
    "one by one",
    "a for apple",
    "ek do din mein aa jayega",
    "teen log aayenge, do din baad",
    "panch saal ki warranty hai",
    "call 98765 43210 tomorrow",
    "mail priya.sharma@gmail.com today",
    "",
]


@pytest.mark.parametrize("text", PROSE)
def test_prose_is_unchanged(text: str) -> None:
    shadow = spoken_shadow(text)
    assert not shadow.changed
    assert shadow.text == text
    assert shadow.original_span(0, len(text)) == (0, len(text))
    if len(text) > 3:
        assert shadow.original_span(1, 3) == (1, 3)


def test_part_of_a_rewritten_run_maps_to_its_own_words() -> None:
    text = "call nine eight seven six five, four three two one zero now"
    shadow = spoken_shadow(text)
    assert shadow.text == "call 98765 43210 now"
    start = shadow.text.index("43210")
    begin, end = shadow.original_span(start, start + 5)
    assert text[begin:end] == "four three two one zero"
    begin, end = shadow.original_span(start + 1, start + 3)
    assert text[begin:end] == "three two"
    begin, end = shadow.original_span(shadow.text.index("now"), len(shadow.text))
    assert text[begin:end] == "now"


def test_one_digit_of_a_repeat_maps_to_the_whole_repeat() -> None:
    text = "double nine eight seven six five four three two one"
    shadow = spoken_shadow(text)
    begin, end = shadow.original_span(1, 2)
    assert text[begin:end] == "double nine"


def test_script_digits_map_character_for_character() -> None:
    text = "नंबर ९८७६५ ४३२१० है, পিন ৪১১০০১"
    shadow = spoken_shadow(text)
    assert shadow.text == "नंबर 98765 43210 है, পিন 411001"
    assert shadow.changed
    start = shadow.text.index("65 43")
    begin, end = shadow.original_span(start, start + 5)
    assert text[begin:end] == "६५ ४३"


@pytest.mark.parametrize(
    ("text", "shadow", "written", "spoken"),
    [
        (
            "pay to rahul dot sharma at the rate okaxis please",
            "pay to rahul.sharma@okaxis please",
            "rahul.sharma@okaxis",
            "rahul dot sharma at the rate okaxis",
        ),
        (
            "nine eight seven six five four three two one zero at ybl",
            "9876543210@ybl",
            "9876543210@ybl",
            "nine eight seven six five four three two one zero at ybl",
        ),
        ("my upi is rahul at paytm", "my upi is rahul@paytm", "rahul@paytm", "rahul at paytm"),
    ],
)
def test_spoken_upi_ids(text: str, shadow: str, written: str, spoken: str) -> None:
    assert spoken_shadow(text).text == shadow
    assert _original(text, written) == spoken


@pytest.mark.parametrize(
    "text", ["I paid at paytm yesterday", "rahul at okaxis dot com", "meet me at sbi branch", "we are at ybl"]
)
def test_not_upi_ids(text: str) -> None:
    assert not spoken_shadow(text).changed


def test_devanagari_plus_and_repeats() -> None:
    text = "प्लस नौ एक, डबल नौ आठ सात छह, चार तीन दो एक शून्य"
    shadow = spoken_shadow(text)
    assert shadow.text == "+91 99876 43210"
    assert _original(text, "+91 99876 43210") == text


def test_weak_words_count_only_next_to_digits_of_their_language() -> None:
    assert spoken_shadow("Oh, nine eight seven six five").text == "Oh, 98765"
    assert spoken_shadow("nine eight seven do you have it").text == "987 do you have it"
    assert spoken_shadow("can you do one two three").text == "can you do 123"
    assert spoken_shadow("teen char paanch chhe").text == "3456"
    assert not spoken_shadow("teen char paanch").changed  # "teen" does not count towards the three
    assert not spoken_shadow("do teen").changed
    assert not spoken_shadow("one two oh").changed


@pytest.mark.parametrize(
    ("text", "shadow"),
    [
        # Hindi speakers say "zero" as often as "shunya".
        ("call karo zero do do teen double chaar ek chhe paanch shunya ek", "call karo 02234416501"),
        # "bhej do" is "send": the number starts after it.
        (
            "refund pe bhej do saat aath do shunya ek paanch do chhe paanch paanch",
            "refund pe bhej do 7820152655",
        ),
        # A switch of language between digit words is where one number ends and the next begins.
        (
            "card paanch do aath chhe shunya do chhe six three double one seven three one one",
            "card 5286026 63117311",
        ),
    ],
)
def test_hinglish_numbers(text: str, shadow: str) -> None:
    assert spoken_shadow(text).text == shadow


def test_written_digits_are_not_joined_to_the_word_before_an_address() -> None:
    assert not spoken_shadow("mera UPI 8038387436@ibl hai").changed
    assert spoken_shadow("upi aath double do saat do paanch at the rate okicici").text == "upi 822725@okicici"


def test_an_address_followed_by_a_number_is_two_values() -> None:
    text = "priya at gmail dot com nine eight seven six five four three two one zero"
    assert spoken_shadow(text).text == "priya@gmail.com 9876543210"


def test_detectors_find_spoken_values_in_the_shadow() -> None:
    text = (
        "hi my number is nine eight seven six five, four three two one zero and "
        "mail is john underscore doe at the rate gmail dot com, thanks"
    )
    shadow = spoken_shadow(text)
    found = []
    for span in Minimizer().scan(shadow.text):
        begin, end = shadow.original_span(span.start, span.end)
        found.append((span.type, span.value, text[begin:end]))
    assert found == [
        (EntityType.PHONE, "+919876543210", "nine eight seven six five, four three two one zero"),
        (EntityType.EMAIL, "john_doe@gmail.com", "john underscore doe at the rate gmail dot com"),
    ]


def test_original_span_bounds() -> None:
    text = "at nine eight seven"
    shadow = spoken_shadow(text)
    assert shadow.text == "at 987"
    assert shadow.original_span(0, 0) == (0, 0)
    assert shadow.original_span(6, 6) == (len(text), len(text))
    assert shadow.original_span(4, 4) == (8, 8)  # inside a rewritten word: its start
    for start, end in [(-1, 2), (3, 2), (0, 7)]:
        with pytest.raises(ValueError, match="outside"):
            shadow.original_span(start, end)


def test_repr_does_not_show_the_text() -> None:
    assert "nine" not in repr(spoken_shadow("nine eight seven"))
    assert "987" not in repr(spoken_shadow("nine eight seven"))


@pytest.mark.parametrize(
    ("text", "shadow"),
    [
        ("login blocked from double two three dot two one four dot two one seven dot one three six ok",
         "login blocked from 223.214.217.136 ok"),
        ("mera ip ek aath do dot chhe aath dot ek nau chaar dot do paanch chaar hai", "mera ip 182.68.194.254 hai"),
        ("my ip is one nine two dot one six eight dot one dot five", "my ip is 192.168.1.5"),
    ],
)  # fmt: skip
def test_spoken_ip_addresses(text: str, shadow: str) -> None:
    assert spoken_shadow(text).text == shadow


def test_a_version_said_aloud_is_no_dotted_quad() -> None:
    assert spoken_shadow("version two dot one is out").text == "version two dot one is out"


@pytest.mark.parametrize(
    ("text", "shadow"),
    [
        ("date of birth fifth of august 1994", "date of birth 5 August 1994"),
        ("dob january ninth nineteen sixty three", "dob 9 January 1963"),
        ("i was born on fifteen august nineteen eighty eight thanks", "i was born on 15 August 1988 thanks"),
        ("janam tithi twenty seventh of march two thousand and two hai", "janam tithi 27 March 2002 hai"),
        ("born nineteen oh five? no, 3rd may nineteen hundred", "born nineteen oh five? no, 3 May 1900"),
    ],
)
def test_spoken_dates(text: str, shadow: str) -> None:
    assert spoken_shadow(text).text == shadow


def test_spoken_date_of_birth_is_masked_whole() -> None:
    minimized = Minimizer().minimize("so my date of birth is twenty seventh of march 1963 ok", Vault())
    assert minimized.text == "so my date of birth is <DOB_1> ok"


@pytest.mark.parametrize(
    "text",
    [
        "see you on the fifth",
        "august is hot",
        "ten minutes",
        "I'll come at five thirty",
        "twenty twenty vision",
    ],
)
def test_dates_need_a_month_and_a_year(text: str) -> None:
    assert spoken_shadow(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        "Is the blue kurta available in XL?",
        "kitne din mein delivery hogi?",
        "मेरा ईमेल rahul_kapoor@infosys.com है",  # a written address needs no rewrite
        "order 123456 ka status batao, Pune",
    ],
)
def test_text_without_spoken_forms_is_its_own_shadow(text: str) -> None:
    shadow = spoken_shadow(text)
    assert not shadow.changed
    assert shadow.text == text
    assert shadow.original_span(0, len(text)) == (0, len(text))


@pytest.mark.parametrize(
    "text",
    [
        *PROSE,
        "call me on nine eight seven six five four three two one zero",
        "mera number nau aath saat chhe paanch chaar teen do ek shunya hai",
        "मेरा नंबर नौ आठ सात छह पांच चार तीन दो एक शून्य है",
        "मेरा नंबर ९८७६५ ४३२१० है",
        "priya dot sharma at gmail dot com",
        "rahul at okaxis",
        "ravi @ gmail.com",
        "PAN F X V P H 6721 A",
        "passport J seven eight zero one five four three",
        "born fifth of august nineteen ninety four",
        "ip one nine two dot one six eight dot one dot five",
        "double nine eight",
        "plus nine one",
        "I do not know, oh well, teen patti",
        "bhej do saat aath",
        "mera number atthanve sattasi chhiyasi pachpan chauvan hai",
        "नंबर नौ आठ सत्तासी छह पांच चौवन तीन दो है",
        "atthanve saath chhiyasi pachpan chauvan",
        "mere saath do log aayenge",
    ],
)
def test_the_cue_gate_skips_only_texts_without_rewrites(text: str) -> None:
    """The shortcut for texts without a cue returns what all the passes would."""
    assert spoken_shadow(text).text == _rewrite(text).text


@pytest.mark.parametrize(
    ("text", "shadow"),
    [
        ("call me on ninety eight forty five oh one twenty three forty five", "call me on 9845012345"),
        (
            "my number is seventy, double zero, twelve, thirty four, double zero",
            "my number is 70 00 12 34 00",
        ),
        ("sixty one twenty ninety nine oh five zero eight pe call karo", "6120990508 pe call karo"),
    ],
)
def test_numbers_said_in_pairs(text: str, shadow: str) -> None:
    assert spoken_shadow(text).text == shadow


@pytest.mark.parametrize(
    "text", ["in fifteen minutes", "come at five thirty", "twenty twenty vision", "ten ten"]
)
def test_a_few_number_words_stay_prose(text: str) -> None:
    assert spoken_shadow(text).text == text
