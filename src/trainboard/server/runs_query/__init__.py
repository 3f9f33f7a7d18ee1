"""The runs table's query language: filter expressions, sort keys and opaque cursors, compiled to SQL.

``parse_filter`` (parse.py) turns ``config.lr < 1e-3 and status = failed`` into a small AST whose nodes carry
their character positions (errors name them); ``fields.py`` says what a name refers to (a run column, a
config key, a tag, a metric summary); ``compile.py`` makes SQLAlchemy conditions of it; ``sorting.py`` parses
``-val/loss.min`` and builds the keyset page (``cursor.py`` encodes where a page ended).
"""

from trainboard.server.runs_query.errors import QueryError
from trainboard.server.runs_query.parse import parse_filter

__all__ = ["QueryError", "parse_filter"]
