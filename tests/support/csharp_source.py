"""The C# source scanning of unity-mcp's ManageScript.cs (MCPForUnity/Editor/Tools), ported
line by line for the Unity Editor stand-in: its lexer (strings and comments), the balanced
delimiter check, the class and method spans found without Roslyn, and ValidateScriptSyntax at
the levels below Strict. USE_ROSLYN is not defined (the default install).

C# strings index UTF-16 code units. Every function here takes text in "units" form: a Python
str holding one character per UTF-16 code unit (`to_units`), so indexes, lengths and regex
positions are the C# ones; `from_units` turns it back into ordinary text.
"""

from __future__ import annotations

import re

_TYPE_PATTERN = re.compile(r"\b(?:class|struct|interface|record)\s+(\w+)")
_METHOD_SIG = re.compile(
    r"(?:(?:public|private|protected|internal)\s+)?"
    r"(?:(?:static|virtual|override|abstract|sealed|async|new)\s+)*"
    r"(\S+)\s+(\w+)\s*\(([^)]*)\)\s*(?:where\s+\S+\s*:\s*\S+\s*)?(?:[{;]|=>)",
    re.MULTILINE,
)
_KEYWORDS = frozenset(
    {
        "if", "else", "for", "foreach", "while", "do", "switch", "case", "try", "catch",
        "finally", "throw", "return", "yield", "await", "lock", "using", "fixed", "checked",
        "unchecked", "typeof", "sizeof", "nameof", "default", "new", "stackalloc", "when", "in",
        "is", "as", "ref", "out", "params", "this", "base", "null", "true", "false", "get", "set",
        "var", "dynamic", "where", "from", "select", "group", "into", "orderby", "join", "let",
        "on", "equals", "by", "ascending", "descending",
    }
)  # fmt: skip
_MODIFIERS = (
    "public|private|protected|internal|static|virtual|override|sealed|async|extern|unsafe|new|"
    "partial|readonly|volatile|event|abstract|ref|in|out"
)

# ManageScript's ValidationLevel
BASIC, STANDARD, COMPREHENSIVE, STRICT = range(4)


def to_units(text: str) -> str:
    """text with each astral character as its two UTF-16 surrogates (C# string indexing)."""
    data = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(data[i : i + 2], "little")) for i in range(0, len(data), 2))


