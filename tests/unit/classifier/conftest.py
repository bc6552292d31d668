import shutil
import types
from pathlib import Path

import pytest

from classifier import Registry, train


@pytest.fixture(scope="session")
def trained_registry(tmp_path_factory: pytest.TempPathFactory, seed_model: Path) -> Registry:
    """A registry holding the seed model (not active)."""
    registry = Registry(tmp_path_factory.mktemp("models"))
    shutil.copytree(seed_model, registry.root / seed_model.name)
    return registry


@pytest.fixture
def registry(trained_registry: Registry, tmp_path: Path) -> Registry:
    """A private copy of the trained registry that a test may change."""
    root = tmp_path / "models"
    shutil.copytree(trained_registry.root, root)
    return Registry(root)


@pytest.fixture
def version(registry: Registry) -> str:
    return registry.versions()[0]["version"]


@pytest.fixture(scope="session")
def later_model(
    trained_registry: Registry, tmp_path_factory: pytest.TempPathFactory, seed_set: Path
) -> Path:
    """A second model (another seed), trained after the first: one training for every test."""
    registry = Registry(tmp_path_factory.mktemp("later-models"))
    return train([seed_set], registry, seed=1).path


@pytest.fixture
def second_version(registry: Registry, version: str, later_model: Path) -> str:
    """A newer version in the test's registry, as another training run would have added it."""
    shutil.copytree(later_model, registry.root / later_model.name)
    return later_model.name


@pytest.fixture
def settings(registry: Registry, seed_set: Path, tmp_path: Path) -> types.SimpleNamespace:
    """What the commands read of the settings; the training folder is the test's own copy."""
    training = tmp_path / "seed"
    shutil.copytree(seed_set, training)
    return types.SimpleNamespace(model_dir=registry.root, training_data=training)
