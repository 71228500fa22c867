"""The one gate every uploaded photo passes (of an action, a tip or a mailing response):
checked, decoded with limits, re-encoded without metadata.

Stored names are random, so neither the uploader's file name nor the action shows in a URL.
"""

import io
import uuid
import warnings

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .client import declared_length

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# A form with a photo (a tip, an answer to a mailing) is one photo and a little text; a
# request much larger is refused before its body is read (and stored in a temporary file).
MAX_PHOTO_FORM_BYTES = MAX_UPLOAD_BYTES + 64 * 1024
MAX_SIDE_PX = 1600
# Far above any camera (≈ 200 megapixels), far below what would exhaust a worker's memory.
MAX_PIXELS = 200_000_000
JPEG_QUALITY = 85
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})

MSG_TOO_LARGE = _("De foto is te groot: hooguit 10 MB.")
MSG_NOT_AN_IMAGE = _("Dit bestand is geen foto. Kies een JPEG-, PNG- of WebP-afbeelding.")
MSG_BROKEN = _("Deze foto is beschadigd of onvolledig. Kies een andere foto.")
MSG_TOO_MANY_PIXELS = _("Deze foto heeft te veel beeldpunten. Kies een kleinere foto.")


def prepare(upload) -> ContentFile:
    """Every photo (of an action or a tip) passes here before it is stored.

    Accepts only a JPEG, PNG or WebP that decodes completely; turns it upright by its EXIF
    orientation, shrinks it to at most MAX_SIDE_PX on the long side, and encodes it anew,
    which leaves every piece of metadata (EXIF, GPS, comments) behind: a PNG (or anything
    transparent) as PNG, the rest as JPEG. Raises
    ValidationError with a Dutch message for anything else.
    """
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise ValidationError(MSG_TOO_LARGE, code="too_large")
    upload.seek(0)
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(MSG_TOO_LARGE, code="too_large")
    image = _decode(data)
    source_format = image.format
    image = ImageOps.exif_transpose(image)
    image.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX), Image.Resampling.LANCZOS)
    return _encode(image, as_png=source_format == "PNG")


def photo_form_too_large(request) -> bool:
    """Does the request declare a body larger than any form with one photo? Asks only the
    Content-Length, so a view can refuse a huge upload before anything reads its body (the
    CSRF middleware would: a view that asks this is csrf_exempt, and protects the rest
    itself with csrf_protect)."""
    return declared_length(request) > MAX_PHOTO_FORM_BYTES


def _decode(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow warns (and raises only at twice the limit); any excess is refused here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
        except (UnidentifiedImageError, ValueError, TypeError):
            raise ValidationError(MSG_NOT_AN_IMAGE, code="not_an_image") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError(MSG_TOO_MANY_PIXELS, code="too_many_pixels") from None
        if image.width * image.height > MAX_PIXELS:
            raise ValidationError(MSG_TOO_MANY_PIXELS, code="too_many_pixels")
        try:
            image.load()  # decode every byte: a truncated file fails here, not later
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError(MSG_TOO_MANY_PIXELS, code="too_many_pixels") from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise ValidationError(MSG_BROKEN, code="broken") from None
    return image


def _encode(image: Image.Image, *, as_png: bool) -> ContentFile:
    """A new file from the pixels alone: PNG for PNGs and for transparency, else JPEG."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    buffer = io.BytesIO()
    if has_alpha or as_png:
        image.convert("RGBA" if has_alpha else "RGB").save(buffer, format="PNG", optimize=True)
        suffix = "png"
    else:
        image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        suffix = "jpg"
    return ContentFile(buffer.getvalue(), name=f"{uuid.uuid4().hex}.{suffix}")
