"""Screenshots of the Unity Editor stand-in: ManageScene.CaptureScreenshot's game-view path
(what `manage_camera` action `screenshot` delegates to) and ScreenshotUtility's folder, file
name and downscale rules, ported from the unity-mcp plugin.

The game view has a size; a capture is that size times the super-size, written whole as a PNG
into the output folder; the inline image (include_image) is the capture shrunk, never
enlarged, so its long edge fits max_resolution (default 640). The picture is deterministic and
drawn at capture size: a horizontal and a vertical gradient with a checkerboard of eight rows,
tinted by the open scene and the camera, so a downscaled capture is told from an upscaled one.
"""

from __future__ import annotations

import base64
import io
import os
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

DEFAULT_FOLDER = "Assets/Screenshots"
DEFAULT_MAX_RESOLUTION = 640


class CaptureRefused(Exception):
    """ScreenshotUtility's InvalidOperationException (a folder outside the project)."""


@dataclass(frozen=True)
class GameView:
    """What the capture sees."""

    size: tuple[int, int]
    scene: str
    cameras: tuple[str, ...]


def render(width: int, height: int, seed: str) -> Image.Image:
    """The picture a camera renders at width x height (RGBA, as Texture2D.EncodeToPNG)."""
    tint = zlib.crc32(seed.encode())
    ramp = Image.linear_gradient("L")
    across = ramp.rotate(90).resize((width, height), Image.Resampling.BILINEAR)
    down = ramp.resize((width, height), Image.Resampling.BILINEAR)
    cell = max(1, height // 8)
    cols, rows = -(-width // cell), -(-height // cell)
    board = Image.new("L", (cols, rows))
    board.putdata([255 if (x + y) % 2 else 0 for y in range(rows) for x in range(cols)])
    board = board.resize((cols * cell, rows * cell), Image.Resampling.NEAREST)
    board = board.crop((0, 0, width, height))
    bands = []
    for band, shift in ((across, 16), (down, 8), (board, 0)):
        flat = Image.new("L", (width, height), (tint >> shift) & 0xFF)
        bands.append(Image.blend(band, flat, 0.35))
    return Image.merge("RGB", bands).convert("RGBA")


def _f32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def downscaled_size(width: int, height: int, max_edge: int) -> tuple[int, int]:
    """DownscaleTexture's target: Mathf (float) scale capped at 1, RoundToInt half to even."""
    scale = min(_f32(max_edge / width), _f32(max_edge / height), 1.0)
    return max(1, round(_f32(width * scale))), max(1, round(_f32(height * scale)))


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def resolve_folder(project: Path, folder: str | None) -> str:
    """ScreenshotUtility.ResolveFolderAbsolute: the absolute folder, inside the project root."""
    root = os.path.abspath(project).replace("\\", "/").rstrip("/")
    requested = (folder or "").strip() or DEFAULT_FOLDER
    requested = requested.replace("\\", "/").rstrip("/")
    combined = requested if os.path.isabs(requested) else os.path.join(root, requested)
    full = os.path.abspath(combined).replace("\\", "/").rstrip("/")
    if full != root and not full.startswith(root + "/"):
        raise CaptureRefused(
            f"Screenshot folder '{folder}' resolves outside the Unity project root ('{full}'). "
            "Use a project-relative path (e.g. 'Assets/Screenshots' or 'Captures')."
        )
    return full


def file_name(name: str | None) -> str:
    """BuildFileName: a timestamp when none, '/' and '\\' made '_', '.png' unless an image
    extension is there (a .jpg name still gets PNG bytes, as in Unity)."""
    chosen = name.strip() if name and name.strip() else f"screenshot-{datetime.now():%Y%m%d-%H%M%S}"
    cleaned = "".join("_" if ch in "/\\\0" else ch for ch in chosen)
    cleaned = cleaned if cleaned.strip() else "screenshot"
    if not cleaned.lower().endswith((".png", ".jpg", ".jpeg")):
        cleaned += ".png"
    return cleaned


def unique(path: str) -> str:
    """EnsureUnique: name-1.png, name-2.png, ... when the name is taken."""
    if not os.path.exists(path):
        return path
    stem, ext = os.path.splitext(path)
    counter = 1
    while os.path.exists(f"{stem}-{counter}{ext}"):
        counter += 1
    return f"{stem}-{counter}{ext}"


def capture(
    project: Path,
    view: GameView,
    camera: str | None,
    *,
    name: str | None,
    super_size: int,
    include_image: bool,
    max_resolution: int,
    folder: str | None,
) -> dict[str, Any]:
    """One capture written to disk; the data of ManageScene's screenshot answer (the inline
    image only when include_image). camera None: ScreenCapture's asynchronous capture."""
    size = max(1, super_size)
    directory = resolve_folder(project, folder)
    os.makedirs(directory, exist_ok=True)
    target = unique(os.path.join(directory, file_name(name)))
    full = target.replace("\\", "/")
    root = os.path.abspath(project).replace("\\", "/").rstrip("/") + "/"
    relative = full[len(root) :] if full.lower().startswith(root.lower()) else full
    width, height = view.size[0] * size, view.size[1] * size
    picture = render(width, height, f"{view.scene}|{camera or 'ScreenCapture'}")
    whole = png(picture)
    Path(full).write_bytes(whole)
    data: dict[str, Any] = {
        "path": relative,
        "fullPath": full,
        "superSize": size,
        "isAsync": camera is None,
    }
    if camera is None:
        return data | {"captureSource": "game_view"}
    data |= {"camera": camera, "captureSource": "game_view"}
    if include_image:
        limit = max_resolution if max_resolution > 0 else DEFAULT_MAX_RESOLUTION
        inline, (w, h) = whole, (width, height)
        if width > limit or height > limit:
            w, h = downscaled_size(width, height, limit)
            inline = png(picture.resize((w, h), Image.Resampling.BILINEAR))
        data |= {
            "imageBase64": base64.b64encode(inline).decode(),
            "imageWidth": w,
            "imageHeight": h,
        }
    return data
