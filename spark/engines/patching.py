"""Patches to a project's text file: exact replacements and insertions, strict unified diffs,
whole contents. Pure functions from the file's bytes to the new bytes.

A patch never guesses. `old` and `anchor` must occur exactly once; a unified diff's hunks must
match the file at exactly the lines their headers name (no offset, no fuzz). When they do
not, the patch is rejected with what was found and where, so the caller can fix it. Only a
`full` patch may create a file; the other types fail `not_found` on a missing one.

Line endings are the file's: in a CRLF file a bare newline in `old`, `anchor` or `new` means
CRLF, and a diff's lines match whatever ending they carry. A UTF-8 byte-order mark is kept
and not counted in line 1's columns. Every byte the patch does not touch stays as it was.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk, PatchSet

from spark.contracts.patch_params import PatchType

#: how many positions a failure lists (its count says how many there are in all)
MAX_POSITIONS = 20
_BOM = "\ufeff"
_NO_NEWLINE = "\\ No newline at end of file"
_BARE_NEWLINE = re.compile(r"(?<!\r)\n")
_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


class PatchRejected(Exception):
    """The patch does not apply; code is `patch_failed` or `not_found`."""

    def __init__(self, code: str, message: str, details: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, dict(details)


@dataclass(frozen=True)
class Patch:
    """One edit of one file, with the fields its type needs (see ApplyPatchParams)."""

    patch_type: PatchType
    old: str | None = None
    new: str | None = None
    anchor: str | None = None
    diff: str | None = None
    content: str | None = None


@dataclass(frozen=True)
class Position:
    """A 1-based line and column (in characters)."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclass(frozen=True)
class _Text:
    """A file's text without its byte-order mark, and the line ending it uses."""

    text: str
    bom: bool
    newline: str

    @classmethod
    def decode(cls, raw: bytes, errors: str = "strict") -> _Text:
        try:
            text = raw.decode("utf-8", errors)
        except UnicodeDecodeError as exc:
            message = f"the file is not UTF-8 text (byte {exc.start})"
            raise _failed(message, byte=exc.start) from None
        bom = text.startswith(_BOM)
        text = text.removeprefix(_BOM)
        # CRLF only when every line ending is one; a mixed file keeps its stray \r in its lines.
        crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
        return cls(text, bom, "\r\n" if crlf else "\n")

    def encode(self, text: str) -> bytes:
        return ((_BOM if self.bom else "") + text).encode("utf-8")

    def native(self, fragment: str) -> str:
        """fragment with its bare newlines written as this file writes them."""
        return _BARE_NEWLINE.sub("\r\n", fragment) if self.newline == "\r\n" else fragment

    def lines(self) -> tuple[list[str], bool]:
        """The lines without their endings, and whether the last one has an ending."""
        if not self.text:
            return [], False
        trailing = self.text.endswith(self.newline)
        body = self.text[: -len(self.newline)] if trailing else self.text
        return body.split(self.newline), trailing

    def join(self, lines: list[str], trailing: bool) -> str:
        return self.newline.join(lines) + (self.newline if trailing and lines else "")


def _failed(message: str, **details: Any) -> PatchRejected:
    return PatchRejected("patch_failed", message, details)


def apply(patch: Patch, current: bytes | None, path: str) -> bytes:
    """The file's new bytes (current is None for a file that does not exist)."""
    if patch.patch_type == "full":
        return (patch.content or "").encode("utf-8")
    if current is None:
        raise PatchRejected(
            "not_found",
            f"{path} does not exist in the project; only a 'full' patch creates a file",
            {"path": path},
        )
    doc = _Text.decode(current)
    return doc.encode(_APPLY[patch.patch_type](doc, patch))


def position(text: str, index: int) -> Position:
    """The line and column of text[index]."""
    line_start = text.rfind("\n", 0, index) + 1
    return Position(text.count("\n", 0, index) + 1, index - line_start + 1)


def occurrences(text: str, needle: str) -> list[int]:
    """Where needle starts in text, overlapping occurrences included (each makes it ambiguous)."""
    found, at = [], text.find(needle)
    while at != -1:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


def _unique(doc: _Text, needle: str, name: str) -> int:
    """Where needle occurs in the file, if exactly once; otherwise a rejection saying where."""
    if not needle:
        raise _failed(f"{name} is empty; it must be text that occurs once in the file", field=name)
    found = occurrences(doc.text, needle)
    if len(found) == 1:
        return found[0]
    where = [position(doc.text, at) for at in found[:MAX_POSITIONS]]
    details = {"field": name, "occurrences": len(found), "positions": [vars(p) for p in where]}
    if not found:
        hint = _first_line_hint(doc.text, needle)
        raise _failed(f"{name} does not occur in the file{hint}", **details)
    listed = ", ".join(map(str, where)) + (", ..." if len(found) > MAX_POSITIONS else "")
    raise _failed(
        f"{name} occurs {len(found)} times (at line:column {listed}); it must occur exactly "
        "once: include more of the surrounding text",
        **details,
    )


def _first_line_hint(text: str, needle: str) -> str:
    """Where the needle's first line occurs, when the whole does not (whitespace drift)."""
    first = needle.split("\n", 1)[0].rstrip("\r")
    if not first.strip() or first == needle:
        return ""
    found = occurrences(text, first)[:MAX_POSITIONS]
    if not found:
        return ""
    return f" (its first line does, at {', '.join(str(position(text, at)) for at in found)})"


