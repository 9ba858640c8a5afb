"""A screenshot brought to the preview's exact size and format: letterboxed, never cropped."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from spark.engines.unity.preview_image import UnreadableImage, fit


def png(width: int, height: int, color: tuple[int, ...], mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, "PNG")
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("source", "size", "format_", "pil_format"),
    [
        ((1920, 1080), (1920, 1080), "png", "PNG"),
        ((640, 360), (1920, 1080), "png", "PNG"),
        ((4096, 2304), (4096, 4096), "jpg", "JPEG"),
        ((300, 500), (1, 1), "jpg", "JPEG"),
        ((1, 1), (4096, 1), "png", "PNG"),
    ],
)
def test_the_preview_has_exactly_the_asked_size_and_format(
    source: tuple[int, int], size: tuple[int, int], format_: str, pil_format: str
) -> None:
    fitted = fit(png(*source, (200, 30, 30, 255)), size[0], size[1], format_)  # type: ignore[arg-type]
    image = decoded(fitted.data)
    assert (image.width, image.height, image.format) == (*size, pil_format)
    assert (fitted.width, fitted.height) == size


def test_a_frame_of_another_aspect_is_letterboxed_whole_not_cropped() -> None:
    """A 16:9 red frame in a square keeps all its red, with bars above and below."""
    image = decoded(fit(png(160, 90, (255, 0, 0, 255)), 160, 160, "png").data).convert("RGBA")
    assert image.getpixel((80, 80)) == (255, 0, 0, 255)
    assert image.getpixel((0, 80)) == (255, 0, 0, 255)  # the left edge of the frame survives
    assert image.getpixel((80, 2)) == (0, 0, 0, 0)  # a transparent bar on top
    assert image.getpixel((80, 157)) == (0, 0, 0, 0)
    red_rows = [y for y in range(160) if image.getpixel((80, y))[3] == 255]
    assert len(red_rows) == 90


def test_a_transparent_frame_becomes_an_opaque_rgb_jpeg() -> None:
    """JPEG has no alpha: RGBA is flattened on black, bars included."""
    source = png(100, 50, (0, 0, 255, 0))
    image = decoded(fit(source, 100, 100, "jpg").data)
    assert image.mode == "RGB"
    assert max(image.getpixel((50, 50))) < 8  # fully transparent blue flattens to black


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "LA", "I;16"])
def test_frames_of_any_mode_encode_as_both_formats(mode: str) -> None:
    color: tuple[int, ...] | int = (10, 20, 30) if mode == "RGB" else 10
    if mode == "LA":
        color = (10, 255)
    out = io.BytesIO()
    Image.new(mode, (32, 16), color).save(out, "PNG")
    for format_, pil_format in (("png", "PNG"), ("jpg", "JPEG")):
        image = decoded(fit(out.getvalue(), 20, 20, format_).data)  # type: ignore[arg-type]
        assert (image.size, image.format) == ((20, 20), pil_format)


def test_bytes_that_are_no_image_are_refused() -> None:
    with pytest.raises(UnreadableImage):
        fit(b"<html>not a screenshot</html>", 10, 10, "png")
