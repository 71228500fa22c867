"""Where the photos of actions and tips are stored (the checking is apps/web/photos.py)."""

import uuid
from pathlib import PurePath


def _random_name(folder: str, filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"{folder}/{uuid.uuid4().hex}{suffix}"


def action_photo_path(instance, filename: str) -> str:
    return _random_name("actions", filename)


def tip_photo_path(instance, filename: str) -> str:
    return _random_name("tips", filename)
