"""Filter expressions: a lexer and a recursive-descent parser.

Grammar (keywords case-insensitive)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | "(" expr ")" | comparison
    comparison := name op value | name ["not"] "contains" value | name ["not"] "in" "(" value ("," value)* ")"
    op         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~"
    name       := word | quoted string
    value      := number | quoted string ('...' or "...", backslash escapes) | word

A word is a run of characters other than blanks, quotes, parentheses, commas and ``= ! < > ~``: so metric
keys with ``/``, dotted config keys and ``cifar-10`` need no quotes. A word that reads as a number is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from trainboard.server.runs_query.errors import QueryError
from trainboard.server.runs_query.nodes import And, Compare, In, Name, Node, Not, Op, Or, Value

#: Longest filter accepted, and deepest nesting of parentheses / ``not``.
MAX_LENGTH = 1000  # a query parameter: the whole URL must stay within the HTTP server's 16 KiB
MAX_DEPTH = 64
KEYWORDS = frozenset({"and", "or", "not", "in", "contains"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"""[^\s()'",=!<>~]+""")
_OPS = ("<=", ">=", "!=", "==", "!~", "=", "<", ">", "~")

Kind = Literal["word", "number", "string", "op", "(", ")", ",", "end"]


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str  # the word, the string's content, the operator; "" at the end
    pos: int

    def keyword(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words

    def shown(self) -> str:
        if self.kind == "end":
            return "the end of the filter"
        if self.kind == "string":
            return repr(self.text)
        return f"'{self.text}'"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            tokens.append(Token(cast(Kind, c), c, i))
            i += 1
        elif c in "'\"":
            i = _string(text, i, tokens)
        elif c in "=!<>~":
            op = next((o for o in _OPS if text.startswith(o, i)), None)
            if op is None:
                raise QueryError(f"'{c}' is not an operator (use !=, !~ or 'not')", i)
            tokens.append(Token("op", "=" if op == "==" else op, i))
            i += len(op)
        else:
            m = _WORD.match(text, i)
            if m is None:  # pragma: no cover - every other character starts a word
                raise QueryError(f"unexpected character {c!r}", i)
            word = m.group()
            kind: Kind = "number" if _NUMBER.fullmatch(word) else "word"
            tokens.append(Token(kind, word, i))
            i = m.end()
    tokens.append(Token("end", "", n))
    return tokens


def _string(text: str, start: int, tokens: list[Token]) -> int:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == quote:
            tokens.append(Token("string", "".join(out), start))
            return i + 1
        out.append(c)
        i += 1
    raise QueryError(f"unterminated string: no closing {quote}", start)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expr(self) -> Node:
        first = self.tok
        items = [self.and_expr()]
        while self.tok.keyword("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items), first.pos)

    def and_expr(self) -> Node:
        first = self.tok
        items = [self.unary()]
        while self.tok.keyword("and"):
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items), first.pos)

    def unary(self) -> Node:
        tok = self.tok
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"nested more than {MAX_DEPTH} levels deep", tok.pos)
        try:
            if tok.keyword("not"):
                self.take()
                return Not(self.unary(), tok.pos)
            if tok.kind == "(":
                self.take()
                inner = self.expr()
                if self.tok.kind != ")":
                    raise QueryError(
                        f"expected ')' to close the '(' at position {tok.pos}, found {self.tok.shown()}", self.tok.pos
                    )
                self.take()
                return inner
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> Node:
        tok = self.take()
        if tok.kind not in ("word", "string") or (tok.kind == "word" and tok.text.lower() in KEYWORDS):
            raise QueryError(f"expected a field name (e.g. status, config.lr, val/loss), found {tok.shown()}", tok.pos)
        name = Name(tok.text, tok.pos)
        op_tok = self.take()
        negated = False
        if op_tok.keyword("not") and (self.tok.keyword("in", "contains")):
            negated = True
            op_tok = self.take()
        if op_tok.kind == "op":
            if negated:  # pragma: no cover - excluded above
                raise QueryError("expected 'in' or 'contains' after 'not'", op_tok.pos)
            return Compare(name, cast(Op, op_tok.text), self.value(op_tok), tok.pos)
        if op_tok.keyword("contains"):
            return Compare(name, "!contains" if negated else "contains", self.value(op_tok), tok.pos)
        if op_tok.keyword("in"):
            return In(name, self.value_list(op_tok), negated, tok.pos)
        raise QueryError(
            f"expected an operator (=, !=, <, <=, >, >=, ~, contains, in) after '{name.text}', found {op_tok.shown()}",
            op_tok.pos,
        )

    def value(self, after: Token) -> Value:
        tok = self.take()
        if tok.kind == "number":
            return Value(float(tok.text), False, tok.pos, tok.text)
        if tok.kind == "string":
            return Value(tok.text, True, tok.pos, tok.text)
        if tok.kind == "word" and tok.text.lower() not in KEYWORDS:
            return Value(tok.text, False, tok.pos, tok.text)
        raise QueryError(f"expected a value after {after.shown()}, found {tok.shown()}", tok.pos)

    def value_list(self, after: Token) -> tuple[Value, ...]:
        open_tok = self.take()
        if open_tok.kind != "(":
            raise QueryError(f"expected '(' after {after.shown()}, found {open_tok.shown()}", open_tok.pos)
        values = [self.value(open_tok)]
        while self.tok.kind == ",":
            comma = self.take()
            values.append(self.value(comma))
        if self.tok.kind != ")":
            raise QueryError(f"expected ',' or ')' in the list, found {self.tok.shown()}", self.tok.pos)
        self.take()
        return tuple(values)


def parse_filter(text: str) -> Node | None:
    """The expression ``text`` as a tree; ``None`` for a blank filter. Raises :class:`QueryError`."""
    if len(text) > MAX_LENGTH:
        raise QueryError(f"a filter is at most {MAX_LENGTH} characters", MAX_LENGTH)
    if "\x00" in text:
        raise QueryError("NUL characters cannot be stored or compared", text.index("\x00"))
    tokens = tokenize(text)
    if tokens[0].kind == "end":
        return None
    parser = _Parser(tokens)
    node = parser.expr()
    tok = parser.tok
    if tok.kind == ")":
        raise QueryError("unexpected ')': no '(' to close", tok.pos)
    if tok.kind != "end":
        raise QueryError(f"expected 'and', 'or' or the end of the filter, found {tok.shown()}", tok.pos)
    return node
