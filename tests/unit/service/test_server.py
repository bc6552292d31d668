"""What ``commentgate serve`` asks of gunicorn: connections kept open longer than clients keep
theirs idle, and a model loaded before a worker accepts a request."""

from __future__ import annotations

from typing import Any

import pytest

from service import server
from service.config import Settings


def served_options(monkeypatch: pytest.MonkeyPatch, settings: Settings, threads: int) -> dict:
    captured: dict[str, Any] = {}

    class Recording:
        def __init__(self, _settings: Settings, options: dict[str, Any]) -> None:
            captured.update(options)

        def run(self) -> None:
            pass

    monkeypatch.setattr(server, "_Gunicorn", Recording)
    monkeypatch.setattr(server.folders, "activate", lambda *_: None)
    server.run_gunicorn(settings, host="127.0.0.1", port=8000, processes=2, threads=threads)
    return captured


@pytest.mark.parametrize("threads", [1, 4])
def test_keep_alive_outlasts_clients_idle_sockets_with_a_worker_that_honours_it(
    monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    options = served_options(monkeypatch, Settings.from_env({}), threads)
    assert options["worker_class"] == "gthread", "the sync worker closes every connection"
    assert options["keepalive"] == 75
    custom = Settings.from_env({"COMMENTGATE_KEEPALIVE": "120"})
    assert served_options(monkeypatch, custom, threads)["keepalive"] == 120


def test_a_worker_warms_its_model_before_its_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = served_options(monkeypatch, Settings.from_env({}), 4)["post_worker_init"]
    warmed = []

    class App:
        extensions = {"commentgate": type("State", (), {"warm": lambda self: warmed.append(1)})()}

    hook(type("Worker", (), {"wsgi": App()})())
    assert warmed == [1]


def test_a_worker_without_a_loadable_model_still_starts(tmp_path) -> None:
    """A broken or missing model must not stop the API from booting (gunicorn would give up
    on a worker that fails in its hook): scoring answers 503 until a model loads."""
    from classifier import ModelLoadError
    from service import create_app

    settings = Settings.from_env({"COMMENTGATE_HOME": str(tmp_path)})
    state = create_app(settings).extensions["commentgate"]
    state.warm()
    with pytest.raises(ModelLoadError):
        state.model()
    state.engine.dispose()
