"""Turning the editor's copy of a script into SPARK's version with `apply_text_edits` calls
that unity-mcp's ManageScript applies exactly as sent.

ManageScript takes 1-based line/column ranges over the file it holds and has rules that make
some edits mean something else, or nothing:
- a call with a single edit near a method header is re-routed into a replacement of that
  method alone, taken from the edited text ("auto-upgrade"): every other change in the edit
  is dropped, possibly with a success answer. Every call here carries at least two edits, so
  no call is ever re-routed;
- the new texts of one call may total 64 KiB of UTF-8 at most (`too_large`), so the changes
  are spread over as many calls as that takes, each planned on the text the previous leaves;
  a change too large for one call goes in first as insertions of whole lines whose braces,
  parentheses and brackets balance, because ManageScript refuses any call that leaves the
  file unbalanced (`unbalanced_braces`);
- columns count UTF-16 code units, and CRLF or a lone CR ends a line as LF does.

The edits are the differences between the two texts, line by line, trimmed to the characters
that differ; a whole-file replacement would also touch text before the first `using`, which
ManageScript refuses (`using_guard`) even when that text did not change.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: ManageScript's cap on one call's new text (MaxEditPayloadBytes)
MAX_EDIT_BYTES = 64 * 1024
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@dataclass(frozen=True)
class Span:
    """Replace text[start:end] (code-point indices) with new_text."""

    start: int
    end: int
    new_text: str

    @property
    def size(self) -> int:
        """The UTF-8 bytes ManageScript counts against its cap."""
        return len(self.new_text.encode("utf-8"))


@dataclass(frozen=True)
class Batch:
    """One apply_text_edits call: its edits, the text it starts from and the text it leaves."""

    edits: tuple[dict[str, Any], ...]
    before: str
    after: str


class Unplannable(ValueError):
    """The change cannot be made in calls ManageScript applies literally."""


def plan(old: str, new: str, limit: int = MAX_EDIT_BYTES) -> list[Batch]:
    """The calls that turn old into new, in order (none when they are equal)."""
    batches: list[Batch] = []
    current = old
    # every call either finishes a change or adds at least limit/4 bytes of it
    for _ in range(4 * len(new.encode("utf-8")) // max(limit, 1) + 4 * len(_lines(old)) + 4):
        if current == new:
            return batches
        spans = _take(differences(current, new), limit)
        after = apply(current, spans)
        if after == current:
            break
        batches.append(Batch(tuple(_edits(current, spans)), current, after))
        current = after
    raise Unplannable("the change does not converge in edits under the editor's size limit")


def differences(old: str, new: str) -> list[Span]:
    """The line-level differences between old and new, trimmed to the characters that differ."""
    old_lines, new_lines = _lines(old), _lines(new)
    starts = _offsets(old_lines)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    spans: list[Span] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            spans.append(_trimmed(old, Span(starts[i1], starts[i2], "".join(new_lines[j1:j2]))))
    return spans


def apply(text: str, spans: list[Span]) -> str:
    """text with every span replaced, as ManageScript applies them (back to front)."""
    for span in sorted(spans, key=lambda s: s.start, reverse=True):
        text = text[: span.start] + span.new_text + text[span.end :]
    return text


def _take(spans: list[Span], limit: int) -> list[Span]:
    """As many spans, in order, as fit one call; the first one cut down if it alone is over."""
    taken: list[Span] = []
    total = 0
    for span in spans:
        if total + span.size > limit:
            break
        taken.append(span)
        total += span.size
    if not taken and spans:
        # inserted ahead of the text it replaces, which stays until the last part goes in
        first = spans[0]
        taken.append(Span(first.start, first.start, _prefix(first.new_text, limit)))
    return taken


def _prefix(text: str, limit: int) -> str:
    """The longest start of text within limit UTF-8 bytes that ends at a line end where its
    delimiters balance; else at any line end; else anywhere but between a CR and its LF."""
    cut = len(text.encode("utf-8")[:limit].decode("utf-8", errors="ignore"))
    balanced = [end for end in _balanced_line_ends(text) if end <= cut]
    if balanced:
        return text[: balanced[-1]]
    line_end = max(text.rfind("\n", 0, cut), text.rfind("\r", 0, cut))
    if line_end > 0:
        cut = line_end + 1
    if 0 < cut < len(text) and text[cut - 1] == "\r" and text[cut] == "\n":
        cut -= 1
    return text[:cut]


_TOKEN = re.compile(
    r'//[^\r\n]*|/\*.*?(?:\*/|\Z)|@"(?:[^"]|"")*(?:"|\Z)|\$?"(?:[^"\\\r\n]|\\.)*(?:"|$)'
    r"|'(?:[^'\\\r\n]|\\.)*(?:'|$)|[{}()\[\]]|\r\n|\r|\n",
    re.DOTALL | re.MULTILINE,
)


def _balanced_line_ends(text: str) -> list[int]:
    """The indices just past each line end of text at which every (, [ and { opened since
    the start is closed, none closed unopened, strings and comments not counted."""
    depth, ends = 0, []
    for token in _TOKEN.finditer(text):
        kind = token.group()
        if kind in ("{", "(", "["):
            depth += 1
        elif kind in ("}", ")", "]"):
            depth -= 1
            if depth < 0:
                break
        elif kind in ("\r\n", "\r", "\n") and depth == 0:
            ends.append(token.end())
    return ends


def _trimmed(old: str, span: Span) -> Span:
    """span without the characters it leaves unchanged at either end."""
    removed, added = old[span.start : span.end], span.new_text
    head = _common_length(removed, added)
    tail = _common_length(removed[head:][::-1], added[head:][::-1])
    start, end = span.start + head, span.end - tail
    new_text = added[head : len(added) - tail]
    # a position between CR and LF does not exist for ManageScript: widen to the pair
    if 0 < start < len(old) and old[start - 1] == "\r" and old[start] == "\n":
        start, new_text = start - 1, "\r" + new_text
    if 0 < end < len(old) and old[end - 1] == "\r" and old[end] == "\n":
        end, new_text = end + 1, new_text + "\n"
    return Span(start, end, new_text)


def _common_length(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _edits(text: str, spans: list[Span]) -> Iterator[dict[str, Any]]:
    """The spans as ManageScript's 1-based, UTF-16 line/column edits; a call with one span
    gets a second, empty one at its end, which changes nothing and keeps the call literal."""
    positions = _Positions(text)
    for span in spans:
        yield positions.edit(span)
    if len(spans) == 1:
        yield positions.edit(Span(spans[0].end, spans[0].end, ""))


class _Positions:
    """Line and column of a code-point index, counted as ManageScript counts them."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts = _offsets(_lines(text))[:-1] or [0]

    def at(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, index) - 1
        if self._text.endswith(("\n", "\r")) and index == len(self._text) and self._text:
            line = len(self._starts)
            return line + 1, 1
        start = self._starts[line]
        return line + 1, len(self._text[start:index].encode("utf-16-le")) // 2 + 1

    def edit(self, span: Span) -> dict[str, Any]:
        start_line, start_col = self.at(span.start)
        end_line, end_col = self.at(span.end)
        return {
            "startLine": start_line,
            "startCol": start_col,
            "endLine": end_line,
            "endCol": end_col,
            "newText": span.new_text,
        }


def _lines(text: str) -> list[str]:
    """text's lines with their endings (CRLF, CR or LF)."""
    return _LINE.findall(text)


def _offsets(lines: list[str]) -> list[int]:
    """Where each line starts, and the end of the text last."""
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return offsets
