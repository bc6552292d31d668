import shutil
import types
from pathlib import Path

import pytest

from classifier import Registry, train

SEED_DATA = Path(__file__).resolve().parents[3] / "training_data"


@pytest.fixture(scope="session")
def trained_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A registry holding one model trained on the seed set (not active)."""
    registry = Registry(tmp_path_factory.mktemp("models"))
    train([SEED_DATA], registry)
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


@pytest.fixture
def settings(registry: Registry) -> types.SimpleNamespace:
    return types.SimpleNamespace(model_dir=registry.root, training_data=SEED_DATA)
