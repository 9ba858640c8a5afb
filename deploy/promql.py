"""Metric names referenced by a PromQL expression, and a structural check that it parses.

No PromQL parser installs from PyPI, so this is a small lexer for the subset SPARK's
dashboards and alerts use: anything it cannot read is an error rather than a guess, so a
typo never passes as "no metrics referenced".
"""

from __future__ import annotations

import re

#: functions and aggregations: an identifier followed by "(" is one of these or an error
FUNCTIONS = frozenset(
    {
        "abs", "avg", "avg_over_time", "ceil", "clamp_max", "clamp_min", "count",
        "count_over_time", "delta", "deriv", "floor", "histogram_quantile", "increase",
        "irate", "label_replace", "max", "max_over_time", "min", "min_over_time", "quantile",
        "rate", "round", "scalar", "sort_desc", "sum", "sum_over_time", "time", "topk",
        "vector", "absent", "bottomk", "sgn", "timestamp",
    }
)  # fmt: skip
#: words followed by a parenthesised list of label names
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<range>\[\s*\d+[smhdwy](?:\s*:\s*\d+[smhdwy])?\s*\])
    | (?P<duration>\d+(?:ms|[smhdwy]))
    | (?P<number>\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+)
    | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    | (?P<op>==|!=|=~|!~|>=|<=|[-+*/%^<>=(){},])
    """,
    re.VERBOSE,
)


class PromQLError(ValueError):
    """The expression is not one this reader accepts as valid PromQL."""


def tokens(expr: str) -> list[tuple[str, str]]:
    """(kind, text) pairs, whitespace dropped; an unknown character is an error."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise PromQLError(f"unexpected {expr[pos]!r} at {pos} in {expr!r}")
        kind = m.lastgroup or ""
        if kind != "space":
            out.append((kind, m.group()))
        pos = m.end()
    return out


def _check_brackets(toks: list[tuple[str, str]], expr: str) -> None:
    stack: list[str] = []
    pairs = {")": "(", "}": "{"}
    for _, text in toks:
        if text in ("(", "{"):
            stack.append(text)
        elif text in pairs and (not stack or stack.pop() != pairs[text]):
            raise PromQLError(f"unbalanced {text!r} in {expr!r}")
    if stack:
        raise PromQLError(f"unclosed {stack[-1]!r} in {expr!r}")


def metric_names(expr: str) -> set[str]:
    """Every metric name the expression selects (label names and functions excluded)."""
    toks = tokens(expr)
    _check_brackets(toks, expr)
    names: set[str] = set()
    i, depth_in_braces = 0, 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if text == "{":
            depth_in_braces += 1
        elif text == "}":
            depth_in_braces -= 1
        elif kind == "ident" and depth_in_braces == 0:
            i = _identifier(toks, i, nxt, names, expr)
            continue
        i += 1
    if not names:
        raise PromQLError(f"no metric selected in {expr!r}")
    return names


def _identifier(toks: list[tuple[str, str]], i: int, nxt: str, names: set[str], expr: str) -> int:
    """Classify the identifier at i; return the index to continue from."""
    word = toks[i][1]
    if word in GROUPING:
        if nxt != "(":
            return i + 1  # group_left without a label list
        end = next(j for j in range(i, len(toks)) if toks[j][1] == ")")
        return end + 1  # skip the label names
    if nxt == "(" or (word in FUNCTIONS and nxt in GROUPING):
        if word not in FUNCTIONS:
            raise PromQLError(f"unknown function {word!r} in {expr!r}")
        return i + 1
    if word.lower() in KEYWORDS:
        return i + 1
    names.add(word)
    return i + 1
