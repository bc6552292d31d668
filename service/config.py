"""The one place that reads the environment.

Every process (API, worker, CLI) builds a :class:`Settings` from ``COMMENTGATE_*`` variables and
passes it down, so there is exactly one configuration path for Flask and Celery alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.retry_schedule import DEFAULT_SCHEDULE, RetrySchedule, parse_duration
from service.security import identifier_key

PREFIX = "COMMENTGATE_"
DEFAULT_RATE_LIMITS = "600/minute;20/second"
# Akismet's endpoints per key: a platform's "Check for Spam" re-checks its whole pending queue
# back to back (WordPress: one request per comment, as fast as they are answered).
DEFAULT_COMPAT_RATE_LIMITS = "6000/minute;100/second"
# Seconds an idle keep-alive connection stays open: above what clients keep theirs idle (Node's
# agents a few seconds), like common load balancers (60-75 s), so the client always closes first.
DEFAULT_KEEPALIVE = 75
# A day of failing disables a site's webhooks: less than the default schedule's span (27.6 h,
# 24.8 h at the least with jitter), so an endpoint down for good is disabled before its oldest
# event runs out of attempts, and its events are kept rather than marked failed.
DEFAULT_DISABLE_AFTER = "1d"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _read_dotenv(path: Path) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines of a ``.env`` file; the process environment wins over it."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with defaults that need no server."""

    home: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""
    model_dir: Path = Path("var/models")
    training_data: Path = Path("training_data")
    webhook_allow_private: bool = False
    rate_limits: str = DEFAULT_RATE_LIMITS
    compat_rate_limits: str = DEFAULT_COMPAT_RATE_LIMITS
    rate_limit_storage_url: str = ""
    secret_key: str = ""
    max_body_bytes: int = 64 * 1024
    pending_timeout: float = 30.0
    sweep_interval: float = 10.0
    webhook_timeout: float = 5.0
    webhook_retry_schedule: RetrySchedule = RetrySchedule.parse(DEFAULT_SCHEDULE)
    webhook_disable_after: float = parse_duration(DEFAULT_DISABLE_AFTER)
    webhook_retry_concurrency: int = 16
    model_check_interval: float = 2.0
    worker_concurrency: int = 2
    store_pii_hashed: bool = False
    secure_cookies: bool = True
    trusted_proxies: int = 0
    log_level: str = "INFO"
    keepalive: int = DEFAULT_KEEPALIVE
    metrics_token: str = field(default="", repr=False)
    worker_metrics_port: int = 0
    worker_metrics_host: str = "127.0.0.1"
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def identifier_key(self) -> bytes:
        """The key of the stored author hashes (``service.security.hash_identifier``)."""
        return identifier_key(self.secret_key)

    @property
    def is_embedded_broker(self) -> bool:
        return self.broker_url.startswith("filesystem://")

    @property
    def broker_folder(self) -> Path:
        return self.home / "broker"

    @property
    def metrics_folder(self) -> Path:
        """Where the API's and workers' processes on this machine keep their metric files."""
        return self.home / "metrics"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``COMMENTGATE_*`` variables (and a ``.env`` file, if present); a
        variable not set keeps the field's default above."""
        env = dict(_read_dotenv(Path(".env")))
        env.update(os.environ if environ is None else environ)
        defaults = cls()

        def get(name: str, default: str = "") -> str:
            return env.get(PREFIX + name, default)

        def read(name: str, parse: Callable[[str], Any] = str) -> Any:
            key = PREFIX + name
            return parse(env[key]) if key in env else getattr(defaults, name.lower())

        home = Path(get("HOME", "var")).expanduser()
        database_url = get("DATABASE_URL") or f"sqlite:///{(home / 'commentgate.db').resolve()}"
        broker_url = get("BROKER_URL") or "filesystem://"
        return cls(
            home=home,
            database_url=database_url,
            broker_url=broker_url,
            model_dir=Path(get("MODEL_DIR") or home / "models").expanduser(),
            training_data=read("TRAINING_DATA", lambda value: Path(value).expanduser()),
            webhook_allow_private=read("WEBHOOK_ALLOW_PRIVATE", _bool),
            rate_limits=read("RATE_LIMITS"),
            compat_rate_limits=read("COMPAT_RATE_LIMITS"),
            rate_limit_storage_url=get("RATE_LIMIT_STORAGE_URL")
            or (broker_url if broker_url.startswith("redis") else "memory://"),
            secret_key=get("SECRET_KEY") or _home_secret(home),
            max_body_bytes=read("MAX_BODY_BYTES", int),
            pending_timeout=read("PENDING_TIMEOUT", float),
            sweep_interval=read("SWEEP_INTERVAL", float),
            webhook_timeout=read("WEBHOOK_TIMEOUT", float),
            webhook_retry_schedule=read("WEBHOOK_RETRY_SCHEDULE", RetrySchedule.parse),
            webhook_disable_after=read("WEBHOOK_DISABLE_AFTER", parse_duration),
            webhook_retry_concurrency=read("WEBHOOK_RETRY_CONCURRENCY", int),
            model_check_interval=read("MODEL_CHECK_INTERVAL", float),
            worker_concurrency=read("WORKER_CONCURRENCY", int),
            store_pii_hashed=read("STORE_PII_HASHED", _bool),
            secure_cookies=read("SECURE_COOKIES", _bool),
            trusted_proxies=read("TRUSTED_PROXIES", int),
            log_level=read("LOG_LEVEL"),
            keepalive=read("KEEPALIVE", int),
            metrics_token=read("METRICS_TOKEN", str.strip),
            worker_metrics_port=int(get("WORKER_METRICS_PORT") or "0"),
            worker_metrics_host=read("WORKER_METRICS_HOST"),
            extra={k[len(PREFIX) :]: v for k, v in env.items() if k.startswith(PREFIX)},
        )


def _home_secret(home: Path) -> str:
    """A per-installation secret for session cookies, created once under ``home``."""
    import secrets

    path = home / "secret_key"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:  # readable by this user only: with it anyone could sign a moderator's session
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()
