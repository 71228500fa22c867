"""Photos of actions and tips: where they are stored, and the one hook every upload passes.

Stored names are random, so neither the uploader's file name nor the action shows in a URL.
"""

import uuid
from pathlib import PurePath


def _random_name(folder: str, filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"{folder}/{uuid.uuid4().hex}{suffix}"


def action_photo_path(instance, filename: str) -> str:
    return _random_name("actions", filename)


def tip_photo_path(instance, filename: str) -> str:
    return _random_name("tips", filename)


def prepare(upload):
    """Every photo (of an action or a tip) passes here before it is stored.

    HOOK for the photo upload work of issue 3: accept only real images (decode with Pillow),
    resize, strip metadata such as GPS, and raise ValidationError with a clear Dutch message
    for anything else. Until then the upload is taken as it is.
    """
    return upload
