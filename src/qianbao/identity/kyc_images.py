"""The photos of a tier 2 application, made safe to keep: read with a size cap (a larger upload
is refused while it is read, never held whole), recognised by their content (JPEG, PNG or WebP;
the file's name and declared type are ignored), decoded by Pillow with a pixel cap (no
decompression bombs), turned upright by their EXIF orientation, scaled down and re-encoded as a
JPEG that carries no metadata at all (no EXIF, GPS, ICC profile, XMP or comment).
"""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from PIL import Image, ImageOps

from qianbao.identity.kyc_errors import FileTooLarge, ImageTooLarge, NotAnImage
from qianbao.kernel.uploads import human_size

CHUNK = 64 * 1024
# Decoding is CPU work: a few at once, off the event loop, whatever the number of uploads.
_DECODING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kyc-images")


class Readable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class CleanImage:
    jpeg: bytes
    width: int
    height: int


def sniff(head: bytes) -> str | None:
    """The Pillow format the bytes start like, among those accepted; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


async def read_capped(stream: Readable, limit: int) -> bytes:
    """At most ``limit`` bytes of ``stream``, read in chunks; one byte more and it is refused
    (``kyc.file_too_large``) without reading the rest."""
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = await stream.read(CHUNK)
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > limit:
            raise FileTooLarge(limit=human_size(limit))
        parts.append(chunk)


def clean(data: bytes, *, max_pixels: int, max_side: int, quality: int) -> CleanImage:
    """The photo re-encoded: upright, at most ``max_side`` pixels on its longer side, RGB JPEG
    without any metadata. ``kyc.not_an_image`` for anything Pillow cannot decode as the format
    the content announces; ``kyc.image_too_large`` above ``max_pixels``."""
    kind = sniff(data[:16])
    if kind is None:
        raise NotAnImage()
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as im:
            if kind == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale when that is still large enough.
                im.draft("RGB", (max_side, max_side))
            if im.width * im.height > max_pixels:  # checked before anything is decoded
                raise ImageTooLarge()
            im.load()
            pixels = _rgb(ImageOps.exif_transpose(im))
    except Image.DecompressionBombError:  # Pillow's own cap, twice its MAX_IMAGE_PIXELS
        raise ImageTooLarge() from None
    except (OSError, SyntaxError, ValueError, EOFError):  # UnidentifiedImageError is an OSError
        raise NotAnImage() from None
    pixels.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # A new image holds only the pixels: nothing of the original's info dict (EXIF, ICC, XMP,
    # comments) can travel with it.
    bare = Image.new("RGB", pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=quality, optimize=True)
    return CleanImage(out.getvalue(), bare.width, bare.height)


def _rgb(im: Image.Image) -> Image.Image:
    """RGB; transparency composed onto white (a screenshot of a card with a clear corner)."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return im.convert("RGB")


async def clean_off_loop(
    data: bytes, *, max_pixels: int, max_side: int, quality: int
) -> CleanImage:
    """``clean`` on the decoding threads (the event loop keeps serving meanwhile)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _DECODING,
        lambda: clean(data, max_pixels=max_pixels, max_side=max_side, quality=quality),
    )
