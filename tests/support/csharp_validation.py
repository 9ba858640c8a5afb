"""ManageScript.cs's syntax checks without Roslyn, ported for the Unity Editor stand-in:
CheckBalancedDelimiters, which also ends every edit, and ValidateScriptSyntax at the levels below
Strict (a duplicate method signature is an error; Standard adds the Unity warnings). The plugin
refuses to write what these reject, so the stand-in refuses the same scripts.

Text is in units form (csharp_lexer.py): one character per UTF-16 code unit.
"""

from __future__ import annotations

import re

from tests.support.csharp_lexer import CSharpLexer

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

# ManageScript's ValidationLevel
BASIC, STANDARD, COMPREHENSIVE, STRICT = range(4)
#: the validation levels by the names commands give them
LEVELS = {"basic": BASIC, "standard": STANDARD, "comprehensive": COMPREHENSIVE, "strict": STRICT}


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
    brace_types = _type_braces(code)
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


def _type_braces(code: str) -> dict[int, str]:
    """The opening brace of each type declaration, with the type's full name (nested types
    as Outer.Inner), found in a pass before the positions are walked."""
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
    return brace_types


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
