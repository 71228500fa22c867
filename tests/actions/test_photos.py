"""photos.prepare: only real images pass, resized and without metadata."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile

from apps.web import photos
from tests import hostile_photos


def _jpeg_with_gps(size=(40, 30), orientation=None) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 5.0, 27.0)
    gps[3] = "E"
    gps[4] = (5.0, 7.0, 17.0)
    if orientation:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def _upload(data: bytes, name="foto.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def _image(content) -> Image.Image:
    content.seek(0)
    image = Image.open(io.BytesIO(content.read()))
    image.load()
    return image


def test_it_removes_gps_and_other_exif():
    data = _jpeg_with_gps()
    before = Image.open(io.BytesIO(data)).getexif()
    assert before.get_ifd(0x8825)  # the test photo does carry a location

    prepared = photos.prepare(_upload(data))

    image = _image(prepared)
    assert image.format == "JPEG"
    exif = image.getexif()
    assert not exif.get_ifd(0x8825)
    assert 0x010F not in exif
    prepared.seek(0)
    assert b"Camera Maker" not in prepared.read()
    assert "exif" not in image.info


def test_it_applies_the_exif_orientation():
    # Orientation 6: the camera was turned; the stored 40×30 shows upright as 30×40.
    prepared = photos.prepare(_upload(_jpeg_with_gps(size=(40, 30), orientation=6)))
    assert _image(prepared).size == (30, 40)


def test_it_resizes_to_the_maximum_side():
    buffer = io.BytesIO()
    Image.new("RGB", (3200, 1000), (1, 2, 3)).save(buffer, format="PNG")

    image = _image(photos.prepare(_upload(buffer.getvalue(), "groot.png", "image/png")))

    assert image.size == (1600, 500)


def test_it_keeps_transparency_as_png_and_gives_a_random_name():
    buffer = io.BytesIO()
    Image.new("RGBA", (20, 20), (1, 2, 3, 0)).save(buffer, format="PNG")

    prepared = photos.prepare(_upload(buffer.getvalue(), "../../etc/passwd.png", "image/png"))

    assert prepared.name.endswith(".png") and "/" not in prepared.name
    assert "passwd" not in prepared.name
    assert _image(prepared).mode == "RGBA"


def test_it_keeps_a_png_a_png_without_its_metadata():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "gemaakt op Oudegracht 12")
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(buffer, format="PNG", pnginfo=info)

    prepared = photos.prepare(_upload(buffer.getvalue(), "scherm.png", "image/png"))

    image = _image(prepared)
    assert prepared.name.endswith(".png") and image.format == "PNG"
    assert "Comment" not in image.info


def test_it_accepts_webp():
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(buffer, format="WEBP")

    prepared = photos.prepare(_upload(buffer.getvalue(), "foto.webp", "image/webp"))

    assert _image(prepared).size == (20, 10)


@pytest.mark.parametrize(
    "name,data",
    [
        ("brief.jpg", b"Dit is geen foto, maar een tekstbestand.\n" * 20),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ),
        ("leeg.png", b""),
    ],
)
def test_it_refuses_what_is_not_an_image(name, data):
    with pytest.raises(ValidationError) as error:
        photos.prepare(_upload(data, name))
    assert error.value.code == "not_an_image"
    assert "geen foto" in str(error.value.messages[0])


def test_it_refuses_other_image_formats():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    with pytest.raises(ValidationError) as error:
        photos.prepare(_upload(buffer.getvalue(), "animatie.gif", "image/gif"))
    assert error.value.code == "not_an_image"


def test_it_refuses_a_truncated_image():
    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 60).convert("RGB").save(buffer, format="JPEG")
    data = buffer.getvalue()
    with pytest.raises(ValidationError) as error:
        photos.prepare(_upload(data[: len(data) // 2]))
    assert error.value.code == "broken"


def test_it_refuses_a_decompression_bomb(monkeypatch):
    monkeypatch.setattr(photos, "MAX_PHOTO_PIXELS", 10_000)
    buffer = io.BytesIO()
    Image.new("L", (200, 200)).save(buffer, format="PNG")  # 40,000 pixels, a few hundred bytes
    with pytest.raises(ValidationError) as error:
        photos.prepare(_upload(buffer.getvalue(), "bom.png", "image/png"))
    assert error.value.code == "too_many_pixels"


def test_it_refuses_a_real_decompression_bomb_by_pillows_own_limit():
    # A 20,000 × 20,000 PNG header: Pillow's limit (≈ 179 megapixels, ×2 to raise) trips.
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 1_000_000
    with pytest.raises(ValidationError) as error:
        photos.prepare(_upload(buffer.getvalue(), "bom.png", "image/png"))
    assert error.value.code == "too_many_pixels"


def test_it_refuses_an_upload_over_the_maximum_size():
    data = _jpeg_with_gps() + b"\0" * (photos.MAX_UPLOAD_BYTES + 1)
    with pytest.raises(ValidationError) as error:
        photos.prepare(_upload(data))
    assert error.value.code == "too_large"
    assert "10 MB" in str(error.value.messages[0])


# What a photo may cost (issue 10, item 2) ------------------------------------------------


@pytest.fixture
def decodes(monkeypatch):
    """The sizes of the images whose pixels were decoded during the test."""
    decoded = []
    load = ImageFile.ImageFile.load

    def recording_load(image):
        if image.tile:  # not yet decoded
            decoded.append(image.size)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return decoded


def test_it_refuses_a_small_png_of_too_many_pixels_without_decoding_it(decodes):
    upload = hostile_photos.pixel_bomb_upload()
    assert upload.size < 300_000  # 258 KB of file, 88 megapixels

    with pytest.raises(ValidationError) as error:
        photos.prepare(upload)

    assert error.value.code == "too_many_pixels"
    assert "te veel beeldpunten" in str(error.value.messages[0])
    assert decodes == []


def test_the_pixel_limit_fits_phone_photos():
    assert photos.MAX_PHOTO_PIXELS == 50_000_000
    assert not hasattr(photos, "MAX_PIXELS")  # the old limit (200 M) held nothing back


def test_it_refuses_a_png_whose_decoding_would_cost_too_much(monkeypatch, decodes):
    # A PNG cannot be decoded at a smaller scale: what its full size costs must fit.
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buffer, format="PNG")
    image = Image.open(io.BytesIO(buffer.getvalue()))
    monkeypatch.setattr(photos, "MAX_DECODING_BYTES", photos.decoding_cost(image) - 1)

    with pytest.raises(ValidationError) as error:
        photos.prepare(_upload(buffer.getvalue(), "scherm.png", "image/png"))

    assert error.value.code == "too_many_pixels"
    assert decodes == []


def test_decoding_costs_more_with_transparency_and_most_for_webp():
    def cost(mode, fmt):
        buffer = io.BytesIO()
        Image.new(mode, (100, 100)).save(buffer, format=fmt)
        return photos.decoding_cost(Image.open(io.BytesIO(buffer.getvalue())))

    assert cost("L", "PNG") < cost("RGB", "PNG") < cost("RGBA", "PNG") < cost("RGB", "WEBP")
    # A 12-megapixel phone photo in WebP, a 30-megapixel PNG still fit.
    assert photos.MAX_DECODING_BYTES >= 4000 * 3000 * 16
    assert photos.MAX_DECODING_BYTES >= 6000 * 5000 * 6


def test_it_decodes_a_large_jpeg_at_a_reduced_scale(decodes):
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((6400, 4800)).convert("RGB").save(buffer, format="JPEG")

    prepared = photos.prepare(_upload(buffer.getvalue()))

    # Draft mode: the decoder scaled by 1/4 while decoding, never to the full 6400 × 4800.
    assert decodes == [(1600, 1200)]
    assert _image(prepared).size == (1600, 1200)


_PEAK_SCRIPT = """
import sys
from django.core.files.uploadedfile import SimpleUploadedFile
from apps.web import photos

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field))

