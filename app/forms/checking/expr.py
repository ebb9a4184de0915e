"""A small safe parser for rule expressions: arithmetic over element references.

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := NUMBER | ref | '(' expr ')' | '-' factor
    ref    := CODE ('[' CODE '=' OPTION ('|' OPTION)* (',' CODE '=' OPTION ...)* ']')?
    cond   := expr CMP expr              (for `when`; CMP is == != < <= > >=)

An element reference sums the element's cells over every dimension not fixed by the rule's
`for_each` or by the bracket filter. Nothing is ever passed to Python's eval.

Expressions are capped (MAX_LENGTH characters, MAX_TOKENS tokens, MAX_DEPTH brackets or signs
inside one another): the parser and every walk over the tree recurse, and a pathological rule must
be refused with a message, not crash the loader with a RecursionError."""

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|==|!=|[-+*/()<>\[\],=|])|(\S))"
)
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
MAX_LENGTH = 10_000  # characters; checked before tokenising
MAX_TOKENS = 500  # numbers, names and operators; bounds the depth of a long chain of + or *
MAX_DEPTH = 50  # brackets and unary minus signs inside one another


class ExprError(ValueError):
    """An expression that cannot be parsed."""


class ExprTooComplex(ExprError):
    """An expression past the parser's limits (too long or too deeply nested)."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Ref:
    element: str
    filters: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass(frozen=True)
class Neg:
    operand: "Node"


@dataclass(frozen=True)
class BinOp:
    op: str
    left: "Node"
    right: "Node"


Node = Num | Ref | Neg | BinOp


@dataclass(frozen=True)
class Condition:
    left: Node
    op: str
    right: Node


def _tokens(text: str) -> list[str]:
    out = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        if m.group(4):
            raise ExprError(f"unexpected character {m.group(4)!r} in {text!r}")
        out.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ExprTooComplex(
                f"expression too long ({len(text):,} characters; at most {MAX_LENGTH:,})"
            )
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprTooComplex(
                f"expression too deeply nested (more than {MAX_DEPTH} brackets or minus signs "
                "inside one another)"
            )

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            want = f"{expected!r}" if expected else "more"
            raise ExprError(f"expected {want} in {self.text!r}")
        self.i += 1
        return tok

    def expr(self) -> Node:
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while self.peek() in ("*", "/"):
            op = self.take()
            node = BinOp(op, node, self.factor())
        return node

    def factor(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise ExprError(f"unexpected end of {self.text!r}")
        if tok == "(":
            self.take()
            self.nest()
            node = self.expr()
            self.take(")")
            self.depth -= 1
            return node
        if tok == "-":
            self.take()
            self.nest()
            node = Neg(self.factor())
            self.depth -= 1
            return node
        if re.fullmatch(r"\d+(?:\.\d+)?", tok):
            self.take()
            return Num(float(tok))
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok):
            self.take()
            filters: list[tuple[str, frozenset[str]]] = []
            if self.peek() == "[":
                self.take()
                while True:
                    dim = self.take()
                    self.take("=")
                    opts = [self.take()]
                    while self.peek() == "|":
                        self.take()
                        opts.append(self.take())
                    filters.append((dim, frozenset(opts)))
                    if self.peek() == ",":
                        self.take()
                        continue
                    self.take("]")
                    break
            return Ref(tok, tuple(filters))
        raise ExprError(f"unexpected {tok!r} in {self.text!r}")

    def done(self) -> None:
        if self.peek() is not None:
            raise ExprError(f"unexpected {self.peek()!r} in {self.text!r}")
        # Checked after parsing (which is iterative along a chain) so that deep nesting is
        # reported as such; a long chain of + or * makes a tree as deep as it is long.
        if len(self.toks) > MAX_TOKENS:
            raise ExprTooComplex(
                f"expression too long ({len(self.toks):,} terms and operators; "
                f"at most {MAX_TOKENS})"
            )


def parse_expr(text: str) -> Node:
    """Parse an arithmetic expression."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression")
    p = _Parser(text)
    node = p.expr()
    p.done()
    return node


def parse_condition(text: str) -> Condition:
    """Parse `expr CMP expr`."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty condition")
    p = _Parser(text)
    left = p.expr()
    op = p.peek()
    if op not in COMPARISONS:
        raise ExprError(f"expected a comparison ({' '.join(COMPARISONS)}) in {text!r}")
    p.take()
    right = p.expr()
    p.done()
    return Condition(left, op, right)


def refs(node: Node | Condition) -> list[Ref]:
    """Every element reference in an expression, in order."""
    if isinstance(node, Condition):
        return refs(node.left) + refs(node.right)
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Neg):
        return refs(node.operand)
    if isinstance(node, BinOp):
        return refs(node.left) + refs(node.right)
    return []
