import io
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import exif_blob, gradient, pil_meta, srgb_icc, write
from PIL import Image as PILImage
from PIL import ImageCms

from colorize_cli.errors import InputError
from colorize_cli.io.image_io import atomic_write_bytes, encode_image, icc_colour_space, read_image, write_image
from colorize_cli.io.tiff_meta import add_tiff_metadata


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_reads_gray_rgb_rgba_8_and_16_bit(tmp_path, dtype, channels):
    px = gradient(dtype=dtype, channels=channels)
    img = read_image(write(tmp_path / "x.png", px))
    assert img.pixels.dtype == dtype and img.pixels.shape == px.shape
    np.testing.assert_array_equal(img.pixels, px)  # RGB order restored
    assert img.has_alpha == (channels == 4) and img.bit_depth == (16 if dtype == np.uint16 else 8)


def test_reads_palette_images(tmp_path):
    pal = PILImage.new("P", (20, 10))
    pal.putpalette([200, 10, 10, 10, 200, 10] + [0] * 762)
    pal.putpixel((3, 3), 1)
    pal.save(tmp_path / "p.png")
    img = read_image(tmp_path / "p.png")
    assert img.pixels.shape == (10, 20, 3)
    assert tuple(img.pixels[0, 0]) == (200, 10, 10) and tuple(img.pixels[3, 3]) == (10, 200, 10)


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp", "tif"])
def test_exif_and_icc_round_trip(tmp_path, fmt):
    icc = srgb_icc()
    exif = exif_blob()[6:]
    path = tmp_path / f"m.{fmt}"
    write_image(path, gradient(channels=3), exif=exif, icc=icc)
    make, got_icc = pil_meta(path)
    assert make == "TestCam" and got_icc == icc
    back = read_image(path)
    assert back.icc == icc and back.exif is not None


def test_sixteen_bit_tiff_keeps_depth_and_metadata(tmp_path):
    px = gradient(dtype=np.uint16, channels=3)
    path = tmp_path / "deep.tif"
    write_image(path, px, exif=exif_blob("Deep")[6:], icc=srgb_icc())
    back = read_image(path)
    assert back.pixels.dtype == np.uint16
    np.testing.assert_array_equal(back.pixels, px)
    assert pil_meta(path)[0] == "Deep"
    assert back.icc == srgb_icc()


def test_tiff_exif_subifd_and_big_endian_blob(tmp_path):
    ex = PILImage.Exif()
    ex[0x010F] = "BE"
    ex.get_ifd(0x8769)[0x9003] = "1999:12:31 23:59:59"  # DateTimeOriginal lives in the Exif sub-IFD
    blob = ex.tobytes()[6:]
    assert blob[:2] == b"MM"  # Pillow writes big-endian; OpenCV's TIFFs are little-endian
    ok, buf = cv2.imencode(".tif", gradient(channels=3))
    data = add_tiff_metadata(buf.tobytes(), blob, None)
    with PILImage.open(io.BytesIO(data)) as im:
        got = im.getexif()
        assert got[0x010F] == "BE" and got.get_ifd(0x8769)[0x9003] == "1999:12:31 23:59:59"
        assert im.size == (64, 48)


def test_gray_profile_is_recognised():
    gray = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    assert icc_colour_space(srgb_icc()) == "RGB" and icc_colour_space(gray) != "RGB"


def test_encode_drops_what_the_format_cannot_hold():
    px = gradient(dtype=np.uint16, channels=4)
    jpg = cv2.imdecode(np.frombuffer(encode_image(px, "jpg"), np.uint8), cv2.IMREAD_UNCHANGED)
    assert jpg.dtype == np.uint8 and jpg.shape == (48, 64, 3)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "o.bin"
    atomic_write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc" and os.listdir(target.parent) == ["o.bin"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "o.bin"
    target.write_bytes(b"old")

    def boom(*a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["o.bin"]


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    good = write(tmp_path / "good.png", gradient(channels=3)).read_bytes()
    jpg = encode_image(gradient(channels=3), "jpg")
    files = {
        "empty": b"",
        "truncated png": good[: len(good) // 2],
        "truncated jpg": jpg[: len(jpg) // 2],
        "not an image": b"hello, I am a text file\n" * 20,
    }
    out = {}
    for name, data in files.items():
        p = tmp_path / (name.replace(" ", "_") + (".jpg" if "jpg" in name else ".png"))
        p.write_bytes(data)
        out[name] = p
    return out


@pytest.mark.parametrize("case,reason", [("empty", "empty file"), ("truncated png", "truncated or corrupt PNG"),
                                         ("truncated jpg", "truncated or corrupt JPEG"),
                                         ("not an image", "not an image")])
def test_bad_inputs_give_one_clear_reason(tmp_path, case, reason, capfd):
    path = _bad_inputs(tmp_path)[case]
    with pytest.raises(InputError) as err:
        read_image(path)
    assert reason in err.value.reason and err.value.path == str(path)
    assert capfd.readouterr().err == ""  # libpng/libjpeg chatter is swallowed


def test_over_max_pixels_is_refused_before_decoding(tmp_path):
    path = write(tmp_path / "big.png", gradient(channels=3))
    with pytest.raises(InputError, match="over max_pixels 1000"):
        read_image(path, max_pixels=1000)


def test_missing_and_unreadable(tmp_path, monkeypatch, as_root):
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "nope.png")
    path = write(tmp_path / "locked.png", gradient())
    path.chmod(0)
    if as_root:  # root reads anything; make the OS answer as it would for a user
        real = Path.read_bytes

        def denied(self):
            if self.name == "locked.png":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(InputError, match="permission denied"):
        read_image(path)


def test_encode_consume_reorders_in_place_and_gives_the_same_file():
    rgb = np.random.default_rng(3).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    keep = rgb.copy()
    copied = encode_image(rgb, "png")
    np.testing.assert_array_equal(rgb, keep)  # the default leaves the caller's pixels alone
    consumed = encode_image(rgb, "png", consume=True)
    assert consumed == copied
    np.testing.assert_array_equal(rgb, keep[:, :, ::-1])  # reordered where they lay, no copy