def _replace(doc: _Text, patch: Patch) -> str:
    old = doc.native(patch.old or "")
    at = _unique(doc, old, "old")
    return doc.text[:at] + doc.native(patch.new or "") + doc.text[at + len(old) :]


def _insert_before(doc: _Text, patch: Patch) -> str:
    at = _unique(doc, doc.native(patch.anchor or ""), "anchor")
    return doc.text[:at] + doc.native(patch.new or "") + doc.text[at:]


def _insert_after(doc: _Text, patch: Patch) -> str:
    anchor = doc.native(patch.anchor or "")
    end = _unique(doc, anchor, "anchor") + len(anchor)
    return doc.text[:end] + doc.native(patch.new or "") + doc.text[end:]


def _hunks(diff: str) -> list[Hunk]:
    """The diff's hunks, parsed strictly (each hunk's line counts must match its header)."""
    if diff.startswith("@@"):
        diff = "--- a\n+++ b\n" + diff  # hunks alone: the file is the one being patched
    try:
        files = PatchSet(io.StringIO(diff))
    except UnidiffParseError as exc:
        raise _failed(f"the diff is not a valid unified diff: {exc}") from None
    if len(files) != 1:
        raise _failed(f"the diff must change exactly one file; it changes {len(files)}")
    if not files[0]:
        raise _failed("the diff has no hunks")
    return list(files[0])


def _unended(value: str, newline: str) -> str:
    """A diff line's text without its line ending (the file's ending, or a bare newline)."""
    value = value.removesuffix("\n")
    return value.removesuffix("\r") if newline == "\r\n" else value


def _start(hunk: Hunk) -> int:
    """The 0-based index of the hunk's first old line (a pure insertion names the line before)."""
    return hunk.source_start - 1 if hunk.source_length else hunk.source_start


def _check_hunk(number: int, lines: list[str], start: int, expected: list[str]) -> None:
    """Every old line of the hunk is exactly where the hunk says it is."""
    for offset, want in enumerate(expected):
        line = start + offset + 1
        got = lines[start + offset] if start + offset < len(lines) else None
        if got == want:
            continue
        found = "the file ends before it" if got is None else f"the file has {got!r}"
        matches = _block_matches(lines, expected)
        hint = f"; its lines are at line {', '.join(map(str, matches))}" if matches else ""
        raise _failed(
            f"hunk {number} does not apply at line {line}: {found}, the hunk expects "
            f"{want!r}{hint} (hunks must match exactly at the lines their headers name)",
            hunk=number,
            line=line,
            expected=want,
            found=got,
            matches_at=matches,
        )


def _block_matches(lines: list[str], block: list[str]) -> list[int]:
    """The 1-based lines where block occurs whole (a hint for a diff made on another version)."""
    if not block:
        return []
    size, first = len(block), block[0]
    starts = (i for i, line in enumerate(lines[: len(lines) - size + 1]) if line == first)
    return [i + 1 for i in starts if lines[i : i + size] == block][:MAX_POSITIONS]


def _target_lacks_newline(hunk: Hunk) -> bool:
    """Whether the hunk marks its new side's last line as having no newline."""
    previous = None
    for line in hunk:
        if line.line_type == "\\" and previous is not None and not previous.is_removed:
            return True
        previous = line
    return False


def _unified_diff(doc: _Text, patch: Patch) -> str:
    hunks = _hunks(patch.diff or "")
    lines, trailing = doc.lines()
    out: list[str] = []
    pos = 0
    for number, hunk in enumerate(hunks, 1):
        start = _start(hunk)
        if start < pos:
            raise _failed(f"hunk {number} starts at line {start + 1}, inside hunk {number - 1}")
        expected = [_unended(line.value, doc.newline) for line in hunk.source_lines()]
        _check_hunk(number, lines, start, expected)
        out += lines[pos:start]
        out += [_unended(line.value, doc.newline) for line in hunk.target_lines()]
        pos = start + len(expected)
    out += lines[pos:]
    if pos == len(lines):  # the last hunk reaches the end: it says how the file ends
        trailing = not _target_lacks_newline(hunks[-1])
    return doc.join(out, trailing)


_APPLY: dict[str, Callable[[_Text, Patch], str]] = {
    "replace": _replace,
    "insert_before": _insert_before,
    "insert_after": _insert_after,
    "unified_diff": _unified_diff,
}


def unified_diff(path: str, before: bytes | None, after: bytes) -> str:
    """What changed, as a unified diff from a/path (or /dev/null) to b/path that `apply`
    applies back; a last line without newline is marked as diff and patch mark it."""
    old = _line_list(before) if before is not None else []
    new = _line_list(after)
    source = f"a/{path}" if before is not None else "/dev/null"
    out = []
    for line in difflib.unified_diff(old, new, source, f"b/{path}"):
        out.append(line if line.endswith("\n") else f"{line}\n{_NO_NEWLINE}\n")
    return "".join(out)


def _line_list(raw: bytes) -> list[str]:
    """The file's lines with their endings, as difflib wants them."""
    return _LINE.findall(_Text.decode(raw, errors="replace").text)
