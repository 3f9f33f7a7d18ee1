"""Text the SDK sends is always valid UTF-8, whatever the user's strings hold."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from trainboard.sdk.encoding import jsonable, safe_str

# every code point, lone surrogates included (what surrogateescape makes of non-UTF-8 bytes)
ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF))


@given(ANY_TEXT)
def test_safe_str_always_encodes_and_keeps_valid_text(text: str) -> None:
    safe = safe_str(text)
    safe.encode("utf-8")
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert safe == text


def test_lone_surrogates_become_replacement_characters() -> None:
    assert safe_str("caf\udce9.csv") == "caf\ufffd.csv"
    assert safe_str("\udc80\udc81") == "\ufffd\ufffd"


@given(
    st.recursive(
        ANY_TEXT | st.integers() | st.floats() | st.none(), lambda c: st.lists(c) | st.dictionaries(ANY_TEXT, c)
    )
)
def test_jsonable_documents_are_valid_json_in_utf8(value: object) -> None:
    doc = jsonable({"v": value})
    json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")
