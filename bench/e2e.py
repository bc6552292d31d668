"""Time from POST /v1/comments to the signed webhook received, at fixed offered rates.

    .venv/bin/python -m bench.e2e                       # both back ends, rates 20,100,200,400
    .venv/bin/python -m bench.e2e --backend embedded --rates 20 --count 200
    .venv/bin/python -m bench.e2e --rates 50,100,200 --concurrency 1,2,4 --model-dir DIR
    .venv/bin/python -m bench.e2e --backend postgres-redis --rates 200 --profile
    .venv/bin/python -m bench.e2e --backend postgres-redis --rates 100,200 --sets 1,2
    .venv/bin/python -m bench.e2e --backend both --rates 100,200 --census

Runs a real installation (gunicorn API, Celery workers with beat, a webhook receiver process) per
back end and worker count; an open-loop load generator sends each comment at its scheduled time,
so a slow system shows up as latency rather than as a slower sender. ``--sets 2`` starts two
API and worker sets (as two nodes would run them) against the same databases, and sends each
set every other comment. Prints one row per rate:
p50/p99 latency, achieved throughput and the deepest pending backlog seen; the first rate whose
throughput falls below 90% of the offered rate is the saturation point. ``--census`` adds the
CPU each part of the system used per comment delivered at each rate.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import requests

from bench.harness import BACKENDS, chosen_backends, create_site, installation, machine, percentile
from bench.profiling import cpu_seconds, descendants, processes_named, record, summarize


def offer(inst, rate: float, count: int, prefix: str) -> tuple[dict[str, float], float]:
    """Send ``count`` comments at ``rate``/s; returns comment id → send time, and the send span."""
    sent: dict[str, float] = {}
    lock = threading.Lock()
    local = threading.local()
    headers = {"Authorization": f"Bearer {inst.site['api_key']}"}
    urls = [f"{base}/v1/comments" for base in inst.base_urls or [inst.base_url]]
    start = time.time() + 0.2

    def send(i: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        due = start + i / rate
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        t0 = time.time()
        body = {"external_id": f"{prefix}-{i}", "content": f"Thoughtful comment number {i}."}
        url = urls[i % len(urls)]  # several API sets take turns, as behind a load balancer
        response = session.post(url, json=body, headers=headers, timeout=30)
        if response.status_code == 202:
            with lock:
                sent[response.json()["id"]] = t0

    with ThreadPoolExecutor(max_workers=min(64, max(8, int(rate // 4)))) as pool:
        list(pool.map(send, range(count)))
    return sent, time.time() - start


def measure(inst, rate: float, count: int, prefix: str, drain_timeout: float) -> dict:
    depth = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                depth[0] = max(depth[0], inst.pending())
            except requests.RequestException:
                pass
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent, span = offer(inst, rate, count, prefix)
    deadline = time.time() + drain_timeout
    while time.time() < deadline:
        delivered = inst.delivered()
        if all(comment_id in delivered for comment_id in sent):
            break
        time.sleep(0.2)
    stop.set()
    delivered = inst.delivered()
    latencies = [(delivered[c] - t) * 1000 for c, t in sent.items() if c in delivered]
    finished = max((delivered[c] for c in sent if c in delivered), default=time.time())
    first = min(sent.values(), default=time.time())
    return {
        "rate": rate,
        "sent": len(sent),
        "delivered": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "throughput": len(latencies) / max(1e-9, finished - first),
        "send_span": span,
        "max_pending": depth[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument(
        "--rates", default="20,100,200,400", help="offered comments/s, comma-separated"
    )
    parser.add_argument(
        "--count", type=int, default=0, help="comments per rate (default: 4 s worth, ≥200)"
    )
    parser.add_argument("--concurrency", default="2", help="worker processes, e.g. 2,4")
    parser.add_argument(
        "--sets", default="1", help="API and worker sets on the same databases, e.g. 1,2"
    )
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="registry with an active model"
    )
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument(
        "--census",
        action="store_true",
        help="CPU each part of the system used per comment delivered, at each rate",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy on the worker and API processes during the highest rate",
    )
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    rates = [float(r) for r in args.rates.split(",")]
    print(f"# e2e latency, {date.today()}, {machine()}")
    print(
        "| back end | sets | worker procs | offered/s | sent | delivered | p50 ms | p99 ms "
        "| achieved/s | max pending |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    profiles: list[list[str]] = []
    censuses: list[str] = []
    layouts = [
        (int(sets), int(concurrency))
        for sets in args.sets.split(",")
        for concurrency in args.concurrency.split(",")
    ]
    for backend in backends:
        for sets, concurrency in layouts:
            with installation(backend, args.model_dir) as inst:
                inst.start_receiver()
                create_site(inst)
                for _ in range(sets):
                    inst.start_api()
                    inst.start_worker(concurrency=concurrency)
                measure(inst, 20, 20, "warmup", 30)
                saturated = None
                for index, rate in enumerate(rates):
                    count = args.count or max(200, int(rate * 4))
                    spy = None
                    if args.profile and index == len(rates) - 1:
                        layout = f"{sets} sets of {concurrency} worker procs"
                        spy = Profiled(inst, f"{backend}, {layout}, {rate:.0f}/s")
                    groups = census_groups(inst)
                    before = cpu_by_group(groups) if args.census else {}
                    row = measure(inst, rate, count, f"r{index}", args.drain_timeout)
                    if args.census:
                        censuses.append(census_line(backend, sets, rate, row, groups, before))
                    if spy is not None:
                        profiles.append(spy.summary())
                    if saturated is None and row["throughput"] < 0.9 * rate:
                        saturated = rate
                    print(
                        f"| {backend} | {sets} | {concurrency} | {rate:.0f} | {row['sent']} "
                        f"| {row['delivered']} "
                        f"| {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['throughput']:.0f} "
                        f"| {row['max_pending']} |",
                        flush=True,
                    )
                    _drain(inst)
                print(
                    f"<!-- {backend}, {sets} sets of {concurrency} worker procs: saturation at "
                    f"{saturated or 'none of the offered rates'} -->",
                    flush=True,
                )
    if censuses:
        names = list(census_groups(None))
        print("\nCPU ms per comment delivered, from the first send until drained:")
        print("| back end | sets | offered/s | " + " | ".join(names) + " | total |")
        print("| --- | --- | --- | " + " | ".join("---" for _ in names) + " | --- |")
        print("\n".join(censuses))
    for lines in profiles:
        print("\n".join(lines))


def census_groups(inst) -> dict[str, Callable[[], list[int]]]:
    """Each part of the system and how to find its processes (listed again at the end of a
    measurement: connections opened under load are new processes)."""

    def below(name: str) -> Callable[[], list[int]]:
        return lambda: [pid for p in inst.named(name) for pid in descendants(p.pid)]

    return {
        "workers": below("worker"),
        "API": below("api"),
        "webhook receiver": below("receiver"),
        "PostgreSQL": lambda: processes_named("postgres:"),
        "Redis": lambda: processes_named("redis-server"),
        "load generator": lambda: [os.getpid()],
    }


def cpu_by_group(groups: dict[str, Callable[[], list[int]]]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for find in groups.values() for pid in find()}


def census_line(
    backend: str,
    sets: int,
    rate: float,
    row: dict,
    groups: dict[str, Callable[[], list[int]]],
    before: dict[int, float],
) -> str:
    delivered = max(1, row["delivered"])
    cells = []
    total = 0.0
    for find in groups.values():
        used = sum(cpu_seconds(pid) - before.get(pid, 0.0) for pid in find())
        total += used
        cells.append(f"{1000 * used / delivered:.1f}")
    return (
        f"| {backend} | {sets} | {rate:.0f} | "
        + " | ".join(cells)
        + f" | {1000 * total / delivered:.1f} |"
    )


class Profiled:
    """From 1 s into a rate: the CPU each part of the system used over 3 s (the machine's cores
    are shared by all of them), then py-spy on the worker and API processes for 6 s."""

    def __init__(self, inst, title: str) -> None:
        self.title = title
        self.groups = {
            "workers": [pid for p in inst.named("worker") for pid in descendants(p.pid)],
            "API": [pid for p in inst.named("api") for pid in descendants(p.pid)],
        }
        self.census = census_groups(inst)
        self.files: dict[str, list] = {}
        self.cpu: dict[str, float] = {}
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        time.sleep(1)
        # The CPU census first, without py-spy (whose sampling costs CPU of its own).
        before = {pid: cpu_seconds(pid) for find in self.census.values() for pid in find()}
        started = time.time()
        time.sleep(3)
        wall = time.time() - started
        for name, find in self.census.items():
            used = sum(cpu_seconds(pid) - before.get(pid, 0.0) for pid in find())
            self.cpu[name] = used / (wall * (os.cpu_count() or 1))
        pids = [pid for group in self.groups.values() for pid in group]
        files = {f.stem: f for f in record(pids, 6)}
        for group, members in self.groups.items():
            self.files[group] = [files[str(pid)] for pid in members if str(pid) in files]

    def summary(self) -> list[str]:
        self.thread.join()
        lines = [f"\nCPU used over 3 s, share of all cores ({self.title}):"]
        lines += [f"  {100 * share:5.1f}%  {name}" for name, share in self.cpu.items()]
        for group, files in self.files.items():
            lines += summarize(files, f"e2e profile, {self.title}: {group}")
        return lines


def _drain(inst) -> None:
    deadline = time.time() + 60
    while time.time() < deadline and inst.pending() > 0:
        time.sleep(0.5)


if __name__ == "__main__":
    main()
