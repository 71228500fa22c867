"""Serving a stored image through a view that has checked who may see it.

Nothing under MEDIA_ROOT is served as such: each app's view decides whether the request may
see the image (an action's photo, a tip's, a mailing's image, a photo in a response) and
how long it may be cached; this module answers with the file. Files are read through their
storage, so any storage backend works.
"""

from pathlib import PurePath

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

# Only what photos.prepare writes (JPEG, PNG) and what it accepts (WebP) is served.
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
PRIVATE_CACHE = "private, no-store"


def image_response(image: FieldFile, *, cache: str = PRIVATE_CACHE) -> FileResponse:
    """The image as the answer, with `cache` as its Cache-Control; 404 for a file of
    another type or one that is gone from the storage."""
    content_type = CONTENT_TYPES.get(PurePath(image.name).suffix.lower())
    if content_type is None:
        raise Http404
    try:
        handle = image.storage.open(image.name, "rb")
    except OSError:  # gone from the storage
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = cache
    return response
