"""What ``commentgate run`` does before it starts: make sure a model is active."""

from __future__ import annotations

import subprocess
import sys

from rich.console import Console

from classifier import Registry
from service.config import Settings


def ensure_model(settings: Settings, console: Console) -> str:
    """Train and activate a default model from the project's training data if none is active."""
    registry = Registry(settings.model_dir)
    active = registry.active_version()
    if active:
        return active
    console.print(f"[bold]No active model in {settings.model_dir}: training a default one.[/]")
    subprocess.run([sys.executable, "-m", "service.cli", "train", "--activate"], check=True)
    active = registry.active_version()
    if not active:
        raise SystemExit("training finished but no model is active")
    return active
