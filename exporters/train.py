"""Train a colorization model, resumably.

    python -m exporters.train colorunet      --run runs/colorunet --minutes 60
    python -m exporters.train classifier-313 --run runs/classifier-313 --minutes 60
    python -m exporters.train unet-gan       --run runs/unet-gan --minutes 60 --gan-after 4000

Running the same command again continues from `RUN/ckpt.pt` (model, optimiser, step, wall time,
learnt bins), so a long training is a series of short commands: what a 10-minute GPU lease or an
interrupted CPU job needs. Losses and dev-set metrics go to `RUN/log.jsonl`.

`unet-gan` follows DeOldify's "NoGAN" schedule, made for little compute:
1. steps < --gan-after: the generator alone, L1 on ab plus a feature loss — the distance between
   the ImageNet-pretrained Lite0 features of the predicted and the true colour photo — which
   pushes towards colours that make objects recognisable instead of the safe mean;
2. the next --critic-steps: the PatchGAN critic alone, on generated against real;
3. after that: a short adversarial phase. Every --snapshot-every steps the generator is saved to
   `RUN/snap-STEP.pt` with its dev scores, so the checkpoint where colour peaks before
   artefacts set in can be exported (`exporters.export RUN --snapshot STEP`).
The generator at the end of phase 1 is kept as `RUN/snap-pretrain.pt`.

The bins models learn from the cross-entropy against soft-encoded true colour. With
--feat-weight they also see the photo their annealed mean makes through the same feature loss,
and with --semantic-weight through the ImageNet head's class probabilities: a per-pixel loss
cannot tell a wrong hue on a face from one on a wall; the classifier can.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from colorize_cli.lab import merge
from colorize_cli.metrics import colourfulness

from . import bins as binlib
from .data import Batches, list_images, pack, rgb_to_lab
from .nets import AB_SCALE, Classifier313, ColorUNet, PatchDiscriminator, UNetGenerator

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "train"
DEFAULT_DEV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "eval" / "miniplaces-val"


@dataclass(frozen=True)
class Spec:
    kind: str  # "bins" or "ab"
    q: int
    temperature: float


SPECS = {
    "colorunet": Spec("bins", 32, 0.38),
    "classifier-313": Spec("bins", 313, 0.38),
    "unet-gan": Spec("ab", 0, 0.0),
}


def build(name: str, pretrained: bool = True) -> torch.nn.Module:
    if name == "colorunet":
        return ColorUNet()
    if name == "classifier-313":
        return Classifier313(pretrained=pretrained)
    if name == "unet-gan":
        return UNetGenerator(pretrained=pretrained)
    raise SystemExit(f"unknown model {name!r}; choose from {', '.join(SPECS)}")


def make_bins(name: str, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if name == "classifier-313":
        return binlib.zhang_bins()
    sample = np.asarray(rgb[np.sort(rng.choice(len(rgb), min(len(rgb), 4000), replace=False))][:, ::2, ::2])
    return binlib.learn_bins(rgb_to_lab(sample)[..., 1:], SPECS[name].q)


def lab_to_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Differentiable CIE Lab (D65, as OpenCV) → sRGB in 0..1, (N,1,H,W) + (N,2,H,W) → (N,3,H,W)."""
    fy = (L + 16.0) / 116.0
    f = torch.cat([fy + ab[:, :1] / 500.0, fy, fy - ab[:, 1:] / 200.0], 1)
    d = 6.0 / 29.0
    xyz = torch.where(f > d, f ** 3, 3 * d * d * (f - 4.0 / 29.0))
    xyz = xyz * torch.tensor([0.950456, 1.0, 1.088754], device=L.device).view(1, 3, 1, 1)
    m = torch.tensor([[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
                      [0.0556434, -0.2040259, 1.0572252]], device=L.device)
    lin = torch.einsum("rc,nchw->nrhw", m, xyz).clamp(1e-6, 1.0)
    return torch.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


class FeatureLoss(torch.nn.Module):
    """How differently the frozen ImageNet Lite0 sees two sRGB images in 0..1.

    The L1 between its features at strides 4–32, plus `semantic` × the KL divergence of its
    class probabilities (the prediction's from the truth's): colours that change what the
    classifier recognises cost more than colours that only miss the exact shade.
    """

    def __init__(self, semantic: float = 0.0) -> None:
        super().__init__()
        from .semantic import load_classifier

        self.net = load_classifier().requires_grad_(False)
        self.semantic = semantic

    def train(self, mode: bool = True) -> "FeatureLoss":
        return super().train(False)  # batch-norm statistics stay ImageNet's

    def _see(self, rgb: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        feats = self.net.pyramid(rgb * 2.0 - 1.0)
        return feats[1:], self.net.head(feats[-1]) if self.semantic else None

    def forward(self, pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            ft, lt = self._see(truth)
        fp, lp = self._see(pred)
        loss = sum(F.l1_loss(a, b) for a, b in zip(fp, ft)) / len(fp)
        if self.semantic:
            loss = loss + self.semantic * F.kl_div(F.log_softmax(lp.float(), 1), F.log_softmax(lt.float(), 1),
                                                   log_target=True, reduction="batchmean")
        return loss


def cast_state(state: dict, dtype: torch.dtype) -> dict:
    """A state dict with its floating-point tensors cast to `dtype` (fp16 to commit, fp32 to load)."""
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}


def transfer_encoder(net: torch.nn.Module, state: dict) -> None:
    """Load the encoder of another family's committed state into `net`.

    Every family shares the Lite0 encoder on L, so one trained for colour (the `unet-gan`
    generator) gives a bins model a head start over the ImageNet weights, which never saw L alone.
    """
    encoder = {k[len("encoder."):]: v for k, v in cast_state(state["net"], torch.float32).items()
               if k.startswith("encoder.")}
    if not encoder:
        raise SystemExit(f"{state['model']} state has no encoder to transfer")
    net.encoder.load_state_dict(encoder)


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, t: float) -> torch.Tensor:
    p = torch.softmax(logits / t, dim=1)
    return torch.einsum("nqhw,qc->nchw", p, centres)


def predict_ab(name: str, net: torch.nn.Module, L: torch.Tensor, centres: torch.Tensor | None) -> torch.Tensor:
    """ab in Lab units at L's resolution (dev metrics only: bilinear, not the runtime's JBU)."""
    out = net(L)
    if SPECS[name].kind == "ab":
        return out * AB_SCALE
    ab = annealed_mean(out, centres, SPECS[name].temperature)
    return F.interpolate(ab, size=L.shape[-2:], mode="bilinear", align_corners=False)


class DevSet:
    """A fixed slice of a held-out folder, at the training resolution, for quick progress checks."""

    def __init__(self, root: Path, size: int, count: int = 96) -> None:
        import cv2

        labs = []
        for p in list_images(root)[:count]:
            bgr = cv2.resize(cv2.imread(str(p)), (size, size), interpolation=cv2.INTER_AREA)
            labs.append(rgb_to_lab(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        self.lab = np.stack(labs) if labs else np.zeros((0, size, size, 3), np.float32)

    @torch.no_grad()
    def score(self, name: str, net: torch.nn.Module, centres: torch.Tensor | None, device: str) -> dict:
        if not len(self.lab):
            return {}
        net.eval()
        L = torch.from_numpy(self.lab[..., :1].transpose(0, 3, 1, 2).copy()).to(device)
        ab = predict_ab(name, net, L, centres).float().cpu().numpy().transpose(0, 2, 3, 1)
        net.train()
        psnr, ci, ci_t, gray_psnr = [], [], [], []
        for lab, pab in zip(self.lab, ab):
            L_img = np.ascontiguousarray(lab[..., 0])
            truth = merge(L_img, lab[..., 1:])
            pred = merge(L_img, pab)
            gray = merge(L_img, np.zeros_like(pab))
            psnr.append(-10 * np.log10(np.mean((pred - truth) ** 2) + 1e-12))
            gray_psnr.append(-10 * np.log10(np.mean((gray - truth) ** 2) + 1e-12))
            ci.append(colourfulness(pred))
            ci_t.append(colourfulness(truth))
        return {"psnr": float(np.mean(psnr)), "gray_psnr": float(np.mean(gray_psnr)),
                "ci_ratio": float(np.mean(ci) / max(np.mean(ci_t), 1e-6))}


def save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m exporters.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=sorted(SPECS))
    ap.add_argument("--run", type=Path, required=True, help="run folder: checkpoint, log, bins")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of colour photos (never eval/)")
    ap.add_argument("--dev", type=Path, default=DEFAULT_DEV, help="held-out folder for progress metrics")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("COLORIZE_CACHE", Path.home() / ".cache" / "colorize")))
    ap.add_argument("--pack-size", type=int, default=128, help="short side photos are packed at")
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                    help="film-like gray inputs (stock mixes, tone, fading, blur, grain, JPEG); off: plain L*")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget of this invocation")
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--gan-after", type=int, default=3000, help="unet-gan: generator-only steps before the critic")
    ap.add_argument("--critic-steps", type=int, default=300, help="unet-gan: critic-only steps before the adversarial phase")
    ap.add_argument("--feat-weight", type=float, default=None,
                    help="weight of the Lite0 feature loss on the colour photo (default: 0.1 for unet-gan, 0 for "
                         "the bins models, whose loss then sees their annealed mean)")
    ap.add_argument("--semantic-weight", type=float, default=0.0,
                    help="with the feature loss: weight of the KL between Lite0's ImageNet class probabilities "
                         "of the predicted and the true photo")
    ap.add_argument("--adv-weight", type=float, default=0.02, help="unet-gan: weight of the adversarial loss (L1 has 1)")
    ap.add_argument("--snapshot-every", type=int, default=200, help="unet-gan: adversarial steps between snapshots")
    ap.add_argument("--rebalance", type=float, default=0.5,
                    help="bins: λ of the class rebalancing (Zhang et al. eq. 4); 1 = none, 0.5 = theirs")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all cores)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", type=Path, default=None,
                    help="start a new run from a committed state (weights/state/*.pt: fp16 generator, critic, "
                         "step and minutes) instead of from scratch; ignored when RUN/ckpt.pt exists")
    ap.add_argument("--precision", choices=["bf16", "fp32"], default="bf16",
                    help="autocast dtype; bf16 runs ~1.5-4x faster on CPUs with AMX and on GPUs")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                    help="NHWC memory format (default: on for colorunet and unet-gan, where oneDNN is faster with it)")
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device, spec, name = args.device, SPECS[args.model], args.model
    amp = args.precision == "bf16"
    autocast_device = "cuda" if device.startswith("cuda") else "cpu"
    channels_last = args.channels_last if args.channels_last is not None else name != "classifier-313"
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    args.run.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.run / "ckpt.pt"
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False) if ckpt_path.exists() else None
    rng = np.random.default_rng(args.seed + (ckpt["step"] if ckpt else 0))

    t0 = time.time()
    rgb = pack(args.data, args.pack_size, args.cache)
    print(f"data: {len(rgb)} crops packed at {args.pack_size}² from {args.data} ({time.time() - t0:.0f} s)", flush=True)

    net = build(name, pretrained=ckpt is None).to(device, memory_format=memory_format)
    centres_t = weights_t = None
    init = torch.load(args.init, map_location="cpu", weights_only=False) if ckpt is None and args.init else None
    if spec.kind == "bins":
        if ckpt:
            centres, prior = ckpt["bins"], ckpt["prior"]
        elif init is not None and init["model"] == name and "bins" in init:
            centres, prior = init["bins"], init["prior"]
        else:
            centres, prior = make_bins(name, rgb, rng)
        np.save(args.run / "bins.npy", centres)
        centres_t = torch.from_numpy(np.asarray(centres, np.float32)).to(device)
        weights_t = torch.from_numpy(binlib.rebalance_weights(prior, args.rebalance)).to(device)

    enc_params = [p for n, p in net.named_parameters() if n.startswith("encoder.")]
    other = [p for n, p in net.named_parameters() if not n.startswith("encoder.")]
    groups = [{"params": other, "lr": args.lr}] + ([{"params": enc_params, "lr": args.lr * 0.5}] if enc_params else [])
    opt = torch.optim.Adam(groups, betas=(0.9, 0.99))
    disc = opt_d = None
    if name == "unet-gan":
        disc = PatchDiscriminator().to(device, memory_format=memory_format)
        opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))

    step, seconds = 0, 0.0
    if init is not None:
        if init["model"] == name:
            net.load_state_dict(cast_state(init["net"], torch.float32))
            if disc is not None and "disc" in init:
                disc.load_state_dict(cast_state(init["disc"], torch.float32))
            step, seconds = init["step"], init["seconds"]
            print(f"started {name} from {args.init} (step {step}, {seconds / 60:.1f} min trained)", flush=True)
        else:
            transfer_encoder(net, init)
            print(f"started {name} with the encoder of {init['model']} from {args.init} "
                  f"(its step {init['step']}, {init['seconds'] / 60:.1f} min); the rest is new", flush=True)
    if ckpt:
        net.load_state_dict(ckpt["net"])
        opt.load_state_dict(ckpt["opt"])
        if disc is not None and "disc" in ckpt:
            disc.load_state_dict(ckpt["disc"])
            opt_d.load_state_dict(ckpt["opt_d"])
        step, seconds = ckpt["step"], ckpt["seconds"]
        # This invocation's --lr wins over the saved one, so a run can be annealed by resuming it.
        for group, lr in zip(opt.param_groups, (args.lr, args.lr * 0.5)):
            group["lr"] = lr
        print(f"resumed {name} at step {step} ({seconds / 60:.1f} min trained)", flush=True)

    def checkpoint() -> None:
        state = {"model": name, "net": net.state_dict(), "opt": opt.state_dict(), "step": step,
                 "seconds": seconds, "args": {k: str(v) for k, v in vars(args).items()},
                 "pack": {"size": args.pack_size, "crop": args.crop, "count": len(rgb)}}
        if spec.kind == "bins":
            state["bins"], state["prior"] = np.asarray(centres, np.float32), np.asarray(prior)
        if disc is not None:
            state["disc"], state["opt_d"] = disc.state_dict(), opt_d.state_dict()
        save_atomic(state, ckpt_path)

    dev = DevSet(args.dev, args.crop)
    batches = Batches(rgb, args.batch, args.crop, seed=args.seed + step, augment=args.augment)
    feat_weight = args.feat_weight if args.feat_weight is not None else (0.1 if name == "unet-gan" else 0.0)
    feat_loss = FeatureLoss(args.semantic_weight).to(device, memory_format=memory_format) if feat_weight > 0 else None
    critic_end = args.gan_after + args.critic_steps

    def snapshot(tag: str, dev_scores: dict) -> None:
        """Generator and critic in fp16 (small enough to commit; `--init` starts a run from it), with dev scores."""
        state = {"model": name, "net": cast_state(net.state_dict(), torch.float16), "step": step, "seconds": seconds, "images": step * args.batch, "dev": dev_scores}
        if disc is not None:
            state["disc"] = cast_state(disc.state_dict(), torch.float16)
        save_atomic(state, args.run / f"snap-{tag}.pt")
    bce = torch.nn.BCEWithLogitsLoss()
    log = (args.run / "log.jsonl").open("a")
    start, last_ckpt, window_t, window_loss = time.time(), time.time(), time.time(), []
    stop = {"signal": None}

    def request_stop(signum: int, _frame: object) -> None:
        # Finish the current step and checkpoint instead of losing the minutes since the last one.
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    net.train()
    while time.time() - start < args.minutes * 60 and step < args.max_steps and stop["signal"] is None:
        L_np, ab_np, Lt_np = next(batches)
        L = torch.from_numpy(L_np).to(device).contiguous(memory_format=memory_format)
        ab = torch.from_numpy(ab_np).to(device)
        Lt = torch.from_numpy(Lt_np).to(device) if feat_loss is not None else None
        stats = {}
        if spec.kind == "bins":
            # Targets in fp32, outside autocast: bin distances in bf16 would blur the encoding.
            s = net.output_stride
            ab_t = F.avg_pool2d(ab, s) if s > 1 else ab
            if spec.q == 313:
                target = binlib.soft_encode(ab_t, centres_t)
                w = weights_t[target.argmax(1)]
            else:
                idx = binlib.hard_encode(ab_t, centres_t)
                w = weights_t[idx]
            with torch.autocast(device_type=autocast_device, dtype=torch.bfloat16, enabled=amp):
                logits = net(L)
            logp = F.log_softmax(logits.float(), 1)
            ce = -(target * logp).sum(1) if spec.q == 313 else F.nll_loss(logp, idx, reduction="none")
            loss = (w * ce).mean()
            if feat_loss is not None:
                # The photo the runtime would show: annealed mean at the training temperature.
                pab = F.interpolate(annealed_mean(logits.float(), centres_t, spec.temperature), size=Lt.shape[-2:],
                                    mode="bilinear", align_corners=False)
                with torch.autocast(device_type=autocast_device, dtype=torch.bfloat16, enabled=amp):
                    feat = feat_loss(lab_to_rgb(Lt, pab), lab_to_rgb(Lt, ab)).float()
                stats["ce"], stats["feat"] = loss.item(), feat.item()
                loss = loss + feat_weight * feat
        elif args.gan_after <= step < critic_end:
            with torch.no_grad(), torch.autocast(device_type=autocast_device, dtype=torch.bfloat16, enabled=amp):
                fake = net(L).float()
            loss = torch.zeros(())
        else:
            with torch.autocast(device_type=autocast_device, dtype=torch.bfloat16, enabled=amp):
                fake = net(L).float()
                l1 = F.l1_loss(fake, ab / AB_SCALE)
                loss = l1
                stats["l1"] = l1.item()
                if feat_loss is not None:
                    feat = feat_loss(lab_to_rgb(Lt, fake * AB_SCALE), lab_to_rgb(Lt, ab)).float()
                    loss = loss + feat_weight * feat
                    stats["feat"] = feat.item()
                if step >= critic_end:
                    d_fake = disc(L, fake)
                    g_adv = bce(d_fake.float(), torch.ones_like(d_fake, dtype=torch.float32))
                    loss = loss + args.adv_weight * g_adv
                    stats["g_adv"] = g_adv.item()
        if loss.requires_grad:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if disc is not None and step >= args.gan_after:
            with torch.autocast(device_type=autocast_device, dtype=torch.bfloat16, enabled=amp):
                d_real = disc(L, ab / AB_SCALE)
                d_fake = disc(L, fake.detach())
                d_real, d_fake = d_real.float(), d_fake.float()
                d_loss = 0.5 * (bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake)))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            stats["d"] = d_loss.item()
        step += 1
        window_loss.append(loss.item())
        if name == "unet-gan" and step == args.gan_after:
            snapshot("pretrain", dev.score(name, net, centres_t, device))
        if name == "unet-gan" and step > critic_end and (step - critic_end) % args.snapshot_every == 0:
            snapshot(str(step), dev.score(name, net, centres_t, device))
        if step % args.log_every == 0:
            now = time.time()
            seconds += now - window_t
            rec = {"step": step, "images": step * args.batch, "minutes": round(seconds / 60, 2), "loss": float(np.mean(window_loss)),
                   "images_per_s": round(args.log_every * args.batch / (now - window_t), 1), **stats}
            if step % args.eval_every == 0:
                rec["dev"] = dev.score(name, net, centres_t, device)
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            window_t, window_loss = time.time(), []
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            checkpoint()
            last_ckpt = time.time()
    seconds += time.time() - window_t
    checkpoint()
    print(f"stopped at step {step}, {seconds / 60:.1f} min trained in total; checkpoint {ckpt_path}", flush=True)


if __name__ == "__main__":
    main()
