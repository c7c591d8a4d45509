"""XLSForm expressions: the `relevant` and `constraint` conditions of interview questions.

`parse` turns text such as ``selected(${sector}, 'manufacturing') and ${staff} > 9`` into
an immutable syntax tree (`Expr`); `to_source` prints a tree back as canonical text;
`evaluate` computes a tree's value against the answers given so far.

Evaluation follows ODK/XLSForm habits and never raises, whatever the answers hold:
an unanswered question reads as ``''``; numbers and numeric text compare as numbers,
other text compares as text (so ISO dates order correctly); arithmetic on something that
is not a number, and division by zero, give NaN, which makes every comparison but ``!=``
false. The engine never reads a clock: ``today()`` reads the date the caller puts in the
answers under `TODAY_KEY`, and ``jr:choice-name(value, '${q}')`` the labels it puts under
`CHOICE_LABELS_KEY` (`conversations.engine` does both). In a `choice_filter` a bare name
(`Column`) reads a column of the choice being filtered, which is passed as `current`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date as dt_date
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any, Literal, TypeAlias, assert_never, cast

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

__all__ = [
    "FUNCTIONS",
    "Arith",
    "BoolOp",
    "CHOICE_LABELS_KEY",
    "TODAY_KEY",
    "VARIADIC",
    "Call",
    "Column",
    "Compare",
    "Current",
    "Expr",
    "ExpressionError",
    "Neg",
    "Number",
    "Ref",
    "String",
    "evaluate",
    "parse",
    "references",
    "to_source",
    "truthy",
    "uses_current",
    "walk",
]


class ExpressionError(ValueError):
    """An expression that cannot be parsed, or a syntax tree that cannot exist.

    `message` says what is wrong and, when known, where; `column` is 1-based (or None).
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        if column is not None:
            message = f"{message} at column {column}"
        super().__init__(message)
        self.message = message
        self.column = column


# The functions an expression may call, with the number of arguments each takes.
FUNCTIONS: Mapping[str, int] = {
    "selected": 2,
    "count-selected": 1,
    "string-length": 1,
    "not": 1,
    "if": 3,
    "coalesce": 2,
    "regex": 2,
    "true": 0,
    "false": 0,
    "int": 1,
    "number": 1,
    "string": 1,
    "contains": 2,
    "starts-with": 2,
    "today": 0,
    "date": 1,
    "jr:choice-name": 2,
}
# Functions taking a varying number of arguments: (fewest, most or None for no limit).
VARIADIC: Mapping[str, tuple[int, int | None]] = {
    "concat": (1, None),
    "round": (1, 2),
}
# Reserved answer keys (no question id can start with "@") that callers fill for today()
# and jr:choice-name(): an ISO date, and question id -> {choice value: label}.
TODAY_KEY = "@today"
CHOICE_LABELS_KEY = "@choice_labels"
# Well-known XLSForm functions we leave out on purpose, and why.
_REFUSED_FUNCTIONS: Mapping[str, str] = {
    "now": "now() is not available: a chat interview records dates, not times",
    "random": "random() is not available: interviews must behave the same every time",
}
_QUESTION_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_CHOICE_NAME_REF = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]*)\}\Z")
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_KEYWORDS = frozenset({"and", "or", "div", "mod"})
_MAX_DEPTH = 200


# --- The syntax tree ------------------------------------------------------------------
# Each node is a frozen dataclass. `_evaluator` caches the compiled form of a tree whose
# root it is (see `evaluate`); it takes no part in equality, hashing or printing.


@dataclass(frozen=True, slots=True)
class _Node:
    _evaluator: _Evaluator | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )


@dataclass(frozen=True, slots=True)
class Number(_Node):
    """A number literal: a non-negative int or finite float (`-1` is `Neg(Number(1))`)."""

    value: int | float

    def __post_init__(self) -> None:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ExpressionError(f"a number literal cannot be {v!r}")
        if not math.isfinite(v) or math.copysign(1, v) < 0:
            raise ExpressionError(f"a number literal must be finite and not negative, not {v}")


