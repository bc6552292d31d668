"""The worker's two lanes: scoring with first attempts, and webhook retries, each a Celery
worker of its own.

A Celery worker has one pool for all the queues it consumes. Against an endpoint that is down
every attempt can last the whole timeout; were retries in the scoring pool, a few thousand of
them would hold it, and every site's decisions would wait (2,000 retries to one dead endpoint
once took a healthy site's decisions from 0.1 s to 9-15 s). So ``commentgate worker`` runs the
main lane (prefork processes on the scoring queue, first attempts on their delivery threads)
and starts a second Celery worker beside it for the retry queue: a pool of
``COMMENTGATE_WEBHOOK_RETRY_CONCURRENCY`` threads that prefetches one message per thread on
Redis (a delayed message is held apart until it is due) and more on the embedded broker
(`retry_prefetch`). It starts and stops with the main lane, and stops by itself if the main
lane's process is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from celery.signals import worker_init, worker_ready, worker_shutdown

from workers.celery_app import QUEUE, RETRY_QUEUE

MAIN, RETRY, BOTH = "main", "retry", "both"
# Gossip, mingle and heartbeats coordinate worker clusters through broadcast queues we do not
# use; on the embedded broker every poll of those queues costs a sleep (10x slower).
QUIET = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
STOP_TIMEOUT = 30.0
# The retry lane starts this long after the main lane: the main lane has the cores to itself
# while it loads its model, and no retry is due sooner (the schedule's first delay is 5 s).
START_DELAY = 5.0
RETRY_NICENESS = 10
# Without an event loop (the embedded broker) Celery performs the pool's acknowledgements only
# between its waits for the broker, and a wait lasts two seconds when every prefetched message
# is still unacknowledged: a lane then takes at most its prefetch every two seconds. On the
# embedded broker the retry lane holds this many messages per thread, not one.
EMBEDDED_RETRY_PREFETCH = 32


def main_argv(loglevel: str, pool: str, concurrency: int) -> list[str]:
    """The main lane: scoring and first attempts."""
    return [
        "worker",
        f"--loglevel={loglevel}",
        "-Q",
        QUEUE,
        f"--pool={pool}",
        *QUIET,
        f"--concurrency={concurrency}",
    ]


def retry_argv(loglevel: str, concurrency: int, prefetch: int = 1) -> list[str]:
    """The retry lane: threads, ``prefetch`` messages each (see `retry_prefetch`), a node name
    of its own."""
    return [
        "worker",
        f"--loglevel={loglevel}",
        "-Q",
        RETRY_QUEUE,
        "--pool=threads",
        f"--concurrency={concurrency}",
        f"--prefetch-multiplier={prefetch}",
        "--hostname=retry@%h",
        *QUIET,
    ]


def retry_prefetch(embedded_broker: bool) -> int:
    """One message per thread on Redis, where each acknowledgement is sent at once and a
    delayed message is held apart until it is due; ``EMBEDDED_RETRY_PREFETCH`` on the embedded
    broker, which would otherwise cap the lane at its thread count every two seconds."""
    return EMBEDDED_RETRY_PREFETCH if embedded_broker else 1


class RetryLane:
    """The retry lane's worker as a child of the main lane's process: started `START_DELAY`
    after the main worker is set up (its metrics folder chosen, which the child shares), stopped
    when it shuts down."""

    def __init__(self, loglevel: str, concurrency: int) -> None:
        self.loglevel = loglevel
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def attach(self) -> None:
        worker_init.connect(self.start, weak=False, dispatch_uid="commentgate.lane.start")
        worker_shutdown.connect(self.stop, weak=False, dispatch_uid="commentgate.lane.stop")

    def start(self, **_: Any) -> None:
        if self._timer is not None:
            return
        self._timer = threading.Timer(START_DELAY, self._spawn)
        self._timer.daemon = True
        self._timer.start()

    def _spawn(self) -> None:
        with self._lock:
            if self.process is not None or self._timer is None:
                return
            self.process = self._popen()

    def _popen(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "service.cli", "worker", "--lane", RETRY]
        command += [f"--loglevel={self.loglevel}", f"--retry-concurrency={self.concurrency}"]
        command.append(f"--parent-pid={os.getpid()}")
        # The main lane serves the metrics of both (they share its folder).
        env = {**os.environ, "COMMENTGATE_WORKER_METRICS_PORT": "0"}
        return subprocess.Popen(command, env=env)

    def stop(self, **_: Any) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
            process, self.process = self.process, None
        if timer is not None:
            timer.cancel()
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def yield_cpu() -> None:
    """Retries are the least urgent work of a worker: when the cores are busy, the scheduler
    serves scoring, first attempts and the API before them (``RETRY_NICENESS`` steps down)."""
    try:
        os.nice(RETRY_NICENESS)
    except OSError:  # not permitted here: run at the same priority
        pass


def stop_with_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Once the worker is ready, watch the process that started it; when that is gone, stop
    (a warm shutdown: attempts under way finish)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    def start(**_: Any) -> None:
        threading.Thread(target=watch, name="lane-parent", daemon=True).start()

    worker_ready.connect(start, weak=False, dispatch_uid="commentgate.lane.parent")
