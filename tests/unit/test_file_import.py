"""`spark files import PROJECT DIR` reads what the file store keeps of a Unity project and
sends it in history documents the API accepts, each under the body limit."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from spark.cli.file_import import BATCH_BYTES, batches, scan
from spark.contracts.files import HistoryDocument
from spark.contracts.paths import MAX_CODE_BYTES

AUTHOR = {"user": "alice", "subject": None}


def write(root: Path, path: str, content: bytes) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_bytes(content)


def test_a_scan_reads_the_stores_folders_and_leaves_caches_hidden_names_and_links_out(
    tmp_path: Path,
) -> None:
    write(tmp_path, "Assets/Scripts/Player.cs", b"class Player {}\n")
    write(tmp_path, "Assets/Art/icon.png", b"\x89PNG\x00\xff")
    write(tmp_path, "Packages/manifest.json", b"{}\n")
    write(tmp_path, "ProjectSettings/ProjectVersion.txt", b"m_EditorVersion: 2022.3\n")
    write(tmp_path, "Library/ArtifactDB", b"cache")
    write(tmp_path, "Assets/.DS_Store", b"hidden")
    write(tmp_path, "Assets/Backup~/Old.cs", b"skipped by Unity")
    write(tmp_path, "Assets/Big.asset", b"x" * (MAX_CODE_BYTES + 1))
    os.symlink("/etc/passwd", tmp_path / "Assets" / "passwd")

    found = scan(tmp_path)

    assert [f.path for f in found.files] == [
        "Assets/Art/icon.png",
        "Assets/Scripts/Player.cs",
        "Packages/manifest.json",
        "ProjectSettings/ProjectVersion.txt",
    ]
    assert found.too_large == ["Assets/Big.asset"] and found.refused == []


def test_batches_stay_under_the_limit_and_each_validates_as_a_history_document(
    tmp_path: Path,
) -> None:
    """Text with many escapes and binary files, more than one request's worth."""
    for index in range(6):
        write(tmp_path, f"Assets/Text/{index}.txt", b'"\\\n' * (MAX_CODE_BYTES // 3))
        write(tmp_path, f"Assets/Art/{index}.png", bytes(range(256)) * (MAX_CODE_BYTES // 256))

    sent = list(batches(scan(tmp_path).files, AUTHOR, "imported"))

    assert len(sent) > 1
    paths = []
    for document, size in sent:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        assert len(body) <= BATCH_BYTES
        stored = HistoryDocument.model_validate(document).stored(uuid.uuid4())
        assert sum(len(s.content) for s in stored) == size
        paths += [s.version.path for s in stored]
    assert sorted(paths) == sorted(f.path for f in scan(tmp_path).files)
