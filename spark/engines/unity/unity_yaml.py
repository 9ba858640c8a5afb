"""Low-level writer for Unity's text serialization: YAML documents, references, GUIDs, .meta."""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

#: every Unity text asset starts with these two directives (reference/unity.md §4)
HEADER = "%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n"

#: built-in "extra" resources: shaders, default materials
BUILTIN_EXTRA_GUID = "0000000000000000f000000000000000"
#: built-in default resources: primitive meshes
BUILTIN_DEFAULT_GUID = "0000000000000000e000000000000000"

# Changing this namespace would change every generated GUID and break references
# that users' projects already hold to assets SPARK wrote for them.
_GUID_NAMESPACE = uuid.UUID("6f1d3c52-5a0e-4b7e-9a43-5350415246b1")
_GUID = re.compile(r"^[0-9a-f]{32}$")
_META_GUID = re.compile(r"^guid:[ \t]*([0-9a-f]{32})[ \t]*$", re.MULTILINE)
# A plain scalar Unity and YAML 1.1 both read back as this very string.
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ./()-]*(?<! )$")
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
# NativeFormatImporter needs the fileID of the file's main object: classID * 100000.
_NATIVE_MAIN_OBJECT = {
    ".mat": 2100000,
    ".asset": 11400000,
    ".anim": 7400000,
    ".controller": 9100000,
}
_IMPORTERS = ("DefaultImporter", "MonoImporter", "NativeFormatImporter", "PrefabImporter")


@dataclass(frozen=True)
class Ref:
    """An object reference: a fileID in this file, or in the file whose .meta has guid."""

    file_id: int
    guid: str | None = None
    #: 2 for a native asset (.mat, .prefab), 3 for an imported one (script, texture), 0 built-in
    type: int = 0

    def __str__(self) -> str:
        if self.guid is None:
            return f"{{fileID: {self.file_id}}}"
        return f"{{fileID: {self.file_id}, guid: {self.guid}, type: {self.type}}}"


@dataclass(frozen=True)
class Flow:
    """A one-line mapping such as a vector or a colour: `{x: 0, y: 1}`."""

    items: tuple[tuple[str, float], ...]

    def __str__(self) -> str:
        return "{" + ", ".join(f"{k}: {number(v)}" for k, v in self.items) + "}"


NULL = Ref(0)

Value: TypeAlias = "int | float | str | Ref | Flow | Mapping[str, Value] | Sequence[Value]"


def vec(**axes: float) -> Flow:
    """A flow mapping in the order given, e.g. vec(x=0, y=0, z=0)."""
    return Flow(tuple(axes.items()))


def number(value: float) -> str:
    """A number as Unity writes it: integers bare, floats short, never exponent notation."""
    if isinstance(value, int):  # bool included: Unity writes flags as 0 and 1
        return str(int(value))
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    if value == 0:
        return "0"  # also turns -0.0 into 0
    text = f"{value:.9g}"
    # YAML 1.1 parsers read "1e-05" as a string, so spell small values out.
    return f"{value:.12f}".rstrip("0").rstrip(".") if "e" in text else text


def scalar(value: int | float | str | Ref | Flow) -> str:
    """One scalar value formatted for the right-hand side of `key: value`."""
    if isinstance(value, Ref | Flow):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    return number(value)


def quote(text: str) -> str:
    """A string as a YAML scalar: plain when that reads back unchanged, else single-quoted."""
    if text == "" or (_PLAIN.match(text) and text.lower() not in _YAML11_WORDS):
        return text
    return "'" + text.replace("'", "''") + "'"


def emit(mapping: Mapping[str, Value], indent: int = 0) -> list[str]:
    """Block-style lines for a mapping, with Unity's indentless sequences."""
    lines: list[str] = []
    pad = " " * indent
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            lines += [f"{pad}{key}:", *emit(value, indent + 2)] if value else [f"{pad}{key}: {{}}"]
        elif isinstance(value, Sequence) and not isinstance(value, str):
            lines += [f"{pad}{key}:", *_items(value, indent)] if value else [f"{pad}{key}: []"]
        else:
            lines.append(f"{pad}{key}: {scalar(value)}")
    return lines


