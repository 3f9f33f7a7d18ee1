"""Reading the JSON documents stored in text columns (run config, checkpoint metrics and metadata, event
data) so that one stored value can never fail a response: what an earlier version stored without today's
input rules (lone surrogates, nesting too deep, non-finite numbers, unreadable text) is returned repaired
(see :func:`trainboard.wire.repair_json`), never raised."""

from __future__ import annotations

import json
from typing import Any

from trainboard.wire import MAX_JSON_DEPTH, repair_json

#: Key of the object returned for a stored document that is not JSON at all.
UNREADABLE_KEY = "<unreadable>"


def load_doc(text: str | None) -> dict[str, Any]:
    """The stored JSON object ``text``, repaired where it could not be served as it is."""
    if not text:
        return {}
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return {UNREADABLE_KEY: f"the stored document could not be read: {str(exc)[:200]}"}
    if not isinstance(doc, dict):
        return {UNREADABLE_KEY: f"the stored document is not an object but {type(doc).__name__}"}
    if _servable(text, doc):
        return doc
    repaired = repair_json(doc)
    assert isinstance(repaired, dict)
    return repaired


def _servable(text: str, doc: dict[str, Any]) -> bool:
    # Nesting deeper than the limit needs more brackets than the limit: only then is the slow walk needed.
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        return False
    try:
        json.dumps(doc, ensure_ascii=False, allow_nan=False).encode()
    except (ValueError, UnicodeEncodeError, RecursionError):
        return False
    return True
