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
DELIVER_TASK = "commentgate.deliver_webhook"
SWEEP_TASK = "commentgate.sweep"
PRUNE_TASK = "commentgate.prune"
QUEUE = "commentgate"


def celery_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "broker_url": settings.broker_url,
        "task_default_queue": QUEUE,
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
            "polling_interval": 0.05,
        }
    else:
        config["broker_transport_options"] = {
            # A killed worker's reserved messages come back only after this; the sweep does not
            # wait for it (their comments are re-enqueued once COMMENTGATE_PENDING_TIMEOUT has
            # passed). It must outlast the longest webhook retry delay, or a delayed message
            # would be handed out again while it waits.
            "visibility_timeout": max(3600, 2 * settings.webhook_backoff_max),
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
            "retry_on_timeout": True,
        }
    return config


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
