"""The ``commentgate`` command: one click group; each module of this package holds a subcommand."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
from rich.console import Console

from service.config import Settings

err = Console(stderr=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="commentgate")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """CommentGate: self-hosted comment moderation with spam and toxicity detection.

    Settings come from COMMENTGATE_* environment variables (see the README); by default
    everything lives under ./var with SQLite and an embedded broker.
    """
    ctx.obj = Settings.from_env()


@cli.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_obj
def db_upgrade(settings: Settings, revision: str) -> None:
    """Apply schema migrations (safe to run on every deploy)."""
    from service.db import make_engine
    from service.migrate import upgrade
    from service.startup import secure_home

    upgrade(make_engine(settings.database_url), revision, identifier_key=settings.identifier_key)
    secure_home(settings, err)
    err.print(f"[green]Database at {revision}.[/green]")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", "processes", default=2, show_default=True, help="Gunicorn processes.")
@click.option("--threads", default=4, show_default=True, help="Threads per process (gthread).")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, processes: int, threads: int) -> None:
    """Run the HTTP API alone under gunicorn (the production server)."""
    from service.server import run_gunicorn
    from service.startup import ensure_model, secure_home

    secure_home(settings, err)
    ensure_model(settings, err)
    run_gunicorn(settings, host=host, port=port, processes=processes, threads=threads)


@cli.command()
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes.")
@click.option("--beat/--no-beat", default=False, hidden=True, help="No longer needed; ignored.")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--pool", default="prefork", show_default=True)
@click.option(
    "--lane",
    type=click.Choice(["both", "main", "retry"]),
    default="both",
    show_default=True,
    help="main: scoring and first attempts; retry: webhook retries (threads); both: main, and "
    "a retry worker beside it.",
)
@click.option(
    "--retry-concurrency",
    type=int,
    default=None,
    help="Threads of the retry lane [default: COMMENTGATE_WEBHOOK_RETRY_CONCURRENCY].",
)
@click.option("--parent-pid", type=int, default=None, hidden=True)
@click.pass_obj
def worker(
    settings: Settings,
    concurrency: int | None,
    beat: bool,
    loglevel: str,
    pool: str,
    lane: str,
    retry_concurrency: int | None,
    parent_pid: int | None,
) -> None:
    """Run a Celery worker that scores comments and delivers webhooks, and (unless --lane says
    otherwise) a second one beside it for webhook retries, so an endpoint that is down never
    holds back scoring and first attempts. Each worker also schedules the sweep that recovers
    lost messages (one worker at a time does it), so no separate scheduler process is needed."""
    from service.startup import ensure_model, secure_home, warn_retired_settings
    from workers import lanes
    from workers.celery_app import create_celery

    secure_home(settings, err)
    app = create_celery(settings)
    threads = retry_concurrency or settings.webhook_retry_concurrency
    if lane == lanes.RETRY:
        lanes.yield_cpu()
        if parent_pid:
            lanes.stop_with_parent(parent_pid)
        prefetch = lanes.retry_prefetch(settings.is_embedded_broker)
        app.worker_main(lanes.retry_argv(loglevel, threads, prefetch))
        return
    ensure_model(settings, err)
    warn_retired_settings(settings, err)
    if beat:
        err.print("[yellow]--beat is no longer needed: every worker schedules the sweep.[/]")
    if lane == lanes.BOTH:
        lanes.RetryLane(loglevel, threads).attach()
    processes = concurrency or settings.worker_concurrency
    app.worker_main(lanes.main_argv(loglevel, pool, processes))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", "worker_count", default=1, show_default=True, help="Celery workers.")
@click.pass_obj
def run(settings: Settings, host: str, port: int, worker_count: int) -> None:
    """The whole service on one machine: migrate, activate the shipped model if none is
    active, start the API and the worker(s)."""
    from service.db import make_engine
    from service.migrate import upgrade
    from service.startup import ensure_model, secure_home

    env = dict(os.environ)
    env.setdefault("COMMENTGATE_WEBHOOK_ALLOW_PRIVATE", "true")
    env.setdefault("COMMENTGATE_SECURE_COOKIES", "false")  # plain http on this machine
    settings = Settings.from_env(env)
    upgrade(make_engine(settings.database_url), identifier_key=settings.identifier_key)
    secure_home(settings, err)
    ensure_model(settings, err)
    command = [sys.executable, "-m", "service.cli"]
    children = [
        subprocess.Popen([*command, "serve", "--host", host, "--port", str(port)], env=env),
    ]
    for _ in range(worker_count):
        children.append(subprocess.Popen([*command, "worker"], env=env))
    err.print(f"[bold green]CommentGate running[/] on http://{host}:{port}  (Ctrl-C stops)")
    _supervise(children)


def _supervise(children: list[subprocess.Popen]) -> None:
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
    if failed and not stopping:
        raise SystemExit(1)


def _register_commands() -> None:
    """The group only gathers the subcommands: the service's from this package, the
    classifier's from ``classifier``."""
    from classifier.cli import evaluate_command, models, score_command, train_command
    from classifier.corpora_cli import data
    from service.cli.feedback import feedback
    from service.cli.moderators import moderators
    from service.cli.privacy import purge
    from service.cli.site_report import sites_report
    from service.cli.sites import sites
    from service.cli.webhooks import webhooks

    sites.add_command(sites_report)
    for command in (sites, moderators, webhooks, feedback, purge):
        cli.add_command(command)
    for command in (train_command, evaluate_command, models, score_command, data):
        cli.add_command(command)


_register_commands()


def main() -> None:
    cli(prog_name="commentgate")
