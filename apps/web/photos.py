"""The one gate every uploaded photo passes (of an action, a tip or a mailing response):
checked, decoded with limits, re-encoded without metadata.

What a photo may cost is decided before its pixels are decoded: the header gives the
dimensions, and a photo of more than MAX_PHOTO_PIXELS is refused unread. A JPEG is decoded at
a reduced scale (Pillow's draft mode: the decoder scales by 1/2, 1/4 or 1/8) when it is larger
than what is stored, so a 50-megapixel phone photo costs a quarter of its full size. Formats
that cannot be decoded at a reduced scale (PNG, WebP) must fit MAX_DECODING_BYTES at full size.
Anything Pillow cannot read (a truncated header, a broken chunk) is a "broken" photo, never
an error of the server.

Stored names are random, so neither the uploader's file name nor the action shows in a URL.
"""

import io
import logging
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
# Above what phones take (≈ 12-50 megapixels); a 9400 × 9400 PNG of a few hundred KB is not a
# photo but an attempt on the web workers' memory.
MAX_PHOTO_PIXELS = 50_000_000
# What decoding and shrinking one photo may take at its peak (decoding_cost), so that one
# upload stays at about 200 MB. A JPEG is decoded at a reduced scale and always fits (a
# 50-megapixel one takes ≈ 30 MB); a colour PNG fits up to ≈ 33 megapixels (20 with
# transparency), a WebP up to 12.5 (Pillow decodes it through several full-size buffers).
MAX_DECODING_BYTES = 200_000_000
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
    # Shrink first, then turn upright: the box is square, and turning the small image
    # costs no second copy of the large one.
    image.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX), Image.Resampling.LANCZOS)
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # unreadable EXIF: the file's fault, as in _decode
        raise ValidationError(MSG_BROKEN, code="broken") from None
    return _encode(image, as_png=source_format == "PNG")


def photo_form_too_large(request) -> bool:
    """Does the request declare a body larger than any form with one photo? Asks only the
    Content-Length, so a view can refuse a huge upload before anything reads its body (the
    CSRF middleware would: a view that asks this is csrf_exempt, and protects the rest
    itself with csrf_protect)."""
    return declared_length(request) > MAX_PHOTO_FORM_BYTES


def _decode(data: bytes) -> Image.Image:
    """The image's pixels, decoded only once its dimensions passed: at a reduced scale for a
    JPEG larger than what is stored. Every byte is decoded, so a truncated file fails here."""
    with warnings.catch_warnings():
        # Pillow warns (and raises only at twice its limit); MAX_PHOTO_PIXELS is far below.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
            _check_size(image)
            _draft(image)
            if decoding_cost(image) > MAX_DECODING_BYTES:
                raise ValidationError(MSG_TOO_MANY_PIXELS, code="too_many_pixels")
            image.load()
        except ValidationError:
            raise
        except UnidentifiedImageError:
            raise ValidationError(MSG_NOT_AN_IMAGE, code="not_an_image") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError(MSG_TOO_MANY_PIXELS, code="too_many_pixels") from None
        except Exception:  # any other failure of the decoder is the file's
            # (a header cut short raises OSError, a bad marker SyntaxError or struct.error).
            raise ValidationError(MSG_BROKEN, code="broken") from None
    return image


def _check_size(image: Image.Image) -> None:
    """Refuse an image whose header declares more pixels than a photo has."""
    if image.width * image.height > MAX_PHOTO_PIXELS:
        raise ValidationError(MSG_TOO_MANY_PIXELS, code="too_many_pixels")


def _draft(image: Image.Image) -> None:
    """Let a JPEG decoder scale down while decoding (by 1/2, 1/4 or 1/8; never below the
    size that is stored). Does nothing for other formats."""
    if image.format != "JPEG":
        return
    factor = MAX_SIDE_PX / max(image.size)
    if factor >= 1:
        return
    target = (max(1, int(image.width * factor)), max(1, int(image.height * factor)))
    image.draft(None, target)


def decoding_cost(image: Image.Image) -> int:
    """The peak memory, in bytes, of decoding and shrinking this (opened, not yet decoded)
    image, as measured with Pillow 13: Pillow keeps a pixel in one byte (1, L, P), two
    (16-bit grey) or four (everything else, RGB included); shrinking needs about half as
    much again, and twice that with transparency (resizing works on a premultiplied copy);
    a WebP passes through libwebp's buffers and a copy of its bytes first."""
    if image.format == "WEBP":
        per_pixel = 16.0
    elif image.mode in ("1", "L", "P"):
        per_pixel = 1.5
    elif image.mode.startswith("I;16"):
        per_pixel = 3.0
    elif "A" in image.getbands():
        per_pixel = 10.0
    else:
        per_pixel = 6.0
    return int(image.width * image.height * per_pixel)


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


def delete_stored(storage, names) -> None:
    """Delete stored photo files (retention, a row that went): a file that cannot be
    deleted is logged, by kind of error only, and left as an orphan; never a row whose
    photo is missing."""
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
        except OSError as exc:
            logging.getLogger(__name__).warning(
                "a stored photo could not be deleted: %s", type(exc).__name__
            )
