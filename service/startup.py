"""What the service does before it starts: a private home, and an active model."""

from __future__ import annotations

import stat
from pathlib import Path

from rich.console import Console

from classifier import Registry, RegistryError
from classifier.model import code_version_mismatch
from classifier.shipped import SHIPPED_MODEL, shipped_version
from service.config import Settings


def ensure_model(settings: Settings, console: Console) -> str:
    """Install and activate the model shipped with the package when no model is active: a new
    installation scores well from the first comment, with no data and no training.

    After an upgrade whose text normalizer or featurizer differs, the active model cannot run
    (its weights belong to features this code fills differently): the shipped model, built by
    this release, takes its place rather than leaving every comment unscored, and the operator
    is told how to rebuild a model of their own."""
    registry = Registry(settings.model_dir)
    active = registry.active_version()
    refused = _refused(registry, active) if active else None
    if active and refused is None:
        return active
    if shipped_version() is None:
        raise SystemExit(
            f"{refused}: train a model with `commentgate train --data PATH --activate`."
            if refused
            else f"No active model in {settings.model_dir}, and this installation carries no "
            "shipped model: train one with `commentgate train --data PATH --activate`."
        )
    version = registry.promote_instead_of(registry.install(SHIPPED_MODEL), active)
    if refused is None:
        console.print(f"[bold]Activated the shipped model {version}[/] in {settings.model_dir}.")
    else:
        console.print(
            f"[yellow]warning:[/] {refused}. [bold]Activated the shipped model {version}[/] "
            f"instead; {active} stays in {settings.model_dir}. To build on a site's own labels "
            "again, run `commentgate train` (it starts from the active model).",
            soft_wrap=True,
        )
    return version


def _refused(registry: Registry, version: str) -> str | None:
    """Why this code refuses the model `version`, or None when it can run it (or when it is
    missing: loading it says so)."""
    try:
        return code_version_mismatch(registry.show(version))
    except RegistryError:
        return None


RETIRED_SETTINGS = {
    "WEBHOOK_MAX_ATTEMPTS": "WEBHOOK_RETRY_SCHEDULE",
    "WEBHOOK_BACKOFF_BASE": "WEBHOOK_RETRY_SCHEDULE",
    "WEBHOOK_BACKOFF_MAX": "WEBHOOK_RETRY_SCHEDULE",
}


def warn_retired_settings(settings: Settings, console: Console) -> list[str]:
    """Settings that no longer do anything, and what replaced them: an operator who set them
    learns it at start rather than from a retry schedule other than the one intended."""
    retired = sorted(name for name in RETIRED_SETTINGS if name in settings.extra)
    for name in retired:
        console.print(
            f"[yellow]warning:[/] COMMENTGATE_{name} is no longer read; set "
            f"COMMENTGATE_{RETIRED_SETTINGS[name]} instead (see the README).",
            soft_wrap=True,
        )
    return retired


_PRIVATE_FILES = ("secret_key", "commentgate.db", "commentgate.db-wal", "commentgate.db-shm")


def secure_home(settings: Settings, console: Console) -> list[Path]:
    """Make the home folder and its secrets (the session key, the SQLite database) this user's
    only, saying which ones other local users could read; returns those."""
    fixed = []
    wanted = [(settings.home, 0o700), *((settings.home / n, 0o600) for n in _PRIVATE_FILES)]
    for path, mode in wanted:
        try:
            current = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if current & 0o077:
            path.chmod(mode)
            fixed.append(path)
            console.print(
                f"[yellow]warning:[/] {path} was readable by other users "
                f"({current:o}); now {mode:o}.",
                soft_wrap=True,
            )
    return fixed