def from_units(units: str) -> str:
    """Ordinary text from units form (a split surrogate pair becomes U+FFFD, as C# writes it)."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


class CSharpLexer:
    """ManageScript.CSharpLexer: advance one character (or one whole string literal or comment
    opener) at a time; `in_non_code` tells whether it was inside a string or comment."""

    def __init__(self, text: str, start: int = 0, end: int = -1) -> None:
        self.text, self.pos = text, start
        self.end = len(text) if end < 0 else end
        self.line = 1 + text.count("\n", 0, min(start, len(text)))
        self._single = self._multi = False
        self.in_non_code = False

    def _at(self, i: int) -> str:
        return self.text[i] if i < self.end else "\0"

    def advance(self) -> str | None:
        """The next character, or None at the end of the range."""
        t, end = self.text, self.end
        if self.pos >= end:
            return None
        c, nxt = t[self.pos], self._at(self.pos + 1)
        if c == "\n":
            self.line += 1
            self._single = False
        if self._single:
            return self._non_code(c, 1)
        if self._multi:
            if c == "*" and nxt == "/":
                self._multi = False
                return self._non_code("/", 2)
            return self._non_code(c, 1)
        if c == "/" and nxt == "/":
            self._single = True
            return self._non_code(c, 2)
        if c == "/" and nxt == "*":
            self._multi = True
            return self._non_code(c, 2)
        return self._literal(c, nxt) or self._code(c)

    def _non_code(self, c: str, width: int) -> str:
        self.in_non_code = True
        self.pos += width
        return c

    def _code(self, c: str) -> str:
        self.in_non_code = False
        self.pos += 1
        return c

    def _literal(self, c: str, nxt: str) -> str | None:
        """A string or char literal starting here, skipped whole (Advance's literal cases, in
        their order); None when c starts none."""
        scanners = (self._raw_interpolated, self._raw, self._interpolated, self._verbatim)
        if any(scan(c, nxt) for scan in scanners) or self._quoted(c):
            self.in_non_code = True
            return c
        return None

    def _raw_interpolated(self, c: str, nxt: str) -> bool:
        """C# 11 interpolated raw strings: one or more $, then three or more quotes."""
        if c != "$":
            return False
        t, end, pos = self.text, self.end, self.pos
        dollars = 1
        while pos + dollars < end and t[pos + dollars] == "$":
            dollars += 1
        after = pos + dollars
        if not (after + 2 < end and t[after : after + 3] == '"""'):
            return False
        q = 3
        while after + q < end and t[after + q] == '"':
            q += 1
        self.pos = after + q
        self._skip_interpolated_raw(dollars, q)
        return True

    def _raw(self, c: str, nxt: str) -> bool:
        """A raw string: three or more quotes, closed by as many."""
        t, end = self.text, self.end
        if not (c == '"' and nxt == '"' and self.pos + 2 < end and t[self.pos + 2] == '"'):
            return False
        q = 3
        while self.pos + q < end and t[self.pos + q] == '"':
            q += 1
        self.pos += q
        closing = 0
        while self.pos < end:
            if t[self.pos] == "\n":
                self.line += 1
            if t[self.pos] == '"':
                closing += 1
                if closing >= q:
                    self.pos += 1
                    break
            else:
                closing = 0
            self.pos += 1
        return True

    def _interpolated(self, c: str, nxt: str) -> bool:
        """Interpolated strings: $ then a quote, or $@ / @$ then a quote."""
        after2 = self._at(self.pos + 2)
        if not (
            (c == "$" and nxt == '"')
            or (c == "$" and nxt == "@" and after2 == '"')
            or (c == "@" and nxt == "$" and after2 == '"')
        ):
            return False
        self.pos += 2 if (c == "$" and nxt == '"') else 3
        self._skip_interpolated(nxt == "@" or c == "@")
        return True

    def _verbatim(self, c: str, nxt: str) -> bool:
        """A verbatim string: @ then a quote; doubled quotes inside."""
        if not (c == "@" and nxt == '"'):
            return False
        t, end = self.text, self.end
        self.pos += 2
        while self.pos < end:
            if t[self.pos] == "\n":
                self.line += 1
            if t[self.pos] == '"':
                if self.pos + 1 < end and t[self.pos + 1] == '"':
                    self.pos += 2
                    continue
                self.pos += 1
                break
            self.pos += 1
        return True

    def _quoted(self, c: str) -> bool:
        """A quoted string (lines counted) or char literal (not); backslash escapes."""
        if c not in "\"'":
            return False
        self.pos += 1
        self._skip_escaped(c, count_lines=c == '"')
        return True

    def _skip_escaped(self, quote: str, count_lines: bool) -> None:
        t, end = self.text, self.end
        while self.pos < end:
            if t[self.pos] == "\\":
                self.pos += 2
                continue
            if t[self.pos] == quote:
                self.pos += 1
                break
            if count_lines and t[self.pos] == "\n":
                self.line += 1
            self.pos += 1

    def _skip_hole_code(self, ch: str) -> bool:
        """One step inside an interpolation hole that is not a brace: a nested string, comment
        or char literal skipped whole; False when ch starts none of them."""
        t, end = self.text, self.end
        if ch in "\"'":
            self.pos += 1
            self._skip_escaped(ch, count_lines=ch == '"')
            return True
        if ch != "/" or self.pos + 1 >= end or t[self.pos + 1] not in "/*":
            return False
        self.pos += 2
        if t[self.pos - 1] == "/":
            while self.pos < end and t[self.pos] != "\n":
                self.pos += 1
            return True
        while self.pos + 1 < end and not (t[self.pos] == "*" and t[self.pos + 1] == "/"):
            if t[self.pos] == "\n":
                self.line += 1
            self.pos += 1
        if self.pos + 1 < end:
            self.pos += 2
        return True

    def _skip_interpolated(self, verbatim: bool) -> None:
        t, end, depth = self.text, self.end, 0
        while self.pos < end:
            ch = t[self.pos]
            if ch == "\n":
                self.line += 1
            if depth > 0:
                if ch in "{}":
                    depth += 1 if ch == "{" else -1
                    self.pos += 1
                elif not self._skip_hole_code(ch):
                    self.pos += 1
                continue
            doubled = self.pos + 1 < end and t[self.pos + 1] == ch
            if ch in "{}":
                if doubled:
                    self.pos += 2
                    continue
                depth = 1 if ch == "{" else depth
                self.pos += 1
                continue
            if ch == '"':
                if verbatim and doubled:
                    self.pos += 2
                    continue
                self.pos += 1
                return
            self.pos += 2 if (not verbatim and ch == "\\") else 1

    def _skip_interpolated_raw(self, dollars: int, quotes: int) -> None:
        t, end, depth = self.text, self.end, 0
        while self.pos < end:
            ch = t[self.pos]
            if ch == "\n":
                self.line += 1
            if depth > 0:
                if ch in "{}":
                    depth += 1 if ch == "{" else -1
                    self.pos += 1
                elif not self._skip_hole_code(ch):
                    self.pos += 1
                continue
            if ch in '"{}':
                run = 1
                while self.pos + run < end and t[self.pos + run] == ch:
                    run += 1
                if ch == '"' and run >= quotes:
                    self.pos += quotes
                    return
                if ch == "{" and run >= dollars:
                    self.pos += dollars
                    depth = 1
                    continue
                self.pos += run
                continue
            self.pos += 1


