"""Threads that stop together, joined by small bounded queues: the runtime of the film stream
(:mod:`colorize_cli.film.stream`). The first failure, or a cancel, ends every queue wait."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any


class Stopped(Exception):
    """Raised inside a worker when another one failed or the run is being cancelled."""


class Workers:
    """Threads that stop together: the first failure (or a cancel) stops every queue wait."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def spawn(self, name: str, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` in a new thread; its exception (other than :class:`Stopped`) stops the others."""
        def run() -> None:
            try:
                fn(*args)
            except Stopped:
                pass
            except BaseException as exc:  # handed to the main thread, which re-raises it
                self.errors.append(exc)
                self.stop.set()

        t = threading.Thread(target=run, name=f"colorize-{name}", daemon=True)
        self.threads.append(t)
        t.start()

    def put(self, q: queue.Queue, item: Any) -> None:
        """Put ``item`` on ``q``, waiting while it is full; :class:`Stopped` once the run stops."""
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self, q: queue.Queue) -> Any:
        """The next item of ``q``, waiting while it is empty; :class:`Stopped` once the run stops."""
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue

    def join(self, timeout: float = 30.0) -> None:
        """Wait up to ``timeout`` seconds in all for every thread to end."""
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def raise_first(self) -> None:
        """Re-raise, in the calling thread, the first exception a worker raised."""
        if self.errors:
            raise self.errors[0]


END = object()


def pump(workers: Workers, stage: Any, inbox: queue.Queue, outbox: queue.Queue | None) -> None:
    """Run ``stage`` on every item of ``inbox`` until the end marker, passing results on."""
    while True:
        item = workers.get(inbox)
        outs = stage.close() if item is END else stage.feed(item)
        for out in outs:
            if outbox is not None:
                workers.put(outbox, out)
        if item is END:
            break
    if outbox is not None:
        workers.put(outbox, END)
