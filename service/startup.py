"""What the service does before it starts: make sure a model is active."""

from __future__ import annotations

from rich.console import Console

from classifier import Registry
from classifier.shipped import SHIPPED_MODEL, shipped_version
from service.config import Settings


def ensure_model(settings: Settings, console: Console) -> str:
    """Install and activate the model shipped with the package when no model is active: a new
    installation scores well from the first comment, with no data and no training."""
    registry = Registry(settings.model_dir)
    active = registry.active_version()
    if active:
        return active
    if shipped_version() is None:
        raise SystemExit(
            f"No active model in {settings.model_dir}, and this installation carries no shipped "
            "model: train one with `commentgate train --data PATH --activate`."
        )
    version = registry.promote_if_none(registry.install(SHIPPED_MODEL))
    console.print(f"[bold]Activated the shipped model {version}[/] in {settings.model_dir}.")
    return version