def check_balanced_delimiters(text: str) -> tuple[bool, int, str]:
    """(balanced, line, expected) as ManageScript.CheckBalancedDelimiters."""
    stacks: dict[str, list[int]] = {"}": [], ")": [], "]": []}
    closers = {"}": "{", ")": "(", "]": "["}
    openers = {"{": "}", "(": ")", "[": "]"}
    lexer = CSharpLexer(text)
    while (c := lexer.advance()) is not None:
        if lexer.in_non_code:
            continue
        if c in openers:
            stacks[openers[c]].append(lexer.line)
        elif c in closers:
            if not stacks[c]:
                return False, lexer.line, closers[c]
            stacks[c].pop()
    for closer in "})]":
        if stacks[closer]:
            return False, stacks[closer][-1], closer
    return True, 1, "\0"


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


def validate_script_syntax(contents: str, level: int = STANDARD) -> tuple[bool, list[str]]:
    """ManageScript.ValidateScriptSyntax without Roslyn: (valid, diagnostics). Comprehensive's
    extra rules only ever add warnings, which block nothing below Strict; they are left out."""
    if not contents:
        return True, []
    balanced, line, expected = check_balanced_delimiters(contents)
    if not balanced:
        return False, [f"ERROR: Unbalanced delimiter at line {line} (expected '{expected}')"]
    errors = _duplicate_method_signatures(contents)
    if level >= STANDARD:
        errors += _unity_warnings(contents)
    valid = not errors or (level != STRICT and not any(e.startswith("ERROR:") for e in errors))
    return valid, errors


_UNITY_RULES = (
    (("FindObjectOfType", "Update()"), (), "FindObjectOfType in Update() can cause performance issues"),
    (("GameObject.Find", "Update()"), (), "GameObject.Find in Update() can cause performance issues"),
    ((": MonoBehaviour",), ("using UnityEngine",), "MonoBehaviour requires 'using UnityEngine;'"),
    (("[SerializeField]",), ("using UnityEngine",), "SerializeField requires 'using UnityEngine;'"),
    (("StartCoroutine",), ("IEnumerator",), "StartCoroutine typically requires IEnumerator methods"),
    (("Rigidbody", "Update()"), ("FixedUpdate()",), "Consider using FixedUpdate() for Rigidbody operations"),
    (("GetComponent<",), ("!= null",), "Consider null checking GetComponent results"),
    (("void Start(",), ("void Start()",), "Start() should not have parameters"),
    (("void Update(",), ("void Update()",), "Update() should not have parameters"),
    (("Update()", '"', "+"), (), "String concatenation in Update() can cause garbage collection issues"),
)  # fmt: skip


