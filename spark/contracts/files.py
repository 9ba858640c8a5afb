"""The file routes' bodies (CONTRACT §4): file versions, listings, rollback, and the file
history document that export writes and import reads.

A file's bytes travel as `content` when they are UTF-8 text without NUL (which JSON bodies
may not carry into SPARK), and otherwise as `content_base64` with `content` null, so every
file survives export and import byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from spark.contracts.paths import MAX_CODE_BYTES, check_project_path
from spark.domain.files import Author, FileHead, FileVersion, StoredFile, sha256_of

#: the document format export writes and import accepts
HISTORY_FORMAT = "spark.file-history/1"
#: where project files live: a job writes only under Assets/ (CONTRACT §5); the store also
#: keeps a Unity project's package manifest and settings, so it can be a project's whole
#: source (a build needs ProjectSettings/EditorBuildSettings.asset to know its scenes)
FILE_ROOTS = ("Assets/", "Packages/", "ProjectSettings/")


def check_file_path(value: str) -> str:
    """A project file path, as every file route and the import accept it."""
    return check_project_path(value, roots=FILE_ROOTS)


FilePath = Annotated[str, AfterValidator(check_file_path)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def encode_content(content: bytes) -> tuple[str | None, str | None]:
    """(content, content_base64): text when the bytes are UTF-8 without NUL, else base64."""
    if b"\x00" not in content:
        try:
            return content.decode("utf-8"), None
        except UnicodeDecodeError:
            pass
    return None, base64.b64encode(content).decode("ascii")


class AuthorOut(BaseModel):
    """Who wrote a version: the user, and the API key id or `jwt:<sub>` that acted for them."""

    model_config = ConfigDict(extra="forbid")

    user: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    subject: Annotated[str, StringConstraints(max_length=255)] | None = None


class FileVersionOut(BaseModel):
    """A file version: {path, version, sha256, size, author, job_id, message, created_at,
    deleted}."""

    path: str
    version: int
    sha256: str
    size: int
    author: AuthorOut
    #: the job that wrote it, null for a write through the API (a rollback, an import)
    job_id: uuid.UUID | None
    message: str
    created_at: datetime
    #: a tombstone: the file was deleted at this version (no content: the empty blob's
    #: sha256, size 0)
    deleted: bool = False

    @classmethod
    def from_version(cls, v: FileVersion) -> FileVersionOut:
        """The public view of a version."""
        return cls(
            path=v.path,
            version=v.version,
            sha256=v.sha256,
            size=v.size,
            author=AuthorOut(user=v.author.user, subject=v.author.subject),
            job_id=v.author.job_id,
            message=v.message,
            created_at=v.created_at,
            deleted=v.deleted,
        )


class FileOut(FileVersionOut):
    """GET …/files/{path} as JSON: the version and its bytes (see the module docstring)."""

    content: str | None
    content_base64: str | None

    @classmethod
    def from_stored(cls, stored: StoredFile) -> FileOut:
        """A version with its content."""
        text, encoded = encode_content(stored.content)
        base = FileVersionOut.from_version(stored.version).model_dump()
        return cls(**base, content=text, content_base64=encoded)


class FileHeadOut(BaseModel):
    """A file as listings show it: its newest version."""

    path: str
    version: int
    sha256: str
    size: int
    updated_at: datetime

    @classmethod
    def from_head(cls, h: FileHead) -> FileHeadOut:
        """The public view of a head."""
        return cls(
            path=h.path, version=h.version, sha256=h.sha256, size=h.size, updated_at=h.updated_at
        )


class FilePage(BaseModel):
    """A page of GET …/files, in path order; pass next_cursor back as `cursor`."""

    items: list[FileHeadOut]
    next_cursor: str | None


class VersionPage(BaseModel):
    """A page of GET …/files/{path}/history, newest first; pass next_cursor back as `cursor`."""

    items: list[FileVersionOut]
    next_cursor: str | None


class RollbackIn(BaseModel):
    """POST …/files/{path}/rollback: the version whose content becomes the newest."""

    model_config = ConfigDict(extra="forbid")

    to_version: int = Field(ge=1, le=2**31 - 1)


def _field_error(field: str, message: str) -> ValidationError:
    """A validation error located at field, so the 422 names it (prefixed by pydantic with
    where the model sits in the document)."""
    error = InitErrorDetails(
        type=PydanticCustomError("file_history", message), loc=(field,), input=None
    )
    return ValidationError.from_exception_data("HistoryDocument", [error])


class ExportedVersion(BaseModel):
    """One version in a history document, with its bytes."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31 - 1)
    sha256: Sha256
    size: int = Field(ge=0)
    author: AuthorOut
    job_id: uuid.UUID | None = None
    message: Annotated[str, StringConstraints(max_length=500)] = ""
    created_at: AwareDatetime
    #: a tombstone, whose content is empty
    deleted: bool = False
    content: str | None = None
    content_base64: str | None = None
    _bytes: bytes = PrivateAttr(default=b"")

    @model_validator(mode="after")
    def _content_matches(self) -> ExportedVersion:
        data, field = self._decoded()
        if len(data) > MAX_CODE_BYTES:
            raise _field_error(field, f"is {len(data)} bytes, over {MAX_CODE_BYTES}")
        if len(data) != self.size:
            raise _field_error("size", f"is {self.size} but the content is {len(data)} bytes")
        if sha256_of(data) != self.sha256:
            raise _field_error("sha256", "does not match the SHA-256 of the content")
        if self.deleted and data:
            raise _field_error("content", "must be empty for a deleted version")
        self._bytes = data
        return self

    def _decoded(self) -> tuple[bytes, str]:
        """The version's bytes and the field they came from."""
        if (self.content is None) == (self.content_base64 is None):
            raise _field_error("content", "give content or content_base64, exactly one")
        if self.content is not None:
            return self.content.encode("utf-8"), "content"
        try:
            return base64.b64decode(self.content_base64 or "", validate=True), "content_base64"
        except (binascii.Error, ValueError):
            raise _field_error("content_base64", "is not valid base64") from None

    @classmethod
    def from_stored(cls, stored: StoredFile) -> ExportedVersion:
        """The export of one stored version (trusted: not validated again)."""
        v = stored.version
        text, encoded = encode_content(stored.content)
        return cls.model_construct(
            version=v.version,
            sha256=v.sha256,
            size=v.size,
            author=AuthorOut(user=v.author.user, subject=v.author.subject),
            job_id=v.author.job_id,
            message=v.message,
            created_at=v.created_at,
            deleted=v.deleted,
            content=text,
            content_base64=encoded,
        )

    def stored(self, project_id: uuid.UUID, path: str) -> StoredFile:
        """The version as the store keeps it, in project_id."""
        author = Author(self.author.user, self.author.subject, self.job_id)
        version = FileVersion(
            project_id=project_id,
            path=path,
            version=self.version,
            sha256=self.sha256,
            size=self.size,
            author=author,
            message=self.message,
            created_at=self.created_at,
            deleted=self.deleted,
        )
        return StoredFile(version, self._bytes)


