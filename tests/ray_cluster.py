"""A throwaway local Ray cluster for tests and benchmarks: a head (and more nodes) on
127.0.0.1, each ``ray start --block`` in a session of its own, so that stopping it ends every
process it started (Ray's workers make their own process groups but stay in the session), and
nothing else on the machine."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
# Ray runs its workers 15 nicer than the raylet by default: on a machine shared with other
# work they would lose the CPU to it, and a local run compared with them would not.
CLUSTER_ENV = {"RAY_worker_niceness": "0"}


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus: int = 2, env: dict | None = None) -> Iterator[str]:
    """Yield the address of a ``nodes``-node cluster with ``cpus`` logical CPUs per node; its
    processes get ``env`` on top of ours."""
    port = _free_port()
    full_env = {**os.environ, **ENV, **CLUSTER_ENV, **(env or {})}
    ray = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", "--node-ip-address=127.0.0.1",
           f"--num-cpus={cpus}", "--num-gpus=0", "--disable-usage-stats"]
    address = f"127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    try:
        for i in range(nodes):
            extra = ["--head", f"--port={port}", "--include-dashboard=false"] if i == 0 else [f"--address={address}"]
            procs.append(subprocess.Popen(ray + extra, env=full_env, start_new_session=True,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            _wait_nodes(address, i + 1)
        yield address
    finally:
        _stop([p.pid for p in procs])
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_nodes(address: str, n: int, timeout: float = 240.0) -> None:
    code = ("import ray,sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
            "print(sum(1 for x in ray.nodes() if x['Alive']))")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run([sys.executable, "-c", code, address], env={**os.environ, **ENV}, capture_output=True,
                           text=True)
        if r.returncode == 0 and r.stdout.strip().isdigit() and int(r.stdout.strip()) >= n:
            return
        time.sleep(1.0)
    raise RuntimeError(f"the Ray cluster at {address} did not reach {n} nodes")


def _session_pids(sids: list[int]) -> list[int]:
    """Every live process in these sessions."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # state, ppid, pgrp, session, ...
        except OSError:
            continue
        if int(fields[3]) in sids and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _stop(sids: list[int]) -> None:
    """SIGTERM, then SIGKILL, every process of these sessions (``ray start --block`` itself
    does not stop on SIGTERM)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _session_pids(sids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while _session_pids(sids) and time.monotonic() < deadline:
            time.sleep(0.2)