data = open(sys.argv[1], "rb").read()
before = status("VmRSS:")
photos.prepare(SimpleUploadedFile("camera.jpg", data))
print(status("VmHWM:") - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_a_50_megapixel_jpeg_stays_far_under_200_mb(tmp_path):
    # Pillow's pixels are not Python objects (tracemalloc does not see them): the peak is
    # the resident size's high-water mark of a process of its own (VmHWM; ru_maxrss would
    # carry this test process's peak over into the child).
    path = tmp_path / "camera.jpg"
    Image.linear_gradient("L").resize((8160, 6120)).convert("RGB").save(path, quality=80)
    assert path.stat().st_size < photos.MAX_UPLOAD_BYTES
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _PEAK_SCRIPT, str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    peak_kib = int(result.stdout)
    # Decoded in full it takes ≈ 380 MB more; at a quarter of its size about 30 MB.
    assert peak_kib < 100 * 1024


@pytest.mark.parametrize(
    "upload", [hostile_photos.header_truncated_jpeg, hostile_photos.data_truncated_jpeg]
)
def test_it_refuses_a_truncated_jpeg_as_broken(upload):
    with pytest.raises(ValidationError) as error:
        photos.prepare(upload())
    assert error.value.code == "broken"
    assert str(error.value.messages[0]) == str(photos.MSG_BROKEN)
