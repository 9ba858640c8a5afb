"""The one error tree: each subclass names its HTTP status and error code once.

AppError
├── BadRequest (400)            ├── NotFound (404)
├── Unauthenticated (401)       ├── Conflict (409) ─ IdempotencyConflict, JobNotCancelable,
│                               │                    VersionConflict
├── Forbidden (403)             ├── PayloadTooLarge (413)
├── ValidationFailed (422)      ├── UnsupportedMediaType (415)
├── RateLimited (429)           ├── QuotaExceeded (429)
└── ServiceUnavailable (503)    ├── HeadersTooLarge (431)
                                ├── RangeNotSatisfiable (416)
                                └── JobFailure (a job's own failure, stored on it) ─ JobTimedOut
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class AppError(Exception):
    """Something went wrong."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = dict(details) if details else None
        self.headers = dict(headers) if headers else {}
        super().__init__(self.message)


class BadRequest(AppError):
    """The request body is not well-formed JSON."""

    status = 400
    code = "bad_request"


class Unauthenticated(AppError):
    """Missing or invalid credentials."""

    status = 401
    code = "unauthenticated"

    def __init__(self, message: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="spark"')


class Forbidden(AppError):
    """The credentials lack the permission this needs."""

    status = 403
    code = "forbidden"


class NotFound(AppError):
    """No such resource."""

    status = 404
    code = "not_found"


class MethodNotAllowed(AppError):
    """This method is not allowed here."""

    status = 405
    code = "method_not_allowed"


class Conflict(AppError):
    """The request conflicts with the resource's current state."""

    status = 409
    code = "conflict"


class IdempotencyConflict(Conflict):
    """This Idempotency-Key was already used with a different request body."""

    code = "idempotency_key_reused"


class JobNotCancelable(Conflict):
    """The job has already finished and cannot be canceled."""

    code = "job_not_cancelable"


class SessionEnded(Conflict):
    """The session has ended: it takes no more jobs and cannot be ended again."""

    code = "session_ended"


class VersionConflict(Conflict):
    """The file is no longer at the version the request was based on."""

    code = "version_conflict"


class PayloadTooLarge(AppError):
    """The request body is over the size limit."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    """The request body must be application/json."""

    status = 415
    code = "unsupported_media_type"


class RangeNotSatisfiable(AppError):
    """The requested byte range lies outside the file."""

    status = 416
    code = "range_not_satisfiable"

    def __init__(self, size: int) -> None:
        # RFC 9110 §15.5.17: the answer names the file's length, so the client can ask again.
        super().__init__(headers={"Content-Range": f"bytes */{size}"}, details={"size": size})


class HeadersTooLarge(AppError):
    """The request's headers are over the size limit."""

    status = 431
    code = "headers_too_large"


class ValidationFailed(AppError):
    """The request is well-formed but a field is invalid."""

    status = 422
    code = "validation_error"


class RateLimited(AppError):
    """Too many requests; retry after the time given."""

    status = 429
    code = "rate_limited"


class QuotaExceeded(AppError):
    """The quota for this period is used up."""

    status = 429
    code = "quota_exceeded"


class ServiceUnavailable(AppError):
    """A dependency is unavailable; retry shortly."""

    status = 503
    code = "service_unavailable"

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers.setdefault("Retry-After", str(retry_after))


class DependencyUnavailable(ServiceUnavailable):
    """A dependency (the LLM, Unity) is failing; the job waits and tries again later."""

    code = "dependency_unavailable"


class StorageUnavailable(DependencyUnavailable):
    """The artifact store (a directory or S3) cannot be reached; nothing half-written is kept."""

    code = "storage_unavailable"


class JobFailure(AppError):
    """The job could not be completed."""

    status = 422
    code = "job_failed"

    def __init__(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        result: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.failure_code = code
        #: what the job did produce (a failed build's errors, its log's totals), kept on the job
        self.result = dict(result) if result is not None else None


class JobTimedOut(JobFailure):
    """The job ran past its own time limit and was stopped; it ends `timed_out`."""


class SecretsUnavailable(ServiceUnavailable):
    """SPARK_SECRETS_KEY is not set, so no project secret can be sealed or opened."""

    code = "secrets_key_missing"
