"""Golden outputs: what the commands write for fixed, generated inputs, as sha256 digests.

Used by tests/test_golden.py (compare) and tests/record_golden.py (write
``tests/golden/golden.json``). The cases are the ones issue 19 names: ``colorize images`` with
three models (PNG and 16-bit TIFF with EXIF/ICC, confidence maps, hints on a photo),
``colorize video`` plain, ``--smooth`` and ``--keyframes``, ``colorize evaluate --json`` and,
where Ray is installed, a two-node ``--ray`` film that must equal the local one.

Pictures are compared byte for byte. Films are compared twice: the container's bytes and the
decoded frames with their timestamps (the decoded digest says whether a difference is in the
pictures or only in the muxing). The evaluate report is compared as canonical JSON with the
wall-clock fields removed and its numbers to 8 significant digits (``REPORT_DIGITS``). The
inputs' own digests are stored too: if they differ, the machine's encoders changed and the
golden file must be recorded again, which says nothing about the code.
Each film records the FFmpeg build that wrote it (``encoder``): written by another build (a new
PyAV wheel), a film is compared without its container bytes, which hold the encoder's version.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from helpers import exif_blob, gradient, srgb_icc, write  # noqa: E402
from onnx_fixtures import make_ab_model, make_bins_model  # noqa: E402
from video_clips import make_clip  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "golden.json"
# Fields of the evaluate report that are wall-clock times or machine facts, not results.
VOLATILE = {"seconds", "elapsed", "time", "fps", "frames_per_second", "runtime", "timestamp", "date", "host"}
# Significant digits the evaluate report's numbers are compared to. NumPy picks its SIMD kernels by
# CPU, and they differ in the last bits: on an AVX-512 EPYC the report's measures moved by up to
# 2e-13 (relative) against the same run with NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL", so the
# digest of the full-precision report depended on the machine. 8 digits hide that, and any real
# change of a measure still shows.
REPORT_DIGITS = 8


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_models(root: Path) -> dict[str, Path]:
    """The three fixture models: bins (stride 8), ab, bins with a 4× coarser output."""
    d = root / "models"
    return {"bins": make_bins_model(d / "fixture-bins.onnx"),
            "ab": make_ab_model(d / "fixture-ab.onnx"),
            "bins4": make_bins_model(d / "fixture-bins4.onnx", name="fixture-bins4", output_stride=4, stride=16)}


def _tiff16(path: Path) -> Path:
    from PIL import Image as PILImage

    path.parent.mkdir(parents=True, exist_ok=True)
    g = gradient(40, 56, np.uint16)
    im = PILImage.frombytes("I;16", (g.shape[1], g.shape[0]), g.astype("<u2").tobytes())
    icc = srgb_icc()
    icc = icc[:24] + bytes(12) + icc[36:]  # the header's creation time, fixed: the input must not vary
    im.save(path, format="TIFF", exif=exif_blob(), icc_profile=icc)
    return path


def build_inputs(root: Path) -> dict[str, Path]:
    """Photos, films, keyframes, hints and an evaluation set under ``root/in``."""
    src = root / "in"
    photos = src / "photos"
    write(photos / "ramp.png", gradient(48, 64))
    write(photos / "sub" / "rgb.png", gradient(36, 52, channels=3))
    write(photos / "alpha.png", gradient(32, 40, channels=4))
    _tiff16(src / "tiff" / "scan.tif")
    hint_photo = write(src / "hint" / "p.png", gradient(48, 64))
    (src / "hint" / "p.json").write_text(json.dumps({
        "points": [{"x": 10, "y": 10, "color": "#d02020", "radius": 3}],
        "strokes": [{"points": [[40, 30], [60, 40]], "width": 3, "color": "#2040d0"}]}))
    clip = make_clip(src / "film" / "clip.mp4", n=16, w=64, h=48, cut_at=9)
    keys = src / "keys"
    from video_clips import shapes_frame

    kf = shapes_frame(4)
    kf[..., 1] = kf[..., 1] // 2  # a hand colouring that differs from the clip's own colours
    write(keys / "000004.png", kf)
    evalset = src / "evalset"
    y, x = np.mgrid[0:48, 0:64]
    for i in range(2):
        img = np.dstack([(x * 3 + i * 40) % 256, (y * 4) % 256, np.full_like(x, 90 + 60 * i)]).astype(np.uint8)
        write(evalset / f"p{i}.png", img)
    make_clip(evalset / "clip.mp4", n=6, w=64, h=48, audio=None)
    return {"photos": photos, "tiff": src / "tiff", "hint_photo": hint_photo, "hint_json": src / "hint" / "p.json",
            "clip": clip, "keys": keys, "evalset": evalset}


def tree_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path (pictures: byte for byte)."""
    return {p.relative_to(root).as_posix(): sha(p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


def film_digests(path: Path) -> dict[str, str]:
    """A film's bytes, and its decoded pictures and timestamps (rgb24, every video frame). The
    resume mark (``colorize`` tag: a digest of paths and mtimes, so of the temporary folder) is
    zeroed in the bytes; the resume identity has a case of its own."""
    import av

    h = hashlib.sha256()
    with av.open(str(path)) as box:
        mark = box.metadata.get("colorize", "")
        stream = box.streams.video[0]
        for frame in box.decode(stream):
            h.update(f"{frame.pts}:{frame.width}x{frame.height};".encode())
            h.update(frame.to_ndarray(format="rgb24").tobytes())
        layout = [f"{s.type}:{getattr(s.codec_context, 'name', '')}" for s in box.streams]
    data = path.read_bytes()
    return {"bytes": sha(data.replace(mark.encode(), b"0" * len(mark)) if mark else data), "frames": h.hexdigest(),
            "streams": ",".join(layout), "encoder": encoder()}


def encoder() -> str:
    """The FFmpeg build a film's bytes depend on: x264 writes its version into the stream and the
    muxer its own, so a new PyAV wheel changes the bytes of identical pictures."""
    import av

    ffmpeg = getattr(av, "ffmpeg_version_info", None) or av.library_versions.get("libavformat")
    return f"PyAV {av.__version__}, FFmpeg {ffmpeg}"


def comparable(case: dict, other: dict) -> dict:
    """``case`` as it can be compared with ``other``: without the container's bytes where the two
    were written by different encoders (the decoded frames, timestamps and streams still are)."""
    if "bytes" in case and case.get("encoder") != other.get("encoder"):
        return {k: v for k, v in case.items() if k not in ("bytes", "encoder")}
    return case


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.{REPORT_DIGITS}g}")
    return value


def run_cases(root: Path, invoke, ray_address: str | None = None) -> dict[str, dict]:
    """Run every case under ``root`` with ``invoke(*args) -> (exit_code, stdout)``; return the
    digests by case. ``ray_address``: also run the film on that cluster."""
    models = build_models(root)
    ins = build_inputs(root)
    out = root / "out"
    got: dict[str, dict] = {"inputs": {**{f"film/{k}": v for k, v in film_digests(ins["clip"]).items()},
                                       **{"photos/" + k: v for k, v in tree_digests(ins["photos"]).items()},
                                       **{"tiff/" + k: v for k, v in tree_digests(ins["tiff"]).items()}}}

    def case(name: str, *args) -> tuple[int, str]:
        code, stdout = invoke(*[str(a) for a in args])
        got[name] = {"exit": code}
        return code, stdout

    for key, model in models.items():
        dest = out / f"images-{key}"
        case(f"images-{key}", "images", ins["photos"], "-o", dest, "-m", model, "--device", "cpu", "--quiet")
        got[f"images-{key}"].update(tree_digests(dest))
    dest = out / "images-tiff"
    case("images-tiff-confidence", "images", ins["tiff"], ins["photos"] / "ramp.png", "-o", dest, "-m",
         models["bins"], "--format", "tif", "--confidence", out / "confidence", "--device", "cpu", "--quiet")
    got["images-tiff-confidence"].update(tree_digests(dest))
    got["images-tiff-confidence"].update({"confidence/" + k: v for k, v in tree_digests(out / "confidence").items()})
    dest = out / "images-hints"
    case("images-hints", "images", ins["hint_photo"], "-o", dest, "-m", models["ab"], "--hints", ins["hint_json"],
         "--device", "cpu", "--quiet")
    got["images-hints"].update(tree_digests(dest))

    film_cases = {"video-plain": [], "video-smooth": ["--smooth"],
                  "video-smooth-window": ["--smooth", "--window", "3", "--decay", "0.5", "--scene-threshold", "20"],
                  "video-keyframes": ["--keyframes", ins["keys"], "--keyframe-reach", "6"]}
    for name, extra in film_cases.items():
        dest = out / f"{name}.mp4"
        case(name, "video", ins["clip"], "-o", dest, "-m", models["bins"], "--device", "cpu", "--quiet",
             "--segment-seconds", "0.2", *extra)
        got[name].update(film_digests(dest))

    code, stdout = case("evaluate-json", "evaluate", ins["evalset"], "-m", models["bins"], "-m", models["ab"],
                        "--device", "cpu", "--json", "--quiet")
    report = _strip(json.loads(stdout)) if code == 0 else None
    # the temporary folder's name is in the report (the dataset's path): not a result
    got["evaluate-json"]["report"] = sha(json.dumps(report, sort_keys=True).replace(str(root), "ROOT").encode())

    got["video-identity"] = identity_case(root, models["bins"], ins)

    if ray_address is not None:
        dest = out / "video-ray.mp4"
        case("video-ray", "video", ins["clip"], "-o", dest, "-m", models["bins"], "--device", "cpu", "--quiet",
             "--segment-seconds", "0.2", "--smooth", "--ray", ray_address, "--split-seconds", "0.25")
        got["video-ray"].update(film_digests(dest))
    return got


def identity_case(root: Path, model: Path, ins: dict[str, Path]) -> dict:
    """The resume manifest of a film stopped after its first segment, with ``--smooth``,
    ``--keyframes`` and non-default settings: a film half-done by an older version resumes only
    if this stays the same. Paths, sizes and mtimes are replaced by placeholders; the digest is
    checked to be the sha256 of the rest, as written."""
    import colorize_cli
    from colorize_cli.errors import Interrupted

    pipe = colorize_cli.load(str(model), device="cpu")
    opts = colorize_cli.VideoOptions(smooth=True, window=3, decay=0.5, scene_threshold=20.0,
                                     keyframes={4: ins["keys"] / "000004.png"}, keyframe_reach=6, segment_seconds=0.2)
    dst = root / "out" / "identity.mp4"

    def stop(_n: int) -> None:
        raise KeyboardInterrupt

    try:
        colorize_cli.colorize_video(ins["clip"], dst, pipe, opts, on_progress=stop)
    except Interrupted:
        pass
    manifests = list(root.joinpath("out").glob("*partial*/manifest*"))
    assert len(manifests) == 1, manifests
    data = json.loads(manifests[0].read_text(encoding="utf-8"))
    digest = data.pop("digest")
    ok = digest == sha(json.dumps(data, sort_keys=True, default=str).encode())

    def scrub(v):
        if isinstance(v, dict):
            return {k: ("N" if k in ("size", "mtime_ns") else scrub(x)) for k, x in v.items()}
        if isinstance(v, list):
            return [scrub(x) for x in v]
        if isinstance(v, str):
            return v.replace(str(root), "ROOT")
        if isinstance(v, int) and not isinstance(v, bool) and v > 10**15:  # an mtime in a list
            return "N"
        return v

    clean = scrub(data)
    return {"digest_formula": ok, "manifest": json.dumps(clean, sort_keys=True), "exit": 0}


def cli_invoker():
    """``invoke(*args) -> (exit_code, stdout)`` running the CLI in this process."""
    from typer.testing import CliRunner

    from colorize_cli.cli import app

    def invoke(*args: str) -> tuple[int, str]:
        res = CliRunner().invoke(app, list(args), catch_exceptions=False)
        return res.exit_code, res.stdout

    return invoke
