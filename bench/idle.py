"""What an installation costs while no comment arrives: the CPU of its processes at rest.

    .venv/bin/python -m bench.idle                       # both back ends, 20 s each
    .venv/bin/python -m bench.idle --backend embedded --seconds 60

One installation per back end: gunicorn API (2x4) and `commentgate worker` (2 processes, its
retry lane beside it). After they have started and settled, the CPU each part used over
--seconds, as a share of one core: the workers' polling of the broker, their timers and sweeps,
the API's model check.
"""

from __future__ import annotations

import time
from datetime import date

from bench.harness import backend_parser, chosen_backends, installation, machine
from bench.profiling import cpu_seconds, descendants

SETTLE_SECONDS = 10.0  # the retry lane starts 5 s after the main lane


def measure(backend: str, seconds: float) -> dict[str, float]:
    with installation(backend) as inst:
        inst.start_api()
        inst.start_worker()
        time.sleep(SETTLE_SECONDS)
        parts = {
            name: [pid for p in inst.named(name) for pid in descendants(p.pid)]
            for name in ("worker", "api")
        }
        before = {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in parts.items()}
        time.sleep(seconds)
        return {
            name: 100 * (sum(cpu_seconds(pid) for pid in pids) - before[name]) / seconds
            for name, pids in parts.items()
        }


def main() -> None:
    parser = backend_parser(__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(f"# idle, {date.today()}, {machine()}, {args.seconds:.0f} s with no traffic")
    print("| back end | workers, % of a core | API, % of a core |")
    print("| --- | ---: | ---: |")
    for backend in chosen_backends(args.backend):
        used = measure(backend, args.seconds)
        print(f"| {backend} | {used['worker']:.2f} | {used['api']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
