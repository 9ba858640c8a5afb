"""Where ManageScript.cs finds a class or a method in C# source without Roslyn, ported for the
Unity Editor stand-in: TryComputeClassSpanBalanced and TryComputeMethodSpan (no returnType,
parametersSignature or attributesContains filter). replace_method edits, and the auto-upgrade of
a text edit near a method header, replace exactly the span found here, so a header the plugin's
scan misses or over-reaches must be missed or over-reached the same way.

Positions are in units text (csharp_lexer.py): one character per UTF-16 code unit. A span is
(start, length); when there is none, the plugin's reason as a string.
"""

from __future__ import annotations

import re

from tests.support.csharp_lexer import CSharpLexer

_MODIFIERS = (
    "public|private|protected|internal|static|virtual|override|sealed|async|extern|unsafe|new|"
    "partial|readonly|volatile|event|abstract|ref|in|out"
)


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


def index_of_class_token(s: str, class_name: str) -> int:
    pattern, search_from = "class " + class_name, 0
    while search_from < len(s):
        idx = s.find(pattern, search_from)
        if idx < 0:
            return -1
        after = idx + len(pattern)
        if (idx > 0 and _word(s[idx - 1])) or (after < len(s) and _word(s[after])):
            search_from = idx + 1
            continue
        lexer, in_non_code = CSharpLexer(s, 0, idx + 1), False
        while lexer.advance() is not None:
            in_non_code = lexer.in_non_code
        if in_non_code:
            search_from = idx + 1
            continue
        return idx
    return -1


def class_span(source: str, class_name: str, ns: str | None = None) -> tuple[int, int] | str:
    """(start, length) of the class, or why not (TryComputeClassSpanBalanced)."""
    idx = index_of_class_token(source, class_name)
    if idx < 0:
        return f"class '{class_name}' not found (balanced scan)"
    if ns and ("namespace " + ns) not in source[max(0, idx - 2000) : idx]:
        return f"class '{class_name}' not under namespace '{ns}' (balanced scan)"
    line_start = idx
    while line_start > 0 and source[line_start - 1] not in "\n\r":
        line_start -= 1
    i = source.find("{", idx)
    if i < 0:
        return "no opening brace after class header"
    return _block_end(source, i, len(source), line_start, "", "class block")


def _block_end(
    source: str, i: int, end: int, span_start: int, what: str, block: str
) -> tuple[int, int] | str:
    depth, lexer = 0, CSharpLexer(source, i, end)
    while (c := lexer.advance()) is not None:
        if lexer.in_non_code:
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return span_start, lexer.pos - 1 - span_start + 1
            if depth < 0:
                return f"brace underflow{what}"
    return f"unterminated {block}"


def method_span(
    source: str, class_start: int, class_length: int, method_name: str
) -> tuple[int, int] | str:
    """(start, length) of the method, attributes included, or why not (TryComputeMethodSpan
    with no returnType, parametersSignature or attributesContains)."""
    search_start, search_end = class_start, min(len(source), class_start + class_length)
    pattern = (
        r"(?m)^[\t ]*(?:\[[^\]]+\][\t ]*)*[\t ]*"
        rf"(?:(?:{_MODIFIERS})\s+)*"
        r"[^\s]+[\t ]+" + re.escape(method_name) + r"\s*(?:<[^>]+>)?\s*\([\s\S]*?\)"
    )
    header = re.search(pattern, source[search_start:search_end])
    if header is None:
        return f"method '{method_name}' header not found in class"
    header_index = search_start + header.start()
    attr_start = _attributes_start(source, header_index, search_start)
    name_idx = _index_within(source, method_name, header_index, search_end)
    if name_idx < 0:
        return f"method '{method_name}' token not found after header"
    open_paren = _index_within(source, "(", name_idx, search_end)
    if open_paren < 0:
        return "method parameter list '(' not found"
    depth, lexer = 0, CSharpLexer(source, open_paren, search_end)
    while (pc := lexer.advance()) is not None:
        if lexer.in_non_code:
            continue
        depth += {"(": 1, ")": -1}.get(pc, 0)
        if pc == ")" and depth == 0:
            break
    i = _skip_where_clauses(source, _skip_trivia(source, lexer.pos, search_end), search_end)
    if i < search_end - 1 and source[i] == "=" and source[i + 1] == ">":
        j = source.find(";", i, search_end)
        if j < 0:
            return "unterminated expression-bodied method"
        return attr_start, j - attr_start + 1
    if i >= search_end or source[i] != "{":
        return "no opening brace after method signature"
    return _block_end(source, i, search_end, attr_start, " in method", "method block")


def _attributes_start(source: str, header_index: int, search_start: int) -> int:
    """The start of the header's line, or of the attribute lines right above it."""
    line_start = header_index
    while line_start > search_start and source[line_start - 1] not in "\n\r":
        line_start -= 1
    attr_start, probe = line_start, line_start - 1
    while probe > search_start:
        while probe > search_start and source[probe] in "\n\r":
            probe -= 1
        if probe <= search_start:
            break
        prev_nl = source.rfind("\n", 0, probe + 1)
        if prev_nl < 0 or prev_nl < search_start:
            break
        if not source[prev_nl + 1 : attr_start].lstrip().startswith("["):
            break
        attr_start, probe = prev_nl + 1, prev_nl - 1
    return attr_start


def _index_within(s: str, token: str, start: int, end: int) -> int:
    idx = s.find(token, start)
    return idx if 0 <= idx < end else -1


def _skip_trivia(s: str, i: int, end: int) -> int:
    while i < end:
        c, n = s[i], s[i + 1] if i + 1 < end else "\0"
        if c.isspace():
            i += 1
        elif c == "/" and n == "/":
            while i < end and s[i] != "\n":
                i += 1
        elif c == "/" and n == "*":
            i += 2
            while i + 1 < end and not (s[i] == "*" and s[i + 1] == "/"):
                i += 1
            i += 2
        else:
            break
    return i


def _skip_where_clauses(s: str, i: int, end: int) -> int:
    while True:
        i = _skip_trivia(s, i, end)
        has_where = i + 5 <= end and s[i : i + 5] == "where"
        if has_where and i - 1 >= 0 and _word(s[i - 1]):
            has_where = False
        if has_where and i + 5 < end and _word(s[i + 5]):
            has_where = False
        if not has_where:
            return i
        i += 5
        while i < end:
            c, n = s[i], s[i + 1] if i + 1 < end else "\0"
            if c in "{;" or (c == "=" and n == ">"):
                break
            if c == "/" and n == "/":
                while i < end and s[i] != "\n":
                    i += 1
                continue
            if c == "/" and n == "*":
                i += 2
                while i + 1 < end and not (s[i] == "*" and s[i + 1] == "/"):
                    i += 1
            i += 1