@dataclass(frozen=True, slots=True)
class String(_Node):
    """A text literal. XLSForm has no escapes, so it cannot hold both ' and "."""

    value: str

    def __post_init__(self) -> None:
        if "'" in self.value and '"' in self.value:
            raise ExpressionError("a text literal cannot contain both ' and \"")


@dataclass(frozen=True, slots=True)
class Ref(_Node):
    """`${name}`: the answer to the question `name`."""

    name: str

    def __post_init__(self) -> None:
        if not _QUESTION_ID.match(self.name):
            raise ExpressionError(f"{self.name!r} is not a question id")


@dataclass(frozen=True, slots=True)
class Current(_Node):
    """`.`: the answer being checked (in a constraint)."""


@dataclass(frozen=True, slots=True)
class Call(_Node):
    """A call of one of `FUNCTIONS`, e.g. `count-selected(${skills})`."""

    name: str
    args: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if self.name in _REFUSED_FUNCTIONS:
            raise ExpressionError(_REFUSED_FUNCTIONS[self.name])
        arity = FUNCTIONS.get(self.name)
        if arity is not None:
            if len(self.args) != arity:
                plural = "argument" if arity == 1 else "arguments"
                wanted = "no arguments" if arity == 0 else f"{arity} {plural}"
                raise ExpressionError(f"{self.name}() takes {wanted}, not {len(self.args)}")
        elif self.name in VARIADIC:
            fewest, most = VARIADIC[self.name]
            if len(self.args) < fewest or (most is not None and len(self.args) > most):
                wanted = f"at least {fewest}" if most is None else f"{fewest} to {most}"
                raise ExpressionError(
                    f"{self.name}() takes {wanted} arguments, not {len(self.args)}"
                )
        else:
            raise ExpressionError(f"unknown function {self.name!r}")
        if self.name == "jr:choice-name":
            named = self.args[1]
            if not isinstance(named, String) or not _CHOICE_NAME_REF.match(named.value):
                raise ExpressionError(
                    "the second argument of jr:choice-name() must name a question in quotes, "
                    "e.g. '${sector}'"
                )
        if self.name == "regex":
            pattern = self.args[1]
            if not isinstance(pattern, String):
                raise ExpressionError("the pattern of regex() must be quoted text")
            try:
                re.compile(pattern.value)
            except re.error as err:
                raise ExpressionError(f"regex() pattern is not valid: {err}") from None


@dataclass(frozen=True, slots=True)
class Column(_Node):
    """A bare name in a `choice_filter`: that column of the choice being filtered."""

    name: str

    def __post_init__(self) -> None:
        if not _COLUMN_NAME.match(self.name) or self.name in _KEYWORDS:
            raise ExpressionError(f"{self.name!r} is not a column name")


CompareOp: TypeAlias = Literal["=", "!=", "<", "<=", ">", ">="]
BoolOpName: TypeAlias = Literal["and", "or"]
ArithOp: TypeAlias = Literal["+", "-", "*", "div", "mod"]


@dataclass(frozen=True, slots=True)
class Compare(_Node):
    """`left op right` with op one of = != < <= > >=."""

    op: CompareOp
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class BoolOp(_Node):
    """`left and right` or `left or right`."""

    op: BoolOpName
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Arith(_Node):
    """`left op right` with op one of + - * div mod."""

    op: ArithOp
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Neg(_Node):
    """`-operand`."""

    operand: Expr


Expr: TypeAlias = Number | String | Ref | Current | Column | Call | Compare | BoolOp | Arith | Neg
_Evaluator: TypeAlias = Callable[[Mapping[str, Any], Any], Any]