class ExportedFile(BaseModel):
    """One path's whole history: versions 1…N in order."""

    model_config = ConfigDict(extra="forbid")

    path: FilePath
    versions: list[ExportedVersion] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> ExportedFile:
        for index, v in enumerate(self.versions):
            if v.version != index + 1:
                raise _field_error(
                    f"versions.{index}.version",  # located by its index, as pydantic would
                    f"is {v.version}; versions must run 1, 2, 3… in order",
                )
        return self


class HistoryDocument(BaseModel):
    """GET …/history/export writes this; POST …/history/import reads it."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["spark.file-history/1"]
    #: where it was exported from and when; informational, import ignores both
    project_id: uuid.UUID | None = None
    exported_at: AwareDatetime | None = None
    files: list[ExportedFile]

    @model_validator(mode="after")
    def _paths_once(self) -> HistoryDocument:
        seen: set[str] = set()
        for index, f in enumerate(self.files):
            if f.path in seen:
                raise _field_error(f"files.{index}.path", "appears more than once")
            seen.add(f.path)
        return self

    def stored(self, project_id: uuid.UUID) -> list[StoredFile]:
        """Every version in the document as the store keeps it, in project_id."""
        return [v.stored(project_id, f.path) for f in self.files for v in f.versions]


class HistoryImported(BaseModel):
    """The 201 of POST …/history/import: each imported file as it now stands."""

    files: list[FileHeadOut]
    versions: int


def export_chunks(
    project_id: uuid.UUID, exported_at: datetime, history: Iterable[StoredFile]
) -> Iterator[bytes]:
    """A HistoryDocument as JSON, a version at a time; history comes by path, then version."""
    head = {"format": HISTORY_FORMAT, "project_id": str(project_id)}
    yield (json.dumps(head)[:-1] + f', "exported_at": "{exported_at.isoformat()}"').encode()
    yield b', "files": ['
    path: str | None = None
    for stored in history:
        one = ExportedVersion.from_stored(stored).model_dump_json().encode()
        if stored.version.path == path:
            yield b", " + one
            continue
        opening = b"" if path is None else b"]}, "
        path = stored.version.path
        yield opening + b'{"path": ' + json.dumps(path).encode() + b', "versions": [' + one
    yield b"]}]}" if path is not None else b"]}"
