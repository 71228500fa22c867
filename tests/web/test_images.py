"""The one answer with a checked image (web/images.py): its type by the stored name, never
sniffed, the cache the calling view asks for, and 404 for anything else."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile, ImageField
from django.http import Http404

from apps.web import images


@pytest.fixture
def stored(tmp_path):
    storage = FileSystemStorage(location=tmp_path)

    def store(name: str, data: bytes = b"pixels") -> FieldFile:
        field = ImageField(storage=storage)
        field.name = "image"
        return FieldFile(None, field, storage.save(name, ContentFile(data)))

    return store


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.jpg", "image/jpeg"),
        ("b.JPEG", "image/jpeg"),
        ("c.png", "image/png"),
        ("d.webp", "image/webp"),
    ],
)
def test_it_answers_with_the_type_of_the_stored_name(stored, name, content_type):
    response = images.image_response(stored(name, b"bytes of the image"))
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"bytes of the image"


def test_it_keeps_the_image_out_of_shared_caches_unless_told(stored):
    assert images.image_response(stored("a.png"))["Cache-Control"] == "private, no-store"
    public = images.image_response(stored("b.png"), cache="public, max-age=300")
    assert public["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize("name", ["page.html", "script.svg", "archive", "x.gif"])
def test_it_serves_no_other_type(stored, name):
    with pytest.raises(Http404):
        images.image_response(stored(name))


def test_it_answers_404_for_a_file_gone_from_the_storage(stored):
    image = stored("gone.jpg")
    image.storage.delete(image.name)
    with pytest.raises(Http404):
        images.image_response(image)
