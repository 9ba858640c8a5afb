"""Bringing an editor screenshot to the exact size and format a preview asked for.

The fit rule is letterbox ("contain"): the frame is scaled, keeping its aspect ratio, until
it fits inside width x height, and centred on bars. Cover-cropping was the alternative; it
was rejected because a preview exists to show what the game view shows, and a crop would
silently cut off whatever sits at the edges (HUD anchors, off-centre objects). The editor
is asked for max(width, height) on its longest side, and for a capture at a multiple of its
game view's size (Unity's super-size) large enough that letterboxing only ever reduces it:
the editor never enlarges the image it sends, and enlarging here would blur it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Literal

from PIL import Image, UnidentifiedImageError

Format = Literal["png", "jpg"]

#: the bars of a PNG are transparent (a UI shows its own background through them); JPEG
#: has no alpha, so its bars, and any transparency in the frame, become black
_PNG_BARS = (0, 0, 0, 0)
_JPEG_BACKGROUND = (0, 0, 0)
#: visually lossless for previews at about a tenth of a PNG's size
JPEG_QUALITY = 90
#: the largest multiple of the game view a capture is asked for
MAX_SUPER_SIZE = 16


class UnreadableImage(ValueError):
    """The bytes the editor sent are not an image Pillow can decode."""


@dataclass(frozen=True)
class Fitted:
    """An encoded preview of exactly the requested size."""

    data: bytes
    width: int
    height: int
    format: Format

    @property
    def content_type(self) -> str:
        """The MIME type of data."""
        return "image/png" if self.format == "png" else "image/jpeg"


def fit(image: bytes, width: int, height: int, format_: Format) -> Fitted:
    """The image letterboxed to exactly width x height and encoded as format_."""
    frame = _decode(image)
    scale = min(width / frame.width, height / frame.height)
    inner = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
    if inner != frame.size:
        frame = frame.resize(inner, Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (width, height), _PNG_BARS)
    canvas.paste(frame, ((width - inner[0]) // 2, (height - inner[1]) // 2))
    return Fitted(_encode(canvas, format_), width, height, format_)


def scale_to_fit(size: tuple[int, int], width: int, height: int) -> float:
    """The factor fit applies to an image of size: above 1 it would enlarge it."""
    return min(width / size[0], height / size[1])


def super_size(game_view: tuple[int, int], width: int, height: int) -> int:
    """The multiple of the game view to capture so that fitting it into width x height
    never enlarges it."""
    needed = math.ceil(scale_to_fit(game_view, width, height) - 1e-9)
    return min(max(needed, 1), MAX_SUPER_SIZE)


def _decode(image: bytes) -> Image.Image:
    """The image as RGBA; UnreadableImage when it is not one."""
    try:
        with Image.open(io.BytesIO(image)) as opened:
            opened.load()
            return opened.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"the editor's screenshot is not a readable image: {exc}") from exc


def _encode(canvas: Image.Image, format_: Format) -> bytes:
    out = io.BytesIO()
    if format_ == "png":
        canvas.save(out, "PNG", optimize=False)
    else:
        flat = Image.new("RGB", canvas.size, _JPEG_BACKGROUND)
        flat.paste(canvas, mask=canvas.getchannel("A"))
        flat.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
