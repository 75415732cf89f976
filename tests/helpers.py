"""Helpers shared by several test modules: synthetic pictures, writing them, and EXIF/ICC
blobs and readers. (Tiny ONNX models are built by tests/onnx_fixtures.py, clips by
tests/video_clips.py.)"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageCms


def gradient(h: int = 48, w: int = 64, dtype=np.uint8, channels: int = 1) -> np.ndarray:
    """A smooth gray ramp with a bright square: L varies, so fixture models give varied colour."""
    top = 65535 if dtype == np.uint16 else 255
    y, x = np.mgrid[0:h, 0:w]
    g = (x / max(w - 1, 1) * 0.7 + y / max(h - 1, 1) * 0.2) * top
    g[h // 4:h // 2, w // 4:w // 2] = top
    g = g.astype(dtype)
    if channels == 1:
        return g
    planes = [g] * 3
    if channels == 4:
        planes.append(np.tile(np.linspace(0, top, w).astype(dtype), (h, 1)))
    return np.dstack(planes)


def write(path: Path, pixels: np.ndarray) -> Path:
    """Write RGB(A)/gray pixels with OpenCV (which wants BGR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR if pixels.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    assert cv2.imwrite(str(path), pixels)
    return path


@functools.cache
def srgb_icc() -> bytes:
    # One profile for the whole run: its header holds the creation time, so two calls a second
    # apart differ and a "kept unchanged" comparison would flake.
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_blob(make: str = "TestCam") -> bytes:
    ex = PILImage.Exif()
    ex[0x010F] = make  # Make
    ex[0x0132] = "2001:02:03 04:05:06"  # DateTime
    return ex.tobytes()


def pil_meta(path: Path) -> tuple[str | None, bytes | None]:
    with PILImage.open(path) as im:
        return im.getexif().get(0x010F), im.info.get("icc_profile")


def has_module(name: str) -> bool:
    """Whether an optional extra's library can be imported (tests of that extra skip otherwise)."""
    import importlib.util

    return importlib.util.find_spec(name) is not None


def stop_when(proc, ready, sig: int, timeout: float = 60.0) -> str:
    """Send ``sig`` to the running ``proc`` once ``ready()`` is true (or ``timeout`` s passed),
    and return its stderr; the test is skipped when the run finished before it could be stopped."""
    import time

    import pytest

    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=timeout)
    if proc.returncode == 0:
        pytest.skip("the run finished before it could be stopped")
    return err


def tiny_training_args(tmp_path) -> list[str]:
    """exporters.train arguments for a few steps on six random 40×48 photos made in `tmp_path`."""
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        cv2.imwrite(str(photos / f"{i}.png"), (rng.random((40, 48, 3)) * 255).astype(np.uint8))
    return ["--data", str(photos), "--dev", str(photos), "--cache", str(tmp_path / "cache"), "--pack-size", "32",
            "--crop", "32", "--batch", "2", "--threads", "1", "--log-every", "1", "--eval-every", "100"]
