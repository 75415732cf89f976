"""The root API: the exported names, and the README's Python section run as it stands."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import exif_blob, gradient, pil_meta
from onnx_fixtures import make_ab_model
from PIL import ImageCms
from video_clips import clip_frames, make_clip

import colorize_cli
from colorize_cli.io.image_io import read_image, write_image

README = Path(__file__).resolve().parent.parent / "README.md"

EXPORTED = {
    "AbFilter", "ColorizeError", "EvaluateError", "FrameFilter", "InputError", "Interrupted", "MissingDependency", "ModelError",
    "NonFiniteOutput", "ParameterError", "Pipeline", "TemporalFilter", "VideoOptions", "__version__", "colorize_file",
    "colorize_frames", "colorize_video", "hints_filter", "load",
}


def test_exported_names_are_exactly_the_curated_ones():
    assert set(colorize_cli.__all__) == EXPORTED
    for name in colorize_cli.__all__:
        obj = getattr(colorize_cli, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"{name} has no docstring"
    assert re.fullmatch(r"\d+\.\d+\.\d+", colorize_cli.__version__)


def readme_python() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "the README has one Python section"
    return blocks[0]


@pytest.fixture
def readme_world(tmp_path, monkeypatch):
    """What the README's block assumes: an installed model named unet-gan, a 16-bit TIFF with
    alpha, EXIF and a non-RGB ICC profile at in.tif, a gray picture and a clip."""
    models = tmp_path / "models"
    models.mkdir()
    make_ab_model(models / "unet-gan.onnx", name="unet-gan")
    monkeypatch.setenv("COLORIZE_MODEL_PATH", str(models))
    monkeypatch.chdir(tmp_path)
    lab_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    write_image(tmp_path / "in.tif", gradient(40, 56, np.uint16, channels=4), exif=exif_blob("OldCam")[6:], icc=lab_icc)
    return {"gray": gradient(40, 56, np.uint16), "frames": clip_frames(6, cut_at=3)}


def test_readme_python_section_runs(readme_world, tmp_path):
    namespace = dict(readme_world)
    exec(compile(readme_python(), str(README), "exec"), namespace)  # noqa: S102 - our own README
    pipe, rgb = namespace["pipe"], namespace["rgb"]
    assert pipe.info.name == "unet-gan"
    assert rgb.dtype == np.uint16 and rgb.shape == (40, 56, 3)
    out = read_image(tmp_path / "out.tif")
    assert out.pixels.dtype == np.uint16 and out.pixels.shape == (40, 56, 4)  # depth and alpha kept
    src = read_image(tmp_path / "in.tif")
    np.testing.assert_array_equal(out.pixels[..., 3], src.pixels[..., 3])
    assert pil_meta(tmp_path / "out.tif") == ("OldCam", None)  # EXIF kept; a non-RGB ICC profile dropped


def test_load_takes_a_name_a_path_or_the_default(readme_world, tmp_path):
    by_path = colorize_cli.load(tmp_path / "models" / "unet-gan.onnx", device="cpu")
    default = colorize_cli.load(None, device="cpu")
    assert by_path.info.name == default.info.name == "unet-gan"
    with pytest.raises(colorize_cli.ParameterError) as info:
        colorize_cli.load("no-such-model")
    assert info.value.param == "model" and "--" not in str(info.value)


def test_ab_filter_sees_working_resolution_and_changes_the_colour(readme_world):
    pipe = colorize_cli.load("unet-gan", device="cpu")
    gray = readme_world["gray"]
    seen = []

    def no_colour(L_work, ab_work, full_shape):
        seen.append((L_work.shape, L_work.dtype, ab_work.shape, full_shape, float(L_work.max())))
        return np.zeros_like(ab_work)

    out = pipe.colorize_array(gray, ab_filter=no_colour)
    (L_shape, L_dtype, ab_shape, full, L_max), = seen
    assert L_shape == ab_shape[:2] == pipe.working_shape(gray.shape) and ab_shape[2] == 2
    assert L_dtype == np.float32 and full == gray.shape and 0 < L_max <= 100
    assert np.abs(out[..., 0].astype(int) - out[..., 2].astype(int)).max() <= 257  # neutral: R = G = B
    assert np.abs(pipe.colorize_array(gray).astype(int)[..., 0] - out[..., 0]).max() > 257


def test_ab_filter_reaches_files_frames_and_films(readme_world, tmp_path):
    pipe = colorize_cli.load("unet-gan", device="cpu")
    calls = []

    def no_colour(L_work, ab_work, full_shape):
        calls.append(full_shape)
        return np.zeros_like(ab_work)

    colorize_cli.colorize_file("in.tif", "neutral.png", pipeline=pipe, ab_filter=no_colour)
    px = read_image(tmp_path / "neutral.png").pixels.astype(int)
    assert calls == [(40, 56)] and np.abs(px[..., 0] - px[..., 2]).max() <= 1
    frames = readme_world["frames"]
    out = list(colorize_cli.colorize_frames(frames, pipe, smooth=True, ab_filter=no_colour))
    assert len(calls) == 1 + len(frames) and all(np.abs(f[..., 0].astype(int) - f[..., 2]).max() <= 1 for f in out)
    film = make_clip(tmp_path / "film.mp4", n=4, audio=None)
    rep = colorize_cli.colorize_video(film, tmp_path / "film-out.mkv", pipe, ab_filter=no_colour)
    assert rep.status == "ok" and len(calls) == 1 + len(frames) + 4
