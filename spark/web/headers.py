"""Headers every response carries, and the one downloads of user content carry.

`X-Content-Type-Options: nosniff` stops a browser from guessing a type other than the one
SPARK declared: a user's script, log or artifact served as `text/plain` or
`application/octet-stream` is never run as HTML or script. Downloads of bytes a user wrote
are attachments, so a browser saves them rather than rendering them.
"""

from __future__ import annotations

from urllib.parse import quote

#: added to every response, by the outermost middleware and by the server's own refusals
EVERY_RESPONSE: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)


def attachment(filename: str) -> str:
    """A Content-Disposition naming filename: an ASCII fallback, and the exact name encoded
    (RFC 6266) when it is not plain ASCII."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