def _items(items: Sequence[Value], indent: int) -> list[str]:
    """Sequence entries at the key's own indent, as Unity writes them."""
    lines: list[str] = []
    pad = " " * indent
    for item in items:
        if isinstance(item, Mapping) and item:
            first, *rest = emit(item, indent + 2)
            lines += [f"{pad}- {first.lstrip()}", *rest]
        elif isinstance(item, Mapping | Sequence) and not isinstance(item, str):
            raise ValueError("nested empty or sequence items are not used by Unity assets")
        else:
            lines.append(f"{pad}- {scalar(item)}")
    return lines


def document(class_id: int, file_id: int, class_name: str, body: Mapping[str, Value]) -> str:
    """One object: the `--- !u!<classID> &<fileID>` header, its class name, its fields."""
    return "\n".join([f"--- !u!{class_id} &{file_id}", f"{class_name}:", *emit(body, 2)]) + "\n"


def unity_file(documents: Iterable[str]) -> str:
    """A complete text asset: the header directives followed by its documents."""
    return HEADER + "".join(documents)


def stable_guid(*parts: str) -> str:
    """A GUID (32 lowercase hex) that is always the same for the same parts."""
    return uuid.uuid5(_GUID_NAMESPACE, json.dumps(list(parts))).hex


def stable_file_ids(seed: str, labels: Sequence[str]) -> list[int]:
    """A distinct, positive, 63-bit local fileID per label, the same for the same seed."""
    taken: set[int] = set()
    ids: list[int] = []
    for label in labels:
        attempt = 0
        while True:
            key = json.dumps([seed, label, attempt]).encode()
            file_id = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest()) >> 1
            if file_id not in taken and file_id != 0:
                break
            attempt += 1  # a collision is astronomically rare; rehash rather than fail
        taken.add(file_id)
        ids.append(file_id)
    return ids


def check_guid(guid: str) -> str:
    """Return guid if it is 32 lowercase hex characters, else raise ValueError."""
    if not _GUID.match(guid):
        raise ValueError(f"not a Unity GUID (32 lowercase hex characters): {guid!r}")
    return guid


def meta_file(guid: str, importer: str, *, main_object_file_id: int | None = None) -> str:
    """A .meta file: format version, GUID and the named importer's block."""
    check_guid(guid)
    if importer not in _IMPORTERS:
        raise ValueError(f"unknown importer {importer!r}; known: {', '.join(_IMPORTERS)}")
    if (importer == "NativeFormatImporter") != (main_object_file_id is not None):
        raise ValueError("main_object_file_id goes with NativeFormatImporter, and only with it")
    block: dict[str, Value] = {"externalObjects": {}}
    if importer == "MonoImporter":
        block |= {"serializedVersion": 2, "defaultReferences": [], "executionOrder": 0}
        block["icon"] = Flow((("instanceID", 0),))
    if main_object_file_id is not None:
        block["mainObjectFileID"] = main_object_file_id
    block |= {"userData": "", "assetBundleName": "", "assetBundleVariant": ""}
    lines = ["fileFormatVersion: 2", f"guid: {guid}", f"{importer}:", *emit(block, 2)]
    return "\n".join(lines) + "\n"


def meta_for_path(path: str, guid: str) -> str:
    """The .meta Unity would write for a file at path: its importer chosen by the suffix."""
    suffix = posixpath.splitext(path)[1].lower()
    if suffix == ".cs":
        return meta_file(guid, "MonoImporter")
    if suffix == ".prefab":
        # Unity 2018.3+ imports prefabs with PrefabImporter (reference/unity.md §4).
        return meta_file(guid, "PrefabImporter")
    main_object = _NATIVE_MAIN_OBJECT.get(suffix)
    if main_object is not None:
        return meta_file(guid, "NativeFormatImporter", main_object_file_id=main_object)
    return meta_file(guid, "DefaultImporter")


def meta_guid(meta: str) -> str:
    """The GUID a .meta file declares, or ValueError if it declares none."""
    found = _META_GUID.search(meta)
    if found is None:
        raise ValueError("the .meta file has no `guid: <32 hex>` line")
    return found.group(1)
