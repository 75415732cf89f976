"""Average the weights of checkpoints along one training run (stochastic weight averaging).

    python -m exporters.average runs/c313/ckpt-*.pt --out runs/c313-avg [--bn-batches 100]

Checkpoints taken every few minutes of a run at a constant, low learning rate lie in one basin;
their mean sits nearer its centre than any of them, which usually generalises better and costs
nothing at inference (Izmailov et al. 2018). The batch-norm statistics of averaged weights are
not the average of the statistics, so `--bn-batches` recomputes them on that many training
batches (film-like inputs, as in training), the network in training mode and without gradients.

The result is a run folder whose `ckpt.pt` is the last checkpoint given with the averaged
weights (and `averaged`: the steps that went in), so `exporters.export` takes it as it is.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from . import families
from .data import DEFAULT_CACHE, TRAIN_FOLDER, Batches, pack
from .state import save_atomic


def average_states(states: list[dict]) -> dict:
    """The element-wise mean of state dicts' floating-point tensors; other tensors from the last."""
    out = {}
    for key, last in states[-1].items():
        if last.is_floating_point():
            out[key] = torch.stack([s[key].float() for s in states]).mean(0).to(last.dtype)
        else:
            out[key] = last.clone()
    return out


@torch.no_grad()
def refresh_batch_norm(net: torch.nn.Module, batches: "Batches", count: int) -> None:
    """Recompute every batch-norm layer's running statistics as the plain mean over `count` batches."""
    norms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average instead of an exponential one
    net.train()
    for _ in range(count):
        L, _ab, _Lt = next(batches)
        net(torch.from_numpy(L))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    net.eval()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m exporters.average", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", type=Path, nargs="+", help="ckpt.pt files of one run (the last one's facts are kept)")
    ap.add_argument("--out", type=Path, required=True, help="run folder to write ckpt.pt into")
    ap.add_argument("--bn-batches", type=int, default=0, help="training batches to recompute batch-norm statistics on")
    ap.add_argument("--data", type=Path, default=TRAIN_FOLDER)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    ckpts = sorted((torch.load(p, map_location="cpu", weights_only=False) for p in args.checkpoints),
                   key=lambda c: c["step"])
    names = {c["model"] for c in ckpts}
    if len(names) != 1:
        raise SystemExit(f"checkpoints of different models: {', '.join(sorted(names))}")
    last = dict(ckpts[-1])
    last["net"] = average_states([c["net"] for c in ckpts])
    last["averaged"] = [c["step"] for c in ckpts]
    last.pop("opt", None)  # the optimiser's moments belong to none of the averaged points
    if args.bn_batches:
        net = families.get(last["model"]).network(pretrained=False)
        net.load_state_dict(last["net"])
        pk = last.get("pack") or {}
        rgb = pack(args.data, int(pk.get("size", 128)), args.cache)
        batches = Batches(rgb, int((last.get("args") or {}).get("batch", 32)), int(pk.get("crop", 128)),
                          seed=args.seed)
        refresh_batch_norm(net, batches, args.bn_batches)
        last["net"] = net.state_dict()
        last["bn_batches"] = args.bn_batches
    args.out.mkdir(parents=True, exist_ok=True)
    if last.get("bins") is not None:
        np.save(args.out / "bins.npy", last["bins"])
    save_atomic(last, args.out / "ckpt.pt")
    print(f"averaged {len(ckpts)} checkpoints of {last['model']} (steps {', '.join(map(str, last['averaged']))})"
          f"{f', batch norm on {args.bn_batches} batches' if args.bn_batches else ''} → {args.out / 'ckpt.pt'}")


if __name__ == "__main__":
    main()
