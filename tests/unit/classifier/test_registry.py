import threading

import pytest

from classifier import ActiveModel, ModelLoadError, Registry, RegistryError


def test_promote_and_rollback(registry: Registry, version: str, second_version: str) -> None:
    assert registry.active_version() is None
    with pytest.raises(ModelLoadError, match="no active model"):
        registry.load_active()
    with pytest.raises(RegistryError, match="roll back"):
        registry.rollback()
    registry.promote(version)
    second = second_version
    assert [v["version"] for v in registry.versions()] == [version, second]
    registry.promote(second)
    assert registry.load_active().version == second
    assert [v["active"] for v in registry.versions()] == [False, True]
    assert registry.rollback() == version
    assert registry.active_version() == version
    with pytest.raises(RegistryError):
        registry.rollback()


def test_show_and_unknown_versions(registry: Registry, version: str) -> None:
    assert registry.show(version)["version"] == version
    with pytest.raises(RegistryError, match="unknown model version"):
        registry.show("19990101-000000-abcdef")
    with pytest.raises(RegistryError, match="invalid"):
        registry.path("../elsewhere")


def test_active_model_picks_up_a_promotion(
    registry: Registry, version: str, second_version: str
) -> None:
    registry.promote(version)
    cache = ActiveModel(registry, check_interval=0.0)
    first = cache.get()
    assert first.version == version
    assert cache.get() is first
    registry.promote(second_version)
    assert cache.get().version == second_version


def test_active_model_waits_for_the_check_interval(
    registry: Registry, version: str, second_version: str
) -> None:
    registry.promote(version)
    cache = ActiveModel(registry, check_interval=3600)
    cache.get()
    registry.promote(second_version)
    assert cache.get().version == version


def test_background_load_keeps_serving_the_old_model_until_the_new_one_is_loaded(
    registry: Registry, version: str, second_version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.promote(version)
    cache = ActiveModel(registry, check_interval=0.0, background=True)
    first = cache.warm()
    registry.promote(second_version)
    release = threading.Event()
    load_active = registry.load_active
    monkeypatch.setattr(registry, "load_active", lambda: release.wait(10) and load_active())
    assert cache.get() is first, "a request never waits for the load"
    assert cache.get() is first, "one load at a time, the old model meanwhile"
    release.set()
    cache.wait_loaded(10)
    assert cache.get().version == second_version


def test_a_promoted_model_that_fails_to_load_keeps_the_old_one(
    registry: Registry, version: str, second_version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.promote(version)
    cache = ActiveModel(registry, check_interval=0.0, background=True)
    first = cache.warm()
    registry.promote(second_version)

    def broken() -> None:
        raise ModelLoadError("truncated archive")

    monkeypatch.setattr(registry, "load_active", broken)
    cache.get()
    cache.wait_loaded(10)
    assert cache.get() is first


def test_promote_instead_of_replaces_only_the_version_named(
    registry: Registry, version: str, second_version: str
) -> None:
    """A compare-and-set: two processes that replace the same refused model agree, and one
    that finds the pointer already moved leaves it."""
    registry.promote(version)
    assert registry.promote_instead_of(second_version, version) == second_version
    assert registry.active_version() == second_version
    assert registry.promote_instead_of(version, version) == second_version  # moved: left
    assert registry.active_version() == second_version
    assert registry.rollback() == version  # the replaced version is in the history


def test_the_same_weights_registered_twice_in_one_second_are_one_version(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retraining on the same data can finish within the second the last run did: its archive
    then has the same name, and the version already there is the answer, not an error."""
    import numpy as np

    from classifier import registry as registry_module

    moment = registry_module.datetime(2026, 12, 1, 12, 0, 0, tzinfo=registry_module.UTC)
    frozen = type("Frozen", (), {"now": staticmethod(lambda tz=None: moment)})
    monkeypatch.setattr(registry_module, "datetime", frozen)
    monkeypatch.setattr(registry_module, "file_sha256", lambda path: "ab" * 32)
    arrays = {"weights": np.arange(4, dtype=np.float32)}
    first, path, _ = registry.register(arrays, {"note": "first"})
    second, again, metadata = registry.register(arrays, {"note": "second"})
    assert second == first and again == path
    assert metadata["note"] == "first"
    assert [p.name for p in registry.root.iterdir() if p.name.startswith(".tmp-")] == []

    (path / "metadata.json").write_text("{}")  # a folder of that name, not these weights
    with pytest.raises(OSError):
        registry.register(arrays, {"note": "third"})
