"""The model a starting service scores with: the shipped one when none is active, and in place of
an active model that this release's text code cannot run."""

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from classifier import Registry
from classifier.model import code_versions
from classifier.registry import POINTER_FILE
from classifier.shipped import shipped_version
from service.config import Settings
from service.startup import ensure_model


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, model_dir=tmp_path / "models")


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200), out


def _install(registry: Registry, seed_model: Path, normalizer_offset: int = 0) -> str:
    target = registry.root / seed_model.name
    shutil.copytree(seed_model, target)
    if normalizer_offset:
        meta = json.loads((target / "metadata.json").read_text())
        meta["code_versions"]["normalizer"] = code_versions()["normalizer"] + normalizer_offset
        (target / "metadata.json").write_text(json.dumps(meta))
    return seed_model.name


def test_no_active_model_activates_the_shipped_one(tmp_path: Path) -> None:
    console, out = _console()
    assert ensure_model(_settings(tmp_path), console) == shipped_version()
    assert "Activated the shipped model" in out.getvalue()


def test_a_runnable_active_model_stays(tmp_path: Path, seed_model: Path) -> None:
    registry = Registry(tmp_path / "models")
    registry.promote(_install(registry, seed_model))
    console, out = _console()
    assert ensure_model(_settings(tmp_path), console) == seed_model.name
    assert out.getvalue() == ""


def test_a_model_of_an_older_normalizer_gives_way_to_the_shipped_one(
    tmp_path: Path, seed_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry(tmp_path / "models")
    old = _install(registry, seed_model, normalizer_offset=-1)
    (registry.root / POINTER_FILE).write_text(json.dumps({"active": old, "history": []}))
    assert registry.active_version() == old
    console, out = _console()

    assert ensure_model(_settings(tmp_path), console) == shipped_version()
    assert registry.active_version() == shipped_version()
    said = " ".join(out.getvalue().split())
    assert f"model {old} was built with normalizer version" in said
    assert "Activated the shipped model" in said and "commentgate train" in said
    assert (registry.root / old).is_dir()  # kept, for the record
    # A second process starting meanwhile finds the shipped model active and keeps it.
    assert ensure_model(_settings(tmp_path), _console()[0]) == shipped_version()