# --- Parsing --------------------------------------------------------------------------

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr | or_expr "or" and_expr -> or_
?and_expr: comparison | and_expr "and" comparison -> and_
?comparison: sum | sum COMPARE_OP sum -> compare
?sum: product | sum (PLUS | MINUS) product -> arith
?product: unary | product (TIMES | DIV | MOD) unary -> arith
?unary: atom | MINUS unary -> neg
?atom: NUMBER -> number
     | STRING -> string
     | REF -> ref
     | "." -> current
     | NAME "(" [or_expr ("," or_expr)*] ")" -> call
     | NAME -> bare_word
     | "(" or_expr ")"

COMPARE_OP: "<=" | ">=" | "!=" | "=" | "<" | ">"
PLUS: "+"
MINUS: "-"
TIMES: "*"
DIV: "div"
MOD: "mod"
NUMBER.2: /[0-9]+(\.[0-9]*)?|\.[0-9]+/
STRING: /'[^']*'|"[^"]*"/
REF: /\$\{[A-Za-z][A-Za-z0-9_]*\}/
NAME: /(jr:)?[A-Za-z_][A-Za-z0-9_-]*/
%ignore /\s+/
"""


class _Builder(Transformer[Token, Expr]):
    """Builds the syntax tree while the LALR parser reduces (no intermediate parse tree).

    With `columns`, a bare name is a column of the choice being filtered (`Column`).
    """

    def __init__(self, columns: bool = False) -> None:
        super().__init__()
        self.columns = columns

    def number(self, children: list[Token]) -> Number:
        text = str(children[0])
        return Number(float(text) if "." in text else int(text))

    def string(self, children: list[Token]) -> String:
        return String(str(children[0])[1:-1])

    def ref(self, children: list[Token]) -> Ref:
        return Ref(str(children[0])[2:-1])

    def current(self, children: list[Token]) -> Current:
        return Current()

    def call(self, children: list[Any]) -> Call:
        name: Token = children[0]
        args = tuple(arg for arg in children[1:] if arg is not None)
        try:
            return Call(str(name), args)
        except ExpressionError as err:
            raise ExpressionError(err.message, _column(name)) from None

    def bare_word(self, children: list[Token]) -> Expr:
        word = str(children[0])
        if word in _KEYWORDS:
            raise ExpressionError(f"unexpected {word!r}", _column(children[0]))
        if self.columns and _COLUMN_NAME.match(word):
            return Column(word)
        raise ExpressionError(
            f"unknown word {word!r} (quote text, e.g. '{word}', "
            f"or write ${{{word}}} for the answer to a question)",
            _column(children[0]),
        )

    def neg(self, children: list[Any]) -> Neg:
        return Neg(children[1])

    def compare(self, children: list[Any]) -> Compare:
        left, op, right = children
        return Compare(str(op), left, right)  # type: ignore[arg-type]

    def arith(self, children: list[Any]) -> Arith:
        left, op, right = children
        return Arith(str(op), left, right)  # type: ignore[arg-type]

    def and_(self, children: list[Any]) -> BoolOp:
        return BoolOp("and", children[0], children[1])

    def or_(self, children: list[Any]) -> BoolOp:
        return BoolOp("or", children[0], children[1])


def _column(token: Token) -> int | None:
    return None if token.start_pos is None else token.start_pos + 1


@cache
def _parser(columns: bool = False) -> Lark:
    return Lark(_GRAMMAR, parser="lalr", transformer=_Builder(columns), maybe_placeholders=True)


def parse(source: str, *, columns: bool = False) -> Expr:
    """Parse XLSForm expression text into a syntax tree; raises only `ExpressionError`.

    `columns`: the text is a `choice_filter`, whose bare names are choice columns.
    """
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, not {type(source).__name__}")
    if not source.strip():
        raise ExpressionError("the expression is empty")
    try:
        expr = cast(Expr, _parser(columns).parse(source))
    except ExpressionError:
        raise
    except UnexpectedCharacters as err:
        raise _unexpected_character(source, err.pos_in_stream or 0) from None
    except UnexpectedToken as err:
        raise _unexpected_token(source, err.token, err.expected) from None
    except UnexpectedEOF:
        raise ExpressionError("the expression ends too early") from None
    except LarkError as err:  # anything else lark might report; still a parse error
        raise ExpressionError(f"cannot parse the expression: {err}") from None
    if _depth(expr, _MAX_DEPTH) > _MAX_DEPTH:
        raise ExpressionError(f"the expression is nested more than {_MAX_DEPTH} levels deep")
    return expr


def _unexpected_character(source: str, position: int) -> ExpressionError:
    char = source[position]
    column = position + 1
    if char in "'\"":
        return ExpressionError(f"text starting with {char} is never closed", column)
    if char == "$":
        return ExpressionError(
            "a question reference must look like ${question_id} (a letter, then letters, "
            "digits or _)",
            column,
        )
    hint = {"&": " (write 'and')", "|": " (write 'or')", "!": " (write not(...) or !=)"}
    shown = char if char.isprintable() else repr(char)[1:-1]
    return ExpressionError(f"unexpected '{shown}'{hint.get(char, '')}", column)


def _unexpected_token(source: str, token: Token, expected: set[str]) -> ExpressionError:
    if token.type == "$END":
        missing = " (a ')' is missing)" if "RPAR" in expected else ""
        return ExpressionError(f"the expression ends too early{missing}")
    column = _column(token)
    text = str(token)
    hint = ""
    if text == "=" and column is not None and source[column - 2 : column - 1] == "=":
        hint = " (compare with a single '=')"
    elif text.lower() in ("and", "or", "div", "mod") and text != text.lower():
        hint = f" (write '{text.lower()}' in lowercase)"
    elif token.type == "COMPARE_OP" and "COMPARE_OP" not in expected:
        hint = " (join comparisons with 'and' or 'or')"
    return ExpressionError(f"unexpected '{text}'{hint}", column)


def _depth(expr: Expr, limit: int) -> int:
    """The depth of the tree, counted no further than just past `limit`."""
    if limit < 0:
        return 1
    children = _children(expr)
    if not children:
        return 1
    return 1 + max(_depth(child, limit - 1) for child in children)


def _children(expr: Expr) -> tuple[Expr, ...]:
    match expr:
        case Number() | String() | Ref() | Current() | Column():
            return ()
        case Call(args=args):
            return args
        case Compare(left=left, right=right) | BoolOp(left=left, right=right):
            return (left, right)
        case Arith(left=left, right=right):
            return (left, right)
        case Neg(operand=operand):
            return (operand,)
        case _:
            assert_never(expr)


# --- Printing -------------------------------------------------------------------------

# Binding strength, loosest first: or < and < comparison < + - < * div mod < unary minus.
_OR, _AND, _COMPARE, _SUM, _PRODUCT, _UNARY, _ATOM = range(7)


def _precedence(expr: Expr) -> int:
    match expr:
        case BoolOp(op="or"):
            return _OR
        case BoolOp():
            return _AND
        case Compare():
            return _COMPARE
        case Arith(op="+" | "-"):
            return _SUM
        case Arith():
            return _PRODUCT
        case Neg():
            return _UNARY
        case _:
            return _ATOM


def to_source(expr: Expr) -> str:
    """Canonical text for a syntax tree: `parse(to_source(e)) == e` for every tree."""
    match expr:
        case Number(value=value):
            return _number_source(value)
        case String(value=value):
            return f'"{value}"' if "'" in value else f"'{value}'"
        case Ref(name=name):
            return f"${{{name}}}"
        case Current():
            return "."
        case Column(name=name):
            return name
        case Call(name=name, args=args):
            return f"{name}({', '.join(to_source(arg) for arg in args)})"
        case Neg(operand=operand):
            return "-" + _operand_source(operand, _precedence(operand) < _UNARY)
        case Compare(op=op, left=left, right=right):
            # Comparisons do not chain, so a comparison on either side needs parentheses.
            return _binary_source(op, left, right, _COMPARE, left_strict=True)
        case BoolOp(op=op, left=left, right=right) | Arith(op=op, left=left, right=right):
            return _binary_source(op, left, right, _precedence(expr), left_strict=False)
        case _:
            assert_never(expr)


def _binary_source(op: str, left: Expr, right: Expr, level: int, *, left_strict: bool) -> str:
    left_precedence = _precedence(left)
    wrap_left = left_precedence <= level if left_strict else left_precedence < level
    wrap_right = _precedence(right) <= level  # operators associate to the left
    return f"{_operand_source(left, wrap_left)} {op} {_operand_source(right, wrap_right)}"


def _operand_source(expr: Expr, wrap: bool) -> str:
    text = to_source(expr)
    return f"({text})" if wrap else text


def _number_source(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" in text or "E" in text:  # the grammar has no exponents: write it out in full
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


# --- Inspection -----------------------------------------------------------------------


def references(expr: Expr) -> frozenset[str]:
    """The ids of the questions the expression reads as ${id}."""
    if isinstance(expr, Ref):
        return frozenset((expr.name,))
    found: set[str] = set()
    for child in _children(expr):
        found |= references(child)
    return frozenset(found)


def walk(expr: Expr) -> Iterator[Expr]:
    """The tree's nodes, the root first."""
    yield expr
    for child in _children(expr):
        yield from walk(child)


