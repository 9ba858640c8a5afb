"""How ManageScript.cs reads, writes and fingerprints a script file, shared by its file actions
and both kinds of edit so that the stand-in's bytes and sha256 are the plugin's: File.ReadAllText,
File.WriteAllText through a .tmp, ComputeSha256 of the UTF-8 text, and the refusal to edit under
a symlinked folder. ScriptFile is the script one command acts on.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: told of every script written or deleted, by its "Assets/..." path
Wrote = Callable[[str], None]


@dataclass(frozen=True)
class ScriptFile:
    """The script a command acts on: the file, its "Assets/..." path as answers give it, its
    class name, and whom to tell when it is written (the editor then imports it and compiles)."""

    full: Path
    rel: str
    name: str
    wrote: Wrote


def sha256_text(text: str) -> str:
    """ComputeSha256: of the UTF-8 bytes, lower-case hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: Path) -> str:
    """File.ReadAllText: UTF-8, a byte-order mark dropped, bad bytes as U+FFFD."""
    return path.read_bytes().decode("utf-8-sig", "replace")


def write_text(path: Path, text: str) -> None:
    """File.WriteAllText with UTF8Encoding(false) to a .tmp, then moved over the target."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(text.encode("utf-8", "replace"))
    os.replace(tmp, path)


def symlinked_below(folder: Path, assets: str) -> bool:
    """Whether the folder, or any folder between it and Assets/, is a symbolic link."""
    probe = os.path.abspath(folder).replace("\\", "/")
    while probe and probe.lower() != assets.lower() and probe != os.path.dirname(probe):
        if os.path.islink(probe):
            return True
        probe = os.path.dirname(probe)
    return False
