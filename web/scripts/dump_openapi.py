"""Write the server's OpenAPI schema to web/src/api/openapi.json (the source of the typed client).

Run by ``npm run gen:api`` with the project's Python (``$PYTHON``, default ``python3``); ``--check`` exits 1
when the committed file differs from what the server now describes.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

PREFIX = "#/components/schemas/"
OUT = Path(__file__).resolve().parents[1] / "src" / "api" / "openapi.json"


def drop_dangling_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace a ``$ref`` to a component the schema lacks by ``{}`` (any), with a warning, so the client
    still generates; the server should list every referenced model under components/schemas."""
    known = set(schema.get("components", {}).get("schemas", {}))

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(PREFIX) and ref[len(PREFIX) :] not in known:
                print(f"warning: dangling {ref} in the server's OpenAPI schema", file=sys.stderr)
                return {}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


def main() -> int:
    from trainboard.server.app import create_app
    from trainboard.server.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        schema = create_app(Settings(data_dir=Path(tmp), serve_ui=False)).openapi()
    schema = drop_dangling_refs(schema)
    text = json.dumps(schema, indent=1, sort_keys=True) + "\n"
    if "--check" in sys.argv:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT} is stale: run `npm run gen:api` in web/", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