def uses_current(expr: Expr) -> bool:
    """Whether the expression reads the answer being checked (`.`)."""
    return isinstance(expr, Current) or any(uses_current(c) for c in _children(expr))


# --- Evaluation -----------------------------------------------------------------------

_NAN = math.nan
_EPOCH = dt_date(1970, 1, 1)
# Spacing as float() takes it: `\s` less \x1c-\x1f, which float() refuses.
_NUMERIC_TEXT = re.compile(r"[^\S\x1c-\x1f]*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[^\S\x1c-\x1f]*\Z")


def truthy(value: Any) -> bool:
    """XPath's boolean(): false for False, 0, NaN, '', [] and None; true otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == value and value != 0  # NaN is false
    if isinstance(value, str | list | tuple):
        return len(value) > 0
    return value is not None


def _as_number(value: Any) -> int | float | None:
    """The value as a number, or None when it is not one (non-numeric text, lists...)."""
    if isinstance(value, int | float):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, str):
        return float(value) if _NUMERIC_TEXT.match(value) else None
    if isinstance(value, list | tuple):
        return _as_number(_as_text(value))
    return None


def _as_text(value: Any) -> str:
    """XPath's string(): lists joined by spaces, whole floats without '.0'."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list | tuple):
        return " ".join(_as_text(item) for item in value)
    return str(value)