def _unity_warnings(contents: str) -> list[str]:
    return [
        f"WARNING: {message}"
        for present, absent, message in _UNITY_RULES
        if all(p in contents for p in present) and not any(a in contents for a in absent)
    ]


def _code_only(contents: str) -> str:
    chars, lexer = list(contents), CSharpLexer(contents)
    while True:
        start = lexer.pos
        if lexer.advance() is None:
            break
        if lexer.in_non_code:
            for i in range(start, min(lexer.pos, len(chars))):
                if chars[i] != "\n":
                    chars[i] = " "
    return "".join(chars)


def _containing_types(code: str) -> tuple[list[str], list[int], list[int]]:
    """Per position: the enclosing type's full name, the brace depth, and the depth at which
    that type's members sit (-1 outside any type)."""
    brace_types: dict[int, str] = {}
    pre: list[tuple[str, int]] = []
    depth, matches = 0, list(_TYPE_PATTERN.finditer(code))
    next_match = 0
    for i, ch in enumerate(code):
        while next_match < len(matches) and matches[next_match].start() == i:
            m = matches[next_match]
            brace = code.find("{", m.end())
            if brace >= 0:
                brace_types[brace] = (pre[-1][0] + "." if pre else "") + m.group(1)
            next_match += 1
        if ch == "{":
            if i in brace_types:
                pre.append((brace_types[i], depth))
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
            if pre and pre[-1][1] == depth:
                pre.pop()
    types, depths, member_depths = [], [], []
    stack: list[tuple[str, int]] = []
    depth, current = 0, ""
    for i, ch in enumerate(code):
        types.append(current)
        depths.append(depth)
        member_depths.append(stack[-1][1] + 1 if stack else -1)
        if ch == "{":
            if i in brace_types:
                stack.append((brace_types[i], depth))
                current = brace_types[i]
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
            if stack and stack[-1][1] == depth:
                stack.pop()
                current = stack[-1][0] if stack else ""
    return types, depths, member_depths


def _duplicate_method_signatures(contents: str) -> list[str]:
    code = _code_only(contents)
    types, depths, member_depths = _containing_types(code)
    seen: set[str] = set()
    errors: list[str] = []
    for m in _METHOD_SIG.finditer(code):
        return_type, name, params = m.group(1), m.group(2), m.group(3)
        if return_type == "new" or name in _KEYWORDS:
            continue
        container = types[m.start()]
        if not container or depths[m.start()] != member_depths[m.start()]:
            continue
        count = _count_params(params)
        key = f"{container}/{name}/{count}/{_param_types(params)}"
        if key in seen:
            errors.append(
                f"ERROR: Duplicate method signature detected: '{name}' with {count} "
                "parameter(s). This may indicate a corrupted edit."
            )
        seen.add(key)
    return errors


def _count_params(params: str) -> int:
    if not params.strip():
        return 0
    depth, count = 0, 1
    for c in params:
        if c in "<([":
            depth += 1
        elif c in ">)]":
            depth -= 1
        elif c == "," and depth == 0:
            count += 1
    return count


def _param_types(params: str) -> str:
    if not params.strip():
        return ""
    types = ""
    depth = start = 0
    for i in range(len(params) + 1):
        c = params[i] if i < len(params) else ","
        if c in "<([":
            depth += 1
        elif c in ">)]":
            depth -= 1
        elif c == "," and depth == 0:
            param = params[start:i].strip()
            last_split, d2 = -1, 0
            for j, pc in enumerate(param):
                if pc in "<([":
                    d2 += 1
                elif pc in ">)]":
                    d2 -= 1
                elif d2 == 0 and pc.isspace():
                    last_split = j
            types += (", " if types else "") + (
                param[:last_split].strip() if last_split > 0 else param
            )
            start = i + 1
    return re.sub(r"\s+", " ", types)
