"""Train a colorization model, resumably.

    python -m exporters.train colorunet      --run runs/colorunet --minutes 60
    python -m exporters.train classifier-313 --run runs/classifier-313 --minutes 60
    python -m exporters.train unet-gan       --run runs/unet-gan --minutes 60 --gan-after 4000

Running the same command again continues from `RUN/ckpt.pt` (model, optimiser, step, wall time,
learnt bins), so a long training is a series of short commands: what a 10-minute GPU lease or an
interrupted CPU job needs. Losses and dev-set metrics go to `RUN/log.jsonl`.

This module is the loop alone, as in nanoGPT: data, optimiser, bf16 autocast, checkpoint,
resume, signals, log and snapshots. What is trained and how (the network, its loss, a critic,
bins, export metadata) is the family's, one module each in `exporters/families/`.
"""
from __future__ import annotations

import argparse
import json
import signal
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from . import families
from .data import DEFAULT_CACHE, DEV_FOLDER, TRAIN_FOLDER, Batches, pack
from .devset import DevSet
from .families import FAMILIES, Batch
from .state import cast_state, save_atomic, transfer_encoder


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: the loop's options, then every family's."""
    ap = argparse.ArgumentParser(prog="python -m exporters.train", description=__doc__, epilog=families.HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=sorted(FAMILIES))
    ap.add_argument("--run", type=Path, required=True, help="run folder: checkpoint, log, snapshots, the family's files")
    ap.add_argument("--data", type=Path, default=TRAIN_FOLDER, help="folder of colour photos (never eval/)")
    ap.add_argument("--dev", type=Path, default=DEV_FOLDER, help="held-out folder for progress metrics")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--pack-size", type=int, default=128, help="short side photos are packed at")
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                    help="film-like gray inputs (stock mixes, tone, fading, blur, grain, JPEG); off: plain L*")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget of this invocation")
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all cores)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", type=Path, default=None,
                    help="start a new run from a committed state (weights/state/*.pt: the fp16 network with its "
                         "family's extras, step and minutes) instead of from scratch; ignored when RUN/ckpt.pt exists")
    ap.add_argument("--precision", choices=["bf16", "fp32"], default="bf16",
                    help="autocast dtype; bf16 runs ~1.5-4x faster on CPUs with AMX and on GPUs")
    nhwc = " and ".join(name for name, f in FAMILIES.items() if f.channels_last)
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                    help=f"NHWC memory format (default: on for {nhwc}, where oneDNN is faster with it)")
    families.add_arguments(ap)
    return ap.parse_args(argv)


def optimiser(net: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """Adam; a pretrained encoder learns at half the rate of the layers that start new."""
    enc_params = [p for n, p in net.named_parameters() if n.startswith("encoder.")]
    other = [p for n, p in net.named_parameters() if not n.startswith("encoder.")]
    groups = [{"params": other, "lr": lr}] + ([{"params": enc_params, "lr": lr * 0.5}] if enc_params else [])
    return torch.optim.Adam(groups, betas=(0.9, 0.99))


class Trainer:
    """One invocation of a run: set up or resumed from the run folder, then `run()` until its budget."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Load the run's checkpoint (or `--init` state), pack the data, build the family's model."""
        if args.threads:
            torch.set_num_threads(args.threads)
        self.args, device, family = args, args.device, families.get(args.model)
        autocast = partial(torch.autocast, device_type="cuda" if device.startswith("cuda") else "cpu",
                           dtype=torch.bfloat16, enabled=args.precision == "bf16")
        channels_last = args.channels_last if args.channels_last is not None else family.channels_last
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        args.run.mkdir(parents=True, exist_ok=True)
        self.ckpt_path = args.run / "ckpt.pt"
        ckpt = torch.load(self.ckpt_path, map_location="cpu", weights_only=False) if self.ckpt_path.exists() else None
        rng = np.random.default_rng(args.seed + (ckpt["step"] if ckpt else 0))

        t0 = time.time()
        self.rgb = pack(args.data, args.pack_size, args.cache)
        print(f"data: {len(self.rgb)} crops packed at {args.pack_size}² from {args.data} ({time.time() - t0:.0f} s)",
              flush=True)

        self.model = family(args, device, self.memory_format, autocast, pretrained=ckpt is None)
        init = torch.load(args.init, map_location="cpu", weights_only=False) if ckpt is None and args.init else None
        own = init if init is not None and init["model"] == args.model else None
        self.model.prepare(args.run, self.rgb, rng, ckpt if ckpt is not None else own)
        self.opt = optimiser(self.model.net, args.lr)
        self.step, self.seconds = 0, 0.0
        if own is not None:
            self.model.net.load_state_dict(cast_state(init["net"], torch.float32))
            self.model.load_extras(init)
            self.step, self.seconds = init["step"], init["seconds"]
            print(f"started {args.model} from {args.init} (step {self.step}, {self.seconds / 60:.1f} min trained)",
                  flush=True)
        elif init is not None:
            transfer_encoder(self.model.net, init)
            print(f"started {args.model} with the encoder of {init['model']} from {args.init} "
                  f"(its step {init['step']}, {init['seconds'] / 60:.1f} min); the rest is new", flush=True)
        if ckpt is not None:
            self.model.net.load_state_dict(ckpt["net"])
            self.opt.load_state_dict(ckpt["opt"])
            self.model.load_extras(ckpt)
            self.step, self.seconds = ckpt["step"], ckpt["seconds"]
            # This invocation's --lr wins over the saved one, so a run can be annealed by resuming it.
            for group, lr in zip(self.opt.param_groups, (args.lr, args.lr * 0.5)):
                group["lr"] = lr
            print(f"resumed {args.model} at step {self.step} ({self.seconds / 60:.1f} min trained)", flush=True)
        self.dev = DevSet(args.dev, args.crop)
        self.batches = Batches(self.rgb, args.batch, args.crop, seed=args.seed + self.step, augment=args.augment)
        self.stop_signal: int | None = None

    def checkpoint(self) -> None:
        """Everything a resumed run needs, in full precision, to `RUN/ckpt.pt`."""
        args = self.args
        state = {"model": args.model, "net": self.model.net.state_dict(), "opt": self.opt.state_dict(),
                 "step": self.step, "seconds": self.seconds, "args": {k: str(v) for k, v in vars(args).items()},
                 "pack": {"size": args.pack_size, "crop": args.crop, "count": len(self.rgb)}, **self.model.extras()}
        save_atomic(state, self.ckpt_path)

    def snapshot(self, tag: str) -> None:
        """The network (and the family's committed extras) in fp16 with its dev scores to `RUN/snap-TAG.pt`:
        small enough to commit, and `--init` starts a run from it."""
        state = {"model": self.args.model, "net": cast_state(self.model.net.state_dict(), torch.float16),
                 "step": self.step, "seconds": self.seconds, "images": self.step * self.args.batch,
                 "dev": self.score(), **self.model.committed(self.model.extras())}
        save_atomic(state, self.args.run / f"snap-{tag}.pt")

    def score(self) -> dict:
        """The dev scores of the model as it is now."""
        return self.dev.score(self.model.net, self.model.predict_ab, self.args.device)

    def request_stop(self, signum: int, _frame: object) -> None:
        """Signal handler: finish the current step and checkpoint instead of losing the minutes since the last one."""
        self.stop_signal = signum

    def run(self) -> None:
        """Train until --minutes, --max-steps or SIGTERM/SIGINT; log, snapshot and checkpoint on the way."""
        args, model = self.args, self.model
        log = (args.run / "log.jsonl").open("a")
        start, last_ckpt, window_t, window_loss = time.time(), time.time(), time.time(), []
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        model.net.train()
        while time.time() - start < args.minutes * 60 and self.step < args.max_steps and self.stop_signal is None:
            batch = Batch.from_numpy(next(self.batches), args.device, self.memory_format)
            loss, stats = model.loss(batch, self.step)
            if loss.requires_grad:
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()
            stats.update(model.extra_step(batch, self.step))
            self.step += 1
            window_loss.append(loss.item())
            for tag in model.snapshot_tags(self.step):
                self.snapshot(tag)
            if self.step % args.log_every == 0:
                now = time.time()
                self.seconds += now - window_t
                rec = {"step": self.step, "images": self.step * args.batch, "minutes": round(self.seconds / 60, 2),
                       "loss": float(np.mean(window_loss)),
                       "images_per_s": round(args.log_every * args.batch / (now - window_t), 1), **stats}
                if self.step % args.eval_every == 0:
                    rec["dev"] = self.score()
                print(json.dumps(rec), flush=True)
                log.write(json.dumps(rec) + "\n")
                log.flush()
                window_t, window_loss = time.time(), []
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                self.checkpoint()
                last_ckpt = time.time()
        self.seconds += time.time() - window_t
        self.checkpoint()
        log.close()
        print(f"stopped at step {self.step}, {self.seconds / 60:.1f} min trained in total; checkpoint {self.ckpt_path}",
              flush=True)


def main(argv: list[str] | None = None) -> None:
    """`python -m exporters.train` (see the module docstring)."""
    Trainer(parse_args(argv)).run()


if __name__ == "__main__":
    main()
