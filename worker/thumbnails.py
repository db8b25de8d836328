"""A figure's thumbnail, made with Pillow: at most MAX_SIDE pixels a side, as PNG, from
whatever image format arXiv serves (PNG, JPEG, GIF; SVG is not drawn: no thumbnail)."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

MAX_SIDE = 640
MAX_SOURCE_PIXELS = 40_000_000  # an image larger than this is refused, not decoded


class NoThumbnail(Exception):
    """The image cannot be made into a thumbnail (not a raster image, or too large)."""


def make_thumbnail(image: bytes) -> bytes:
    """The image scaled down (never up) to fit MAX_SIDE × MAX_SIDE, as PNG bytes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(image)) as source:
                if source.width * source.height > MAX_SOURCE_PIXELS:
                    raise NoThumbnail(f"{source.width}x{source.height} is too large")
                picture = source.convert("RGBA" if "A" in source.getbands() else "RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning) as exc:
        raise NoThumbnail(str(exc)) from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()
