"""Stored JSON documents are read so that one bad value can never fail a response."""

from __future__ import annotations

import json

from trainboard.server.store.docs import UNREADABLE_KEY, load_doc
from trainboard.wire import TOO_DEEP_MARKER


def test_good_documents_come_back_as_stored() -> None:
    assert load_doc('{"lr": 0.1, "layers": [1, 2]}') == {"lr": 0.1, "layers": [1, 2]}
    assert load_doc("") == {} and load_doc(None) == {}


def test_unservable_documents_come_back_repaired() -> None:
    assert load_doc(json.dumps({"a": "\udc00"})) == {"a": "\ufffd"}
    assert load_doc(json.dumps({"lr": float("nan")})) == {"lr": "NaN"}
    deep = "[" * 300 + "]" * 300
    assert TOO_DEEP_MARKER in json.dumps(load_doc('{"a": ' + deep + "}"))


def test_unreadable_documents_say_so() -> None:
    assert UNREADABLE_KEY in load_doc("{not json")
    assert UNREADABLE_KEY in load_doc("[1, 2]")
    assert UNREADABLE_KEY in load_doc("[" * 100_000 + "]" * 100_000)
