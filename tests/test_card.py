"""exporters.card: card tables from `colorize evaluate` reports, with the semantic columns."""

import json

from exporters import card


def _stats(mean: float) -> dict:
    return {"mean": mean, "std": 1.0, "n": 4}


def _evaluate_report(dataset: str) -> dict:
    model = {"psnr": _stats(23.0), "ssim": _stats(0.9), "ab_rmse": _stats(12.0), "delta_e": _stats(10.0),
             "cast": _stats(4.0), "ci": _stats(30.0), "ci_ratio": _stats(0.7)}
    gray = dict(model, psnr=_stats(21.0), ci=_stats(0.0))
    return {"source": {"dataset": f"/data/{dataset}"}, "rows": [{"file": "a.jpg"}, {"file": "b.jpg"}],
            "summary": {"gray": gray, "m": model, "truth": {"ci": _stats(40.0)}}}


SEMANTIC = {"source": {"dataset": "/elsewhere/imagenet-sample"}, "n": 2,
            "summary": {"truth": {"top1": 78.2, "top5": 93.0}, "gray": {"top1": 67.9, "top5": 88.1},
                        "m": {"top1": 63.9, "top5": 85.0}}}


def test_semantic_columns_join_by_name():
    text = card.table(_evaluate_report("imagenet-sample"), SEMANTIC)
    head, _, *rows = text.split("\n\n")[1].splitlines()
    assert head.endswith("| ImageNet top-1 % | ImageNet top-5 % |")
    assert rows[0].startswith("| gray |") and rows[0].endswith("| 67.9 | 88.1 |")
    assert rows[1].startswith("| m | 23.00 ± 1.00 |") and rows[1].endswith("| 63.9 | 85.0 |")
    assert rows[2].startswith("| truth |") and rows[2].endswith("| 78.2 | 93.0 |")
    assert all(r.count("|") == head.count("|") for r in rows)
    assert "ImageNet" not in card.table(_evaluate_report("imagenet-sample"))


def test_cli_puts_semantic_only_beside_its_own_data_set(tmp_path, capsys):
    for name in ("bsds500-test", "imagenet-sample"):
        (tmp_path / f"{name}.json").write_text(json.dumps(_evaluate_report(name)))
    (tmp_path / "sem.json").write_text(json.dumps(SEMANTIC))
    card.main([str(tmp_path / "bsds500-test.json"), str(tmp_path / "imagenet-sample.json"),
               "--semantic", str(tmp_path / "sem.json")])
    bsds, imagenet = capsys.readouterr().out.split("\n\n**")
    assert "top-1" not in bsds and "| 63.9 | 85.0 |" in imagenet
    card.main(["--semantic", str(tmp_path / "sem.json")])  # no evaluate report: a table of its own
    assert "| colour (truth) | 78.2 | 93.0 |" in capsys.readouterr().out


def test_runs_on_one_data_set_share_a_table():
    first = _evaluate_report("bsds500-test")
    second = _evaluate_report("bsds500-test")
    second["summary"] = {"gray": second["summary"]["gray"], "n": second["summary"]["m"], "truth": second["summary"]["truth"]}
    merged = card.merge_reports([first, second, _evaluate_report("imagenet-sample")])
    assert [card._dataset(r) for r in merged] == ["bsds500-test", "imagenet-sample"]
    assert list(merged[0]["summary"]) == ["gray", "m", "truth", "n"]
    assert list(first["summary"]) == ["gray", "m", "truth"]  # inputs are not changed
