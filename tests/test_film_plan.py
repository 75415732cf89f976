"""Planning a film: its output's container and codec are chosen once per film
(:func:`colorize_cli.film.encode.choose_output`) and carried in its typed state; cutting a film
into pieces for several workers (``--ray --split-seconds``): whole segments, carrying that
choice, and a film too short to split is one whole-film piece (the worker then runs the whole
film)."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

from colorize_cli.film import encode
from colorize_cli.film.encode import FilmOutput
from colorize_cli.film.plan import Piece, plan_pieces

H264_MP4 = FilmOutput("mp4", "libx264")


def _film(frames: int | None, rate: int = 30, segment_frames: int = 6) -> SimpleNamespace:
    return SimpleNamespace(src=Path("in.mp4"), dst=Path("out.mp4"), segment_frames=segment_frames,
                           source=SimpleNamespace(frames_estimate=frames, rate=Fraction(rate)), output=H264_MP4)


def test_a_long_film_is_cut_in_whole_segments():
    pieces = plan_pieces(_film(60), 0.4)
    assert [(p.first, p.stop) for p in pieces] == [(0, 12), (12, 24), (24, 36), (36, 48), (48, None)]
    assert all(p.first % 6 == 0 for p in pieces)
    assert all(p.output == H264_MP4 for p in pieces)  # the workers write what the driver chose


def test_a_film_that_is_not_split_is_one_whole_film_piece():
    whole = Piece("in.mp4", "out.mp4", segment_frames=6)
    assert plan_pieces(_film(12), 0.4) == [whole]  # one piece's worth: not split
    assert plan_pieces(_film(60), None) == [whole]
    assert plan_pieces(_film(None), 0.4) == [whole]  # length unknown


def test_pieces_cross_to_workers_as_plain_rows():
    for p in (Piece("a", "b", segment_frames=6), Piece("a", "b", 12, None, 6, H264_MP4),
              Piece("a", "b", 0, 12, 6, FilmOutput("webm", "libvpx-vp9"))):
        row = p.as_row()
        assert all(isinstance(v, (str, int)) for v in row.values())
        assert Piece.from_row(row) == p


# Every function that decides or checks an output's container or codec. A second path that
# chooses them again for the same film calls at least one of these more than once.
RESOLVERS = ("choose_output", "output_format", "pick_codec", "resolve_codec")


@pytest.fixture
def resolver_calls(monkeypatch) -> dict[str, int]:
    """Counts of calls to :data:`RESOLVERS`, wherever a module bound them (``from ... import``)."""
    calls = dict.fromkeys(RESOLVERS, 0)
    for name in RESOLVERS:
        original = getattr(encode, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        for mod in [m for n, m in sys.modules.items() if n.startswith("colorize_cli") and m is not None]:
            if getattr(mod, name, None) is original:
                monkeypatch.setattr(mod, name, counted)
    return calls


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    from onnx_fixtures import make_bins_model

    from colorize_cli.model.engine import Engine
    from colorize_cli.pipeline import Pipeline

    path = make_bins_model(tmp_path_factory.mktemp("m") / "fixture-bins.onnx")
    return Pipeline(Engine(path, device="cpu", threads=1, batch_size=4))


@pytest.mark.parametrize("name, codec", [("out.mp4", None), ("out.mkv", "x264")])
def test_the_output_is_chosen_once_per_film(tmp_path, pipe, resolver_calls, name, codec):
    """check_film chooses the container and codec; prepare, the encoder settings, the join
    and the finished-output check read that choice from the film's state, on a fresh run, an
    interrupted one, its resumed rerun and the rerun that finds it finished."""
    from video_clips import make_clip

    from colorize_cli.errors import Interrupted
    from colorize_cli.film.options import VideoOptions
    from colorize_cli.film.run import colorize_video

    src = make_clip(tmp_path / "in.mp4", n=12, audio=None)
    dst = tmp_path / name
    opts = VideoOptions(codec=codec, segment_seconds=0.1)
    once = {"choose_output": 1, "output_format": 1, "pick_codec": 1, "resolve_codec": int(codec is not None)}

    done = [0]

    def stop_at_6(n: int) -> None:
        done[0] += n
        if done[0] >= 6:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        colorize_video(src, dst, pipe, opts, on_progress=stop_at_6)
    assert resolver_calls == once
    for status, resumed in (("ok", True), ("skipped", False)):  # resumed, then finished already
        resolver_calls.update(dict.fromkeys(RESOLVERS, 0))
        rep = colorize_video(src, dst, pipe, opts)
        assert rep.status == status and bool(rep.resumed_from) == resumed, rep
        assert resolver_calls == once
    assert rep.status == "skipped" and dst.exists()
