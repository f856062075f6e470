"""Names in Latin letters inside Devanagari sentences ("मेरा नाम Rahul Sharma है", "Priya को call करो"), as
Hindi speakers type and as transcripts come out: the same frames as for Devanagari names and for Latin names in
Latin sentences, with their Devanagari phrase words. Shops, offices, gods and postpositions are no names."""

from __future__ import annotations

import pytest

from pipelines.pii import EntityType, Minimizer, Vault


def _people(text: str) -> list[str]:
    return [text[s.start : s.end] for s in Minimizer().scan(text) if s.type is EntityType.PERSON]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("मेरा नाम Rahul Sharma है", "Rahul Sharma"),
        ("नमस्ते, मेरा नाम है Kavya Iyer, फ्लैट देखना है", "Kavya Iyer"),
        ("मेरा नाम है राहुल", "राहुल"),
        ("mera naam hai Nivedita Bhatt", "Nivedita Bhatt"),
        ("Priya को call करो", "Priya"),
        ("कल सुबह Anjali Verma को फोन कर दीजिए", "Anjali Verma"),
        ("कृपया Vivek को बता दीजिए कि साइट विज़िट कल है", "Vivek"),
        ("प्रिया को कॉल करो", "प्रिया"),
        ("Gaurav ko call karo shaam ko", "Gaurav"),
        ("मैं Tejaswini Siddiqui हूँ, 3BHK चाहिए", "Tejaswini Siddiqui"),
        ("Neha जी से बात करवा दो", "Neha"),
        ("सुरेश जी से बात करवा दो", "सुरेश"),
        ("ठीक है, धन्यवाद, Harish Naidu", "Harish Naidu"),
        ("शुक्रिया, रवि", "रवि"),
        ("धन्यवाद, Harish, मेरी बाइक की सर्विस करनी है", "Harish"),  # a sign-off name may end a clause
        ("बुकिंग के लिए नाम Oindrila Mukherjee लिख लीजिए", "Oindrila Mukherjee"),
        ("नाम Dhanush लिखो", "Dhanush"),
    ],
)
def test_names_in_devanagari_sentences(text: str, name: str) -> None:
    assert _people(text) == [name]


def test_a_latin_name_in_a_devanagari_message_is_replaced() -> None:
    minimized = Minimizer().minimize("नमस्ते, मेरा नाम Rahul Sharma है, Priya को भी call करो", Vault())
    assert "Rahul" not in minimized.text
    assert "Sharma" not in minimized.text
    assert minimized.text.startswith("नमस्ते, मेरा नाम <PERSON_1> है")


@pytest.mark.parametrize(
    "text",
    [
        "Office को call करो",  # a capitalized word is not enough after "को call करो"
        "दुकान को call करो, कब खुलेगी?",
        "bank ko call karo",
        "Customer Care को फोन किया था",
        "गणेश जी की मूर्ति चाहिए",  # the god, not a person called Ganesh
        "साईं जी का फोटो फ्रेम",
        "यहाँ से बोल रहा हूँ, आवाज़ आ रही है?",  # "से" is a postposition
        "मेरा नाम है ना लिस्ट में?",
        "नाम अपना लिख दीजिए",
        "धन्यवाद, जल्दी बताइए",
        "धन्यवाद, Sir, कल आऊँगा",
        "Thanks, Great service, see you",
    ],
)
def test_words_in_devanagari_sentences_that_are_not_names(text: str) -> None:
    assert _people(text) == []
