"""How fast the retry lane catches up once an endpoint that was down answers again.

    .venv/bin/python -m bench.retry_drain                          # both back ends, 400 events
    .venv/bin/python -m bench.retry_drain --backend embedded --count 1000

One installation per back end: gunicorn API, `commentgate worker` (its main lane and its retry
lane). The site's endpoint refuses connections while --count comments are sent, so every first
attempt fails and each event waits in the retry lane for its first retry (5 s, a delayed
message). The receiver starts on the endpoint's port before those retries are due. Then
`commentgate webhooks replay --since 1h` sends every event again, as immediate messages. Prints,
for each, how long the retry lane took from the first event received to the last, and the rate:
the lane's pace when a backlog is due at once.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import requests

from bench.harness import (
    backend_parser,
    chosen_backends,
    create_site,
    free_port,
    installation,
    machine,
    wait_until,
)


def send(base_url: str, key: str, count: int) -> list[str]:
    """Post ``count`` comments; the ids the API gave them."""
    run = uuid.uuid4().hex[:8]

    def post(index: int) -> str:
        response = requests.post(
            f"{base_url}/v1/comments",
            json={"external_id": f"{run}-{index}", "content": f"Thanks for the post, {index}."},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["id"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(post, range(count)))


def measure(backend: str, count: int) -> dict:
    with installation(backend) as inst:
        inst.receiver_port = free_port()  # nothing listens there yet: attempts are refused
        create_site(inst)
        inst.start_api()
        inst.start_worker()
        started = time.time()
        ids = send(inst.base_url, inst.site["api_key"], count)
        sent = time.time() - started
        inst.start_receiver(port=inst.receiver_port)
        wait_until(lambda: len(inst.delivered()) >= len(ids), timeout=600, interval=0.5)
        retried = _pace(sorted(inst.delivered()[i] for i in ids))
        replay_from = time.time()
        inst.run("webhooks", "replay", "--since", "1h", "--json")
        wait_until(lambda: len(_received_since(inst, replay_from)) >= len(ids), 600, 0.5)
        replayed = _pace(sorted(_received_since(inst, replay_from)))
        return {"sent_s": sent, "retried": retried, "replayed": replayed}


def _pace(times: list[float]) -> tuple[float, float]:
    """(seconds from the first to the last, events a second)."""
    took = times[-1] - times[0]
    return took, (len(times) - 1) / took if took else 0.0


def _received_since(inst, since: float) -> list[float]:
    """When the receiver answered 200 to each POST since ``since``."""
    assert inst.receiver_log is not None
    times = []
    for line in inst.receiver_log.read_text().splitlines():
        record = json.loads(line)
        if record["status"] == 200 and record["received_at"] >= since:
            times.append(record["received_at"])
    return times


def main() -> None:
    parser = backend_parser(__doc__)
    parser.add_argument("--count", type=int, default=400)
    args = parser.parse_args()
    print(f"# retry drain, {date.today()}, {machine()}, {args.count} events due at once")
    print(
        "| back end | events | sent in s | retried in s | retries/s | replayed in s | replays/s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend in chosen_backends(args.backend):
        row = measure(backend, args.count)
        (retried_s, retry_rate), (replayed_s, replay_rate) = row["retried"], row["replayed"]
        print(
            f"| {backend} | {args.count} | {row['sent_s']:.1f} | {retried_s:.1f} "
            f"| {retry_rate:.0f} | {replayed_s:.1f} | {replay_rate:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