def _items(value: Any) -> list[Any]:
    """The choices of a select_multiple answer (a list, or space-separated text)."""
    if isinstance(value, list):
        return value
    return _as_text(value).split()


_ORDERINGS: Mapping[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    ordering = _ORDERINGS[op]
    if isinstance(left, bool) or isinstance(right, bool):
        if op in ("=", "!="):
            return bool(ordering(truthy(left), truthy(right)))
        left, right = int(truthy(left)), int(truthy(right))
    x, y = _as_number(left), _as_number(right)
    if x is not None and y is not None:
        return bool(ordering(x, y))
    if isinstance(left, int | float) or isinstance(right, int | float):
        return op == "!="  # a number against text that is not one: never equal, unordered
    return bool(ordering(_as_text(left), _as_text(right)))


def _arithmetic(op: str, left: Any, right: Any) -> int | float:
    x, y = _as_number(left), _as_number(right)
    if x is None or y is None:
        return _NAN
    try:
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if not y:
            return _NAN
        if op == "div":
            return x / y
        # XPath's mod keeps the sign of the dividend (truncating division).
        if isinstance(x, int) and isinstance(y, int):
            remainder = abs(x) % abs(y)
            return remainder if x >= 0 else -remainder
        return math.fmod(x, y)
    except (OverflowError, ValueError):  # huge ints into floats, fmod of infinity
        return _NAN


def _negate(value: Any) -> int | float:
    number = _as_number(value)
    return _NAN if number is None else -number


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _matches(value: Any, pattern: Any) -> bool:
    compiled = _pattern(_as_text(pattern))
    return compiled is not None and compiled.search(_as_text(value)) is not None


def evaluate(expr: Expr, answers: Mapping[str, Any], current: Any = None) -> Any:
    """The value of `expr` given the answers so far and, for constraints, `current`.

    Never raises for any answer values. The tree is compiled to closures on first use and
    the result is kept on the root node, so parse once and evaluate often.
    """
    evaluator = expr._evaluator
    if evaluator is None:
        evaluator = _compile(expr)
        object.__setattr__(expr, "_evaluator", evaluator)
    return evaluator(answers, current)


def _compile(expr: Expr) -> _Evaluator:
    match expr:
        case Number(value=value) | String(value=value):
            return lambda answers, current: value
        case Ref(name=name):

            def answer(answers: Mapping[str, Any], current: Any) -> Any:
                value = answers.get(name)
                return "" if value is None else value

            return answer
        case Current():
            return lambda answers, current: "" if current is None else current
        case Column(name=name):
            return lambda answers, current: (
                current.get(name, "") if isinstance(current, Mapping) else ""
            )
        case Call():
            return _compile_call(expr)
        case Compare():
            return _compile_compare(expr)
        case BoolOp(op="and", left=left, right=right):
            both_left, both_right = _compile(left), _compile(right)
            return lambda answers, current: (
                truthy(both_left(answers, current)) and truthy(both_right(answers, current))
            )
        case BoolOp(left=left, right=right):
            either_left, either_right = _compile(left), _compile(right)
            return lambda answers, current: (
                truthy(either_left(answers, current)) or truthy(either_right(answers, current))
            )
        case Arith(op=op, left=left, right=right):
            arith_left, arith_right = _compile(left), _compile(right)
            return lambda answers, current: _arithmetic(
                op, arith_left(answers, current), arith_right(answers, current)
            )
        case Neg(operand=operand):
            negated = _compile(operand)
            return lambda answers, current: _negate(negated(answers, current))
        case _:
            assert_never(expr)


def _compile_compare(comparison: Compare) -> _Evaluator:
    op, left, right = comparison.op, _compile(comparison.left), _compile(comparison.right)
    ordering = _ORDERINGS[op]
    # Fast paths for the usual `${q} = 'text'` and `${q} > 9`; anything else takes the
    # general rules in `_compare`, which these agree with.
    match comparison.right:
        case String(value=text) if _as_number(text) is None:

            def compare_with_text(answers: Mapping[str, Any], current: Any) -> bool:
                value = left(answers, current)
                if type(value) is str:
                    return bool(ordering(value, text))
                return _compare(op, value, text)

            return compare_with_text
        case Number(value=number):

            def compare_with_number(answers: Mapping[str, Any], current: Any) -> bool:
                value = left(answers, current)
                if type(value) is int or type(value) is float:
                    return bool(ordering(value, number))
                return _compare(op, value, number)

            return compare_with_number
    return lambda answers, current: _compare(op, left(answers, current), right(answers, current))


def _compile_call(call: Call) -> _Evaluator:
    args = [_compile(arg) for arg in call.args]
    match call.name:
        case "selected":
            chosen, value = args
            return lambda answers, current: (
                _as_text(value(answers, current)) in _items(chosen(answers, current))
            )
        case "count-selected":
            (chosen,) = args
            return lambda answers, current: len(_items(chosen(answers, current)))
        case "string-length":
            (text,) = args
            return lambda answers, current: len(_as_text(text(answers, current)))
        case "not":
            (condition,) = args
            return lambda answers, current: not truthy(condition(answers, current))
        case "if":
            condition, then, otherwise = args
            return lambda answers, current: (
                then(answers, current)
                if truthy(condition(answers, current))
                else otherwise(answers, current)
            )
        case "coalesce":
            first, second = args

            def coalesce(answers: Mapping[str, Any], current: Any) -> Any:
                value = first(answers, current)
                return second(answers, current) if value == "" or value == [] else value

            return coalesce
        case "regex":
            text, pattern = args
            return lambda answers, current: _matches(
                text(answers, current), pattern(answers, current)
            )
        case "concat":
            return lambda answers, current: "".join(
                _as_text(part(answers, current)) for part in args
            )
        case "round":
            return lambda answers, current: _round(*(arg(answers, current) for arg in args))
        case "int":
            (number,) = args
            return lambda answers, current: _truncate(number(answers, current))
        case "number":
            (number,) = args
            return lambda answers, current: _number_of(number(answers, current))
        case "string":
            (text,) = args
            return lambda answers, current: _as_text(text(answers, current))
        case "contains":
            text, part = args
            return lambda answers, current: (
                _as_text(part(answers, current)) in _as_text(text(answers, current))
            )
        case "starts-with":
            text, part = args
            return lambda answers, current: _as_text(text(answers, current)).startswith(
                _as_text(part(answers, current))
            )
        case "today":
            return lambda answers, current: _as_text(answers.get(TODAY_KEY))
        case "date":
            (day,) = args
            return lambda answers, current: _date(day(answers, current))
        case "jr:choice-name":
            value = args[0]
            named = call.args[1]
            assert isinstance(named, String)
            match = _CHOICE_NAME_REF.match(named.value)
            assert match is not None
            question_id = match.group(1)
            return lambda answers, current: _choice_name(
                answers, question_id, value(answers, current)
            )
        case "true":
            return lambda answers, current: True
        case "false":
            return lambda answers, current: False
        case _:  # Call() refuses unknown names, so this is never reached
            raise ExpressionError(f"unknown function {call.name!r}")


def _number_of(value: Any) -> int | float:
    """XPath's number(): true/false as 1/0, numeric text as a number, else NaN."""
    if isinstance(value, bool):
        return int(value)
    number = _as_number(value)
    return _NAN if number is None else number


def _finite(number: int | float) -> bool:
    """Whether a number is finite (ints always are, however big)."""
    return isinstance(number, int) or math.isfinite(number)


def _truncate(value: Any) -> int | float:
    """XPath's int(): the number without its fraction (towards zero); NaN stays NaN."""
    number = _number_of(value)
    if isinstance(number, int) or not math.isfinite(number):
        return number
    return int(number)


def _round(value: Any, digits: Any = 0) -> int | float:
    """ODK's round(x, n): halves away from zero, to n decimal places (NaN if not numbers)."""
    number, places = _number_of(value), _number_of(digits)
    if not _finite(number) or not _finite(places) or abs(places) > 100:
        return number if not _finite(number) else _NAN
    try:
        exponent = Decimal(1).scaleb(-int(places))
        rounded = Decimal(repr(number) if isinstance(number, float) else number).quantize(
            exponent, rounding=ROUND_HALF_UP
        )
    except (ArithmeticError, ValueError):  # more digits than Decimal's precision allows
        return number
    return int(rounded) if int(places) <= 0 else float(rounded)


_ISO_DATE = re.compile(r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})\s*\Z")


def _date(value: Any) -> str:
    """date(x): an ISO date as text (which compares correctly), or '' if x is not one.

    A number counts days since 1970-01-01, as in XPath.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not _finite(value) or abs(value) > 2_900_000:
            return ""
        return (_EPOCH + timedelta(days=int(value))).isoformat()
    match = _ISO_DATE.match(_as_text(value))
    if match is None:
        return ""
    try:
        return dt_date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return ""


def _choice_name(answers: Mapping[str, Any], question_id: str, value: Any) -> str:
    """jr:choice-name(): the label of a choice of `question_id` in the caller's labels."""
    labels = answers.get(CHOICE_LABELS_KEY)
    if not isinstance(labels, Mapping):
        return ""
    choices = labels.get(question_id)
    if not isinstance(choices, Mapping):
        return ""
    return str(choices.get(_as_text(value), ""))
