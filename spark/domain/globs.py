"""Path patterns that name project files: `Assets/Scripts/**/*.cs`.

The semantics are those of `pathlib.PurePath.full_match` (Python 3.13), written out here
because SPARK runs on 3.11: the pattern matches the whole path, segment by segment; `*`,
`?` and `[seq]` (as in `fnmatch`) stay inside one segment; a `**` segment spans any number
of directories, none included; matching is case-sensitive, as the store's paths are.
Plain `fnmatch` would let `*` cross `/` and make `Assets/Scripts/**/*.cs` miss the files
directly in `Assets/Scripts/`, which no one writing that pattern means.
Libraries that translate a glob into one regular expression (wcmatch's globmatch) backtrack
exponentially on a pattern of many `**` against a deep path; patterns come from users, so
this matcher remembers each (path position, pattern position) answer instead.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

_GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """Whether the pattern names paths by wildcards rather than one path exactly."""
    return not _GLOB_CHARS.isdisjoint(pattern)


def literal_prefix(pattern: str) -> str:
    """The leading directories every match shares (`Assets/Scripts/` for `Assets/Scripts/*.cs`)."""
    segments = pattern.split("/")
    fixed = []
    for segment in segments[:-1]:
        if is_glob(segment):
            break
        fixed.append(segment + "/")
    return "".join(fixed)


def matches(pattern: str, path: str) -> bool:
    """Whether path is one of the paths pattern names."""
    segments = _collapsed(pattern.split("/"))
    parts = path.split("/")
    # known[(i, j)]: whether parts[i:] match segments[j:]; remembering each answer keeps a
    # pattern with many `**` linear in its length instead of exponential.
    known: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        if (i, j) not in known:
            if j == len(segments):
                known[i, j] = i == len(parts)
            elif segments[j] == "**":
                known[i, j] = match(i, j + 1) or (i < len(parts) and match(i + 1, j))
            else:
                known[i, j] = (
                    i < len(parts) and fnmatchcase(parts[i], segments[j]) and match(i + 1, j + 1)
                )
        return known[i, j]

    return match(0, 0)


def _collapsed(segments: list[str]) -> list[str]:
    """The segments with runs of `**` made one: `a/**/**/b` names what `a/**/b` names."""
    kept: list[str] = []
    for segment in segments:
        if not (segment == "**" and kept and kept[-1] == "**"):
            kept.append(segment)
    return kept
