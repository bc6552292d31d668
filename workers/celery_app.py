"""The worker's entry point: ``celery -A workers.celery_app worker`` (or ``commentgate worker``).

The app is created here but configured lazily, from the same :class:`~service.config.Settings`
the API uses, the first time Celery needs its configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery

from service.config import Settings

SCORE_TASK = "commentgate.score_comment"
DELIVER_TASK = "commentgate.deliver_webhook"  # a first attempt (a moderator's decision)
RETRY_TASK = "commentgate.retry_webhook"  # any later attempt, a replay, a kept event resent
SWEEP_TASK = "commentgate.sweep"
PRUNE_TASK = "commentgate.prune"
QUEUE = "commentgate"
# Retries have a queue, and a worker process, of their own (``workers.lanes``): an endpoint
# that is down holds the retry lane's threads, never the scoring or the first attempts.
RETRY_QUEUE = "commentgate.retry"
# Redis hands a message back to the queue once a worker has held it this long unacknowledged,
# a delayed one too, which a worker would then get again (and again) while it waits for its
# time: the timeout outlasts the schedule's longest wait by this margin (a backlog after it).
VISIBILITY_MARGIN = 3600.0
# How often an idle consumer of the embedded broker looks for a new message file: a message
# waits half of it on average, and each look lists the queue folder (bench/README.md has both).
EMBEDDED_POLL_SECONDS = 0.01


def celery_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "broker_url": settings.broker_url,
        "task_default_queue": QUEUE,
        "task_routes": {RETRY_TASK: {"queue": RETRY_QUEUE}},
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # celery-batches needs several batches' worth of unacknowledged messages in hand: with
        # a prefetch near flush_every, consumption stalls on every batch (8x slower here).
        "worker_prefetch_multiplier": 128,
        "worker_concurrency": settings.worker_concurrency,
        "worker_hijack_root_logger": False,
        # Without an event loop (the embedded broker) timers run on a thread: this one wakes
        # when a batch's flush is scheduled instead of at its next one-second tick.
        "worker_timer": "workers.timer:PromptTimer",
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2.0,
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        # Every worker schedules these itself (``workers.housekeeping``); the schedule is kept
        # for a ``celery beat`` left running by an older deployment (the leases make it harmless).
        "beat_schedule": {
            "sweep": {"task": SWEEP_TASK, "schedule": settings.sweep_interval},
            "prune": {"task": PRUNE_TASK, "schedule": 3600.0},
        },
        "beat_schedule_filename": str(settings.home / "celerybeat-schedule"),
    }
    if settings.is_embedded_broker:
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        config["broker_transport"] = "workers.filesystem_transport:Transport"
        config["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            "polling_interval": EMBEDDED_POLL_SECONDS,
        }
    else:
        config["broker_transport_options"] = {
            "visibility_timeout": visibility_timeout(settings),
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
            "retry_on_timeout": True,
        }
    return config


def visibility_timeout(settings: Settings) -> int:
    return int(settings.webhook_retry_schedule.longest + VISIBILITY_MARGIN)


def create_celery(settings: Settings | Callable[[], Settings] | None = None) -> Celery:
    """A Celery app bound to ``settings`` (read from the environment when first needed)."""
    factory: Callable[[], Settings]
    if settings is None:
        factory = Settings.from_env
    elif isinstance(settings, Settings):
        factory = lambda: settings  # noqa: E731
    else:
        factory = settings
    app = Celery("commentgate", include=["workers.tasks"])
    resolved: dict[str, Settings] = {}

    def get_settings() -> Settings:
        if "settings" not in resolved:
            resolved["settings"] = factory()
        return resolved["settings"]

    app.add_defaults(lambda: celery_config(get_settings()))
    app.commentgate_settings = get_settings  # type: ignore[attr-defined]
    from workers.housekeeping import Housekeeping
    from workers.metrics import connect_signals

    app.steps["consumer"].add(Housekeeping)
    connect_signals()
    return app


app = create_celery()
