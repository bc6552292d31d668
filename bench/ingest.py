"""POST /v1/comments throughput and latency against a bare-Flask ceiling, in one run.

    .venv/bin/python -m bench.ingest                      # both back ends
    .venv/bin/python -m bench.ingest --backend postgres-redis --duration 10
    .venv/bin/python -m bench.ingest --backend postgres-redis --configs 4x1 --profile

The load generator is wrk (Debian package ``wrk``) in its own process, with a Lua script that
gives every request a unique external_id. The ceiling is a Flask app with one route returning a
constant 202 JSON, served by the same gunicorn configuration (gthread workers, as
``commentgate serve`` runs them; with one thread, gunicorn's sync worker too, for reference).
The run starts once every API worker has loaded its model. Every comment the real endpoint
accepts is committed to the database before the 202, and its id handed to the process's
publisher, which sends the ids of concurrent requests as one message a couple of milliseconds
later.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import date
from pathlib import Path

from bench.harness import (
    BACKENDS,
    chosen_backends,
    free_port,
    installation,
    machine,
    stop,
    wait_until,
)
from bench.profiling import cpu_seconds, descendants, processes_named, record, summarize

CEILING_APP = textwrap.dedent(
    """
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    @app.post("/v1/comments")
    def accept():
        request.get_json()
        return jsonify({"id": "0", "external_id": "x", "status": "pending"}), 202
    """
)

WRK_SCRIPT = textwrap.dedent(
    """
    local counter = 0
    local prefix = ""
    local created, existing, other = 0, 0, 0
    function init(args)
      -- every thread has its own Lua state: the address of a fresh table tells them apart
      prefix = string.gsub(tostring({}), "table: ", "")
    end
    function request()
      counter = counter + 1
      local body = '{"external_id":"' .. RUN .. '-' .. prefix .. '-' .. counter ..
        '","content":"A thoughtful comment about the post, with nothing to hide.",' ..
        '"post":{"id":"p1","url":"https://blog.example/p1"},' ..
        '"author":{"name":"Reader","email":"reader@example.org","ip":"203.0.113.9"}}'
      return wrk.format("POST", "/v1/comments", {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. KEY,
        ["Connection"] = CONNECTION,
      }, body)
    end
    """
)


def run_wrk(
    url: str, key: str, run: str, duration: int, connections: int, close: bool = False
) -> dict:
    """wrk against ``url``, its connections kept alive (as a proxy in front of the API keeps
    them): each stays with the gunicorn process that accepted it, so how they happened to be
    spread moves the figure too. With ``close`` every request opens its own connection, as a
    platform's server sends one comment per page request, and a process takes one whenever it
    is free."""
    folder = Path(tempfile.mkdtemp(prefix="cg-wrk-"))
    script = folder / "post.lua"
    connection = "close" if close else "keep-alive"
    script.write_text(f'KEY = "{key}"\nRUN = "{run}"\nCONNECTION = "{connection}"\n' + WRK_SCRIPT)
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict:
    def ms(text: str) -> float:
        value = float(re.match(r"[\d.]+", text).group())
        return (
            value / 1000
            if text.endswith("us")
            else value * 1000
            if text.endswith("s") and not text.endswith("ms")
            else value
        )

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    distribution = output.split("Latency Distribution", 1)[1]
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", distribution, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", distribution, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def gunicorn_args(config: str, worker_class: str = "gthread") -> list[str]:
    """``PROCESSESxTHREADS`` as gunicorn options. ``commentgate serve`` always runs gthread
    workers (keep-alive), so that is the ceiling's default; ``sync`` is the faster worker
    gunicorn would pick for one thread, measured beside it for reference."""
    processes, _, threads = config.partition("x")
    args = ["--workers", processes, "--worker-class", worker_class]
    if worker_class == "gthread":
        args += ["--threads", threads or "1"]
    return args


def serve_ceiling(config: str, worker_class: str) -> tuple[subprocess.Popen, str]:
    folder = Path(tempfile.mkdtemp(prefix="cg-ceiling-"))
    (folder / "ceiling.py").write_text(CEILING_APP)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--chdir",
            str(folder),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *gunicorn_args(config, worker_class),
            "ceiling:app",
        ],
        start_new_session=True,
    )
    wait_until(lambda: _up(port), 20)
    return process, f"http://127.0.0.1:{port}"


def _up(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def count_committed(inst) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(
        inst.env.get("COMMENTGATE_DATABASE_URL") or f"sqlite:///{inst.home / 'commentgate.db'}"
    )
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM comments")).scalar()
    engine.dispose()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--configs", default="2x4,4x1", help="gunicorn PROCESSESxTHREADS configs")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument(
        "--gil",
        action="store_true",
        help="with --profile: sample only threads holding the interpreter (CPU, not waits)",
    )
    parser.add_argument(
        "--census",
        action="store_true",
        help="after each CommentGate run, CPU per request of the API, PostgreSQL, Redis and wrk",
    )
    parser.add_argument(
        "--close",
        action="store_true",
        help="a connection per request, as platforms send (the default keeps them alive)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after each CommentGate run, a second wrk run with py-spy on the API processes",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    configs = args.configs.split(",")
    connection = "a connection per request" if args.close else "keep-alive"
    print(
        f"# ingest, {date.today()}, {machine()}, "
        f"wrk -t2 -c{args.connections} -d{args.duration}s, {connection}"
    )
    ceilings: dict[tuple[str, str], dict] = {}
    for config in configs:
        kinds = ["gthread", "sync"] if config.endswith("x1") or "x" not in config else ["gthread"]
        for kind in kinds:
            process, url = serve_ceiling(config, kind)
            try:
                ceilings[config, kind] = run_wrk(
                    url, "none", "ceiling", args.duration, args.connections, args.close
                )
            finally:
                stop(process)
    best = max(row["rps"] for row in ceilings.values())
    print(
        "| server | gunicorn | req/s | p50 ms | p99 ms | ratio to the same layout "
        "| ratio to the best ceiling | non-2xx | committed |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (config, kind), row in ceilings.items():
        same = row["rps"] / ceilings[config, "gthread"]["rps"]
        print(
            f"| bare Flask ({kind}) | {config} | {row['rps']:.0f} | {row['p50']:.2f} | "
            f"{row['p99']:.2f} | {same:.2f} | {row['rps'] / best:.2f} | {row['non2xx']} | – |"
        )
    backends = chosen_backends(args.backend)
    profiles: list[list[str]] = []
    censuses: list[str] = []
    for backend in backends:
        with installation(backend, args.model_dir) as inst:
            from bench.harness import create_site

            inst.start_receiver()
            create_site(inst)
            for config in configs:
                processes, _, threads = config.partition("x")
                inst.start_api(workers=int(processes), threads=int(threads or 1))
                before = count_committed(inst)
                row = run_wrk(
                    inst.base_url,
                    inst.site["api_key"],
                    f"{backend}-{config}",
                    args.duration,
                    args.connections,
                    args.close,
                )
                committed = count_committed(inst) - before
                print(
                    f"| CommentGate {backend} | {config} | {row['rps']:.0f} | {row['p50']:.2f} | "
                    f"{row['p99']:.2f} | {row['rps'] / ceilings[config, 'gthread']['rps']:.2f} | "
                    f"{row['rps'] / best:.2f} | "
                    f"{row['non2xx']} | {committed} |",
                    flush=True,
                )
                if args.census:
                    censuses.append(census_api(inst, backend, config, args.connections, args.close))
                if args.profile:
                    profiles.append(
                        profile_api(inst, backend, config, args.connections, args.gil, args.close)
                    )
                stop(inst.processes.pop())
    if censuses:
        print("\nCPU ms per request over 8 s of another run, and the cores left idle:")
        print("| back end | gunicorn | req/s | API | PostgreSQL | Redis | wrk | idle |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        print("\n".join(censuses))
    for lines in profiles:
        print("\n".join(lines))


def profile_api(
    inst, backend: str, config: str, connections: int, gil: bool = False, close: bool = False
) -> list[str]:
    """py-spy on every API process during another wrk run (its figures are not reported)."""
    pids = descendants(inst.processes[-1].pid)
    load = threading.Thread(
        target=run_wrk,
        args=(
            inst.base_url,
            inst.site["api_key"],
            f"profile-{backend}-{config}",
            8,
            connections,
            close,
        ),
    )
    load.start()
    files = record(pids, 6, gil=gil)
    load.join()
    samples = "samples holding the interpreter" if gil else "samples"
    return summarize(files, f"ingest profile ({samples}), {backend}, gunicorn {config}")


def census_api(inst, backend: str, config: str, connections: int, close: bool = False) -> str:
    """CPU per request of each part of the system over 8 s of another wrk run, and the share
    of the cores left idle: what the API costs beside what it waits for."""
    api = descendants(inst.processes[-1].pid)
    groups = {
        "API": lambda: api,
        "PostgreSQL": lambda: processes_named("postgres:"),
        "Redis": lambda: processes_named("redis-server"),
        "wrk": lambda: processes_named("wrk "),
    }
    result: dict = {}

    def load() -> None:
        result.update(
            run_wrk(inst.base_url, inst.site["api_key"], f"census-{config}", 10, connections, close)
        )

    def spent() -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in find()) for name, find in groups.items()}

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(1.0)
    before = spent()
    idle_before, total_before = _cpu_idle()
    started = time.monotonic()
    time.sleep(8.0)
    used = {name: value - before[name] for name, value in spent().items()}
    idle_after, total_after = _cpu_idle()
    seconds = time.monotonic() - started
    thread.join()
    requests_seen = result["rps"] * seconds
    cells = " | ".join(f"{1000 * used[name] / requests_seen:.2f}" for name in groups)
    idle = 100 * (idle_after - idle_before) / max(total_after - total_before, 1)
    return f"| {backend} | {config} | {result['rps']:.0f} | {cells} | {idle:.0f}% |"


def _cpu_idle() -> tuple[float, float]:
    """The machine's idle and total CPU time so far, in clock ticks (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [float(v) for v in handle.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields)


if __name__ == "__main__":
    main()
