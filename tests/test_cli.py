"""`colorize images` and `colorize models` end to end, on temporary folders."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from helpers import exif_blob, gradient, pil_meta, srgb_icc, write

from colorize_cli.io.image_io import write_image


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _mixed_tree(root: Path) -> dict[str, tuple]:
    """A small tree of mixed images; returns rel path -> (shape, dtype) expected in the output."""
    write(root / "a.png", gradient(40, 60))
    write(root / "sub" / "b.jpg", gradient(50, 30, channels=3))
    write(root / "sub" / "deep" / "c.png", gradient(36, 48, dtype=np.uint16))
    write(root / "sub" / "d.tif", gradient(30, 44, dtype=np.uint16, channels=3))
    write(root / "e.png", gradient(32, 32, channels=4))
    (root / "notes.txt").write_text("not an image, and not picked up from a folder")
    return {"a.png": ((40, 60, 3), np.uint8), "sub/b.jpg": ((50, 30, 3), np.uint8),
            "sub/deep/c.png": ((36, 48, 3), np.uint16), "sub/d.tif": ((30, 44, 3), np.uint16),
            "e.png": ((32, 32, 4), np.uint8)}


def test_folder_in_mirrored_tree_out(cli, tmp_path, bins_model):
    want = _mixed_tree(tmp_path / "in")
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "--model", bins_model, "--json")
    assert res.exit_code == 0, res
    lines = _jsonl(res.stdout)
    assert len(lines) == len(want) and {ln["status"] for ln in lines} == {"ok"}
    assert set(lines[0]) == {"input", "output", "status", "seconds", "error"}
    for rel, (shape, dtype) in want.items():
        out = cv2.imread(str(tmp_path / "out" / rel), cv2.IMREAD_UNCHANGED)
        assert out is not None, rel
        assert out.shape == shape and out.dtype == dtype, rel
    alpha_in = gradient(32, 32, channels=4)[..., 3]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "e.png"), cv2.IMREAD_UNCHANGED)[..., 3], alpha_in)
    assert not (tmp_path / "out" / "notes.txt").exists()
    assert "model fixture-bins" in res.stderr and "5 colourised" in res.stderr


def test_metadata_is_kept(cli, tmp_path, ab_model):
    for fmt in ("jpg", "png", "tif"):
        write_image(tmp_path / "in" / f"m.{fmt}", gradient(channels=3), exif=exif_blob(f"Cam-{fmt}")[6:], icc=srgb_icc())
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "--model", ab_model)
    assert res.exit_code == 0, res
    for fmt in ("jpg", "png", "tif"):
        make, icc = pil_meta(tmp_path / "out" / f"m.{fmt}")
        assert make == f"Cam-{fmt}" and icc == srgb_icc(), fmt


def test_sixteen_bit_in_sixteen_bit_out_with_real_colour(cli, tmp_path, ab_model):
    write(tmp_path / "in" / "g16.png", gradient(48, 64, dtype=np.uint16))
    res = cli("images", tmp_path / "in" / "g16.png", "-o", tmp_path / "out", "--model", ab_model)
    assert res.exit_code == 0, res
    out = cv2.imread(str(tmp_path / "out" / "g16.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (48, 64, 3)
    assert len(np.unique(out)) > 256, "16-bit output should use more than 256 levels"
    lab = cv2.cvtColor(out[..., ::-1].astype(np.float32) / 65535, cv2.COLOR_RGB2Lab)
    assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 10, "output should be coloured"


def test_resume_skips_existing_and_overwrite_redoes(cli, tmp_path, bins_model):
    _mixed_tree(tmp_path / "in")
    args = ("images", tmp_path / "in", "-o", tmp_path / "out", "--model", bins_model, "--json")
    assert cli(*args).exit_code == 0
    target = tmp_path / "out" / "a.png"
    os.utime(target, (1, 1))
    res = cli(*args)
    assert res.exit_code == 0 and {ln["status"] for ln in _jsonl(res.stdout)} == {"skipped"}
    assert target.stat().st_mtime == 1
    target.unlink()
    res = cli(*args)
    assert [ln["status"] for ln in _jsonl(res.stdout)].count("ok") == 1
    res = cli(*args, "--overwrite")
    assert {ln["status"] for ln in _jsonl(res.stdout)} == {"ok"}
    assert target.stat().st_mtime > 1
    leftovers = [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_input_is_never_overwritten(cli, tmp_path, bins_model):
    src = write(tmp_path / "photos" / "x.png", gradient())
    before = src.read_bytes()
    res = cli("images", tmp_path / "photos", "-o", tmp_path / "photos", "--model", bins_model, "--overwrite")
    assert res.exit_code == 1, res
    assert "would overwrite this input" in res.stderr
    assert src.read_bytes() == before
    # A different format into the same folder is fine, and is not read back as an input.
    res = cli("images", tmp_path / "photos" / "x.png", "-o", tmp_path / "photos", "--model", bins_model,
              "--format", "jpg")
    assert res.exit_code == 0, res
    assert (tmp_path / "photos" / "x.jpg").exists() and src.read_bytes() == before


def test_output_inside_input_is_not_read_back(cli, tmp_path, bins_model):
    write(tmp_path / "in" / "a.png", gradient())
    out = tmp_path / "in" / "colour"
    for _ in range(2):
        res = cli("images", tmp_path / "in", "-o", out, "--model", bins_model, "--json")
        assert res.exit_code == 0 and len(_jsonl(res.stdout)) == 1, res
    assert not (out / "colour").exists()


def test_stdin_paths_and_globs(cli, tmp_path, ab_model):
    _mixed_tree(tmp_path / "in")
    paths = [str(tmp_path / "in" / "sub" / "d.tif"), str(tmp_path / "in" / "sub" / "deep" / "c.png"), ""]
    res = cli("images", "-", "-o", tmp_path / "out", "--model", ab_model, "--json", input="\n".join(paths) + "\n")
    assert res.exit_code == 0, res
    assert (tmp_path / "out" / "d.tif").exists() and (tmp_path / "out" / "deep" / "c.png").exists()
    res = cli("images", str(tmp_path / "in" / "**" / "*.png"), "-o", tmp_path / "out2", "--model", ab_model)
    assert res.exit_code == 0, res
    assert sorted(p.relative_to(tmp_path / "out2").as_posix() for p in (tmp_path / "out2").rglob("*.png")) == \
        ["a.png", "e.png", "sub/deep/c.png"]


def test_format_option_and_confidence_maps(cli, tmp_path, bins_model, ab_model):
    write(tmp_path / "in" / "k" / "a.png", gradient(40, 60))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "--model", bins_model, "--format", "jpg",
              "--confidence", tmp_path / "conf")
    assert res.exit_code == 0, res
    assert (tmp_path / "out" / "k" / "a.jpg").exists()
    top = cv2.imread(str(tmp_path / "conf" / "k" / "a_top.png"), cv2.IMREAD_UNCHANGED)
    ratio = cv2.imread(str(tmp_path / "conf" / "k" / "a_ratio.png"), cv2.IMREAD_UNCHANGED)
    assert top.shape == (40, 60) and ratio.shape == (40, 60) and top.max() > 0
    # ab models have no bins: no maps, no error
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out_ab", "--model", ab_model, "--confidence", tmp_path / "c2")
    assert res.exit_code == 0 and not list((tmp_path).glob("c2/**/*.png"))


def test_every_bad_input_gets_its_line_and_the_batch_goes_on(cli, tmp_path, bins_model, monkeypatch, as_root):
    d = tmp_path / "in"
    write(d / "good1.png", gradient())
    good = write(d / "good2.png", gradient(channels=3)).read_bytes()
    (d / "zero.png").write_bytes(b"")
    (d / "trunc.png").write_bytes(good[: len(good) // 2])
    (d / "text.jpg").write_text("not a jpeg\n" * 30)
    write(d / "huge.png", gradient(200, 300))
    locked = write(d / "locked.png", gradient())
    locked.chmod(0)
    if as_root:
        real = Path.read_bytes
        monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied")) if self.name == "locked.png" else real(self))
    res = cli("images", d, tmp_path / "missing.png", "-o", tmp_path / "out", "--model", bins_model,
              "--max-pixels", "50000", "--json")
    assert res.exit_code == 1, res
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("colorize: error: ")]
    reasons = {Path(ln.split(": ")[2]).name: ln for ln in errors}
    assert set(reasons) == {"zero.png", "trunc.png", "text.jpg", "huge.png", "locked.png", "missing.png"}, errors
    assert "empty file" in reasons["zero.png"] and "truncated" in reasons["trunc.png"]
    assert "not an image" in reasons["text.jpg"] and "max-pixels" in reasons["huge.png"]
    assert "permission denied" in reasons["locked.png"] and "no such file" in reasons["missing.png"]
    status = {Path(ln["input"]).name: ln["status"] for ln in _jsonl(res.stdout)}
    assert status["good1.png"] == status["good2.png"] == "ok"
    assert status["missing.png"] == status["zero.png"] == "error" and len(status) == 8
    assert "Traceback" not in res.stderr


def test_exit_codes(cli, tmp_path, bins_model):
    write(tmp_path / "in" / "a.png", gradient())
    ok = cli("images", tmp_path / "in", "-o", tmp_path / "o1", "--model", bins_model)
    assert ok.exit_code == 0
    assert cli("images", tmp_path / "nothing-here", "-o", tmp_path / "o2", "--model", bins_model).exit_code == 2
    assert cli("images", tmp_path / "in", "-o", tmp_path / "o3", "--model", bins_model, "--device", "tpu").exit_code == 2
    assert cli("images", tmp_path / "in", "-o", tmp_path / "o3", "--model", bins_model, "--batch-size", "0").exit_code == 2
    assert cli("images", tmp_path / "in", "--model", bins_model).exit_code == 2  # no -o
    res = cli("images", tmp_path / "in", "-o", tmp_path / "o4", "--model", "no-such-model")
    assert res.exit_code == 2 and "'no-such-model': unknown model" in res.stderr
    (tmp_path / "empty").mkdir()
    res = cli("images", tmp_path / "empty", "-o", tmp_path / "o5", "--model", bins_model)
    assert res.exit_code == 0 and "no images found" in res.stderr


def test_no_model_installed_is_a_clear_error(cli, tmp_path):
    write(tmp_path / "in" / "a.png", gradient())
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out")
    assert res.exit_code == 2 and "--model not given, and no model is installed" in res.stderr and "Traceback" not in res.stderr


def test_model_by_name_env_var_and_default_file(cli, tmp_path, models_dir, monkeypatch):
    write(tmp_path / "in" / "a.png", gradient())
    monkeypatch.setenv("COLORIZE_MODEL_PATH", str(models_dir))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "o1", "--model", "fixture-ab")
    assert res.exit_code == 0 and "model fixture-ab" in res.stderr
    res = cli("images", tmp_path / "in", "-o", tmp_path / "o2")  # first installed (sorted by file name)
    assert res.exit_code == 0 and "model fixture-ab " in res.stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "default.txt").write_text("fixture-bins4\n")
    res = cli("images", tmp_path / "in", "-o", tmp_path / "o3", "--models-dir", mine)
    assert res.exit_code == 0 and "model fixture-bins4" in res.stderr


def test_models_listing(cli, tmp_path, models_dir, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODEL_PATH", str(models_dir))
    res = cli("models", "--json")
    assert res.exit_code == 0, res
    rows = json.loads(res.stdout)
    assert [r["name"] for r in rows] == ["fixture-ab", "fixture-bins", "fixture-bins4"]
    r = rows[1]
    assert r["kind"] == "bins" and r["bins"] == 8 and r["working_size"] == 32 and len(r["sha256"]) == 64
    assert r["size_bytes"] == (models_dir / "fixture-bins.onnx").stat().st_size
    assert r["provider"] == "CPUExecutionProvider" and rows[0]["default"] is True
    table = cli("models")
    assert table.exit_code == 0 and "fixture-bins4" in table.stdout


def test_models_listing_names_a_broken_file(cli, tmp_path, models_dir):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "broken.onnx").write_bytes(b"garbage")
    res = cli("models", "--models-dir", extra, "--json")
    assert res.exit_code == 1
    assert "colorize: error: " in res.stderr and "broken.onnx" in res.stderr and "Traceback" not in res.stderr
    assert json.loads(res.stdout)[0]["error"]


def test_real_process_is_quiet_and_has_no_progress_bar_when_piped(tmp_path, ab_model):
    """The installed entry point, as a separate process: stdout is a pipe, so no bar; JSON only."""
    write(tmp_path / "in" / "a.png", gradient())
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run([sys.executable, "-m", "colorize_cli", "images", str(tmp_path / "in"), "-o",
                           str(tmp_path / "out"), "--model", str(ab_model), "--json", "--device", "auto"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x)["status"] for x in proc.stdout.splitlines()] == ["ok"]
    assert proc.stderr.count("\n") == 2 and "on CPU" in proc.stderr  # the model line and the summary
    quiet = subprocess.run([sys.executable, "-m", "colorize_cli", "images", str(tmp_path / "in"), "-o",
                            str(tmp_path / "out"), "--model", str(ab_model), "--quiet"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def _all_options() -> set[str]:
    import typer

    from colorize_cli.cli import app

    return {opt for cmd in typer.main.get_command(app).commands.values() for p in cmd.params for opt in p.opts}


def test_library_errors_name_parameters_and_the_cli_names_flags(cli, tmp_path, bins_model, monkeypatch):
    from colorize_cli.cli.common import FLAGS, flagged
    from colorize_cli.errors import ParameterError

    assert flagged(ParameterError("render_size", "must be positive, got 0")) == "--render-size must be positive, got 0"
    assert flagged("a.png: 10x10 = 100 pixels is over max_pixels 50") == "a.png: 10x10 = 100 pixels is over --max-pixels 50"
    assert flagged("the window of the kernel") == "the window of the kernel"  # plain words stay words
    assert set(FLAGS.values()) <= _all_options()
    write(tmp_path / "in" / "a.png", gradient())
    monkeypatch.setattr("onnxruntime.get_available_providers", lambda: ["CPUExecutionProvider"])
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "--model", bins_model, "--device", "cuda")
    assert res.exit_code == 2 and "colorize: error: --device cuda: this onnxruntime build has no CUDA" in res.stderr
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "--model", bins_model, "--max-pixels", "10")
    assert res.exit_code == 1 and "over --max-pixels 10" in res.stderr


def test_exit_code_constants():
    from colorize_cli.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

    assert (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED) == (0, 1, 2, 130)


def test_cli_defaults_and_help_come_from_the_library_table():
    """Every default the commands show is the one in CONFIG_MAP, and so is its help line."""
    import typer

    from colorize_cli.cli import app
    from colorize_cli.settings import CONFIG_MAP

    commands = typer.main.get_command(app).commands
    for command, names in (("video", ("window", "decay", "scene_threshold", "segment_seconds", "max_pixels",
                                      "keyframe_reach", "batch_size")),
                           ("images", ("max_pixels", "batch_size"))):
        params = {p.name: p for p in commands[command].params}
        for name in names:
            assert params[name].default == CONFIG_MAP[name].default, (command, name)
            doc = CONFIG_MAP[name].doc
            assert doc[1:] in params[name].help, (command, name, params[name].help)


def test_temporal_settings_are_one_object():
    from colorize_cli import VideoOptions
    from colorize_cli.settings import TemporalSettings

    t = TemporalSettings(smooth=True, window=7, decay=0.5, scene_detect=False, scene_threshold=0.9, keyframe_reach=12)
    opts = VideoOptions.of(t, codec="ffv1")
    assert opts.temporal == t and opts.codec == "ffv1" and (opts.window, opts.decay) == (7, 0.5)
    assert t.identity() == {"smooth": True, "window": 7, "decay": 0.5, "scene_detect": False, "scene_threshold": None}
    assert t.replay_frames() == 7 and TemporalSettings().replay_frames() == 1
