"""Cutting a film into pieces for several workers (``--ray --split-seconds``): whole segments,
and a film too short to split is one whole-film piece (the worker then runs the whole film)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

from colorize_cli.film.plan import Piece, plan_pieces


def _film(frames: int | None, rate: int = 30, segment_frames: int = 6) -> SimpleNamespace:
    return SimpleNamespace(src=Path("in.mp4"), dst=Path("out.mp4"), segment_frames=segment_frames,
                           source=SimpleNamespace(frames_estimate=frames, rate=Fraction(rate)))


def test_a_long_film_is_cut_in_whole_segments():
    pieces = plan_pieces(_film(60), 0.4)
    assert [(p.first, p.stop) for p in pieces] == [(0, 12), (12, 24), (24, 36), (36, 48), (48, None)]
    assert all(p.first % 6 == 0 for p in pieces)


def test_a_film_that_is_not_split_is_one_whole_film_piece():
    whole = Piece("in.mp4", "out.mp4", segment_frames=6)
    assert plan_pieces(_film(12), 0.4) == [whole]  # one piece's worth: not split
    assert plan_pieces(_film(60), None) == [whole]
    assert plan_pieces(_film(None), 0.4) == [whole]  # length unknown


def test_pieces_cross_to_workers_as_plain_rows():
    for p in (Piece("a", "b", segment_frames=6), Piece("a", "b", 12, None, 6), Piece("a", "b", 0, 12, 6)):
        row = p.as_row()
        assert all(isinstance(v, (str, int)) for v in row.values())
        assert Piece.from_row(row) == p
