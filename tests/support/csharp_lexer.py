"""The C# lexer of unity-mcp's ManageScript.cs (MCPForUnity/Editor/Tools), ported line by line
for the Unity Editor stand-in. ManageScript finds its delimiters, class and method spans with it
and no parser (USE_ROSLYN is not defined in the default install), so whatever it mistakes for a
string or comment decides which edits the stand-in accepts, as the plugin's would.

C# strings index UTF-16 code units. The lexer and every scan built on it (csharp_spans.py,
csharp_validation.py) take text in "units" form: a Python str holding one character per UTF-16
code unit (`to_units`), so indexes, lengths and regex positions are the C# ones; `from_units`
turns it back into ordinary text.
"""

from __future__ import annotations


def to_units(text: str) -> str:
    """text with each astral character as its two UTF-16 surrogates (C# string indexing)."""
    data = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(data[i : i + 2], "little")) for i in range(0, len(data), 2))


def from_units(units: str) -> str:
    """Ordinary text from units form (a split surrogate pair becomes U+FFFD, as C# writes it)."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


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
