import json
import pickle

import numpy as np
import pytest

import classifier.model as model_module
from classifier import ModelLoadError, Registry, load_model
from classifier.model import code_versions, file_sha256


def test_tampered_model_file_is_refused(registry: Registry, version: str) -> None:
    path = registry.path(version) / "model.npz"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="was modified: sha256"):
        load_model(registry.path(version))


def test_foreign_file_in_folder_is_refused(registry: Registry, version: str) -> None:
    (registry.path(version) / "extra.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelLoadError, match="foreign file 'extra.pkl'"):
        load_model(registry.path(version))


def test_pickled_arrays_are_refused_even_with_matching_hash(
    registry: Registry, version: str
) -> None:
    folder = registry.path(version)
    with np.load(folder / "model.npz") as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["bias"] = np.array([object()] * 2, dtype=object)
    np.savez(folder / "model.npz", **arrays)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["files"]["model.npz"] = file_sha256(folder / "model.npz")
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="untrusted"):
        load_model(folder)


def test_pickle_in_place_of_the_model_is_refused(registry: Registry, version: str) -> None:
    folder = registry.path(version)
    (folder / "model.npz").write_bytes(pickle.dumps(["not", "arrays"]))
    meta = json.loads((folder / "metadata.json").read_text())
    meta["files"]["model.npz"] = file_sha256(folder / "model.npz")
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="untrusted"):
        load_model(folder)


def test_missing_folder_and_metadata(tmp_path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        load_model(tmp_path / "nope")
    with pytest.raises(ModelLoadError, match="metadata.json is missing"):
        load_model(tmp_path)


def test_promote_refuses_a_tampered_version(registry: Registry, version: str) -> None:
    (registry.path(version) / "model.npz").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError):
        registry.promote(version)
    assert registry.active_version() is None


@pytest.mark.parametrize("part", ["normalizer", "featurizer"])
def test_a_model_built_with_other_text_code_is_refused(
    registry: Registry, version: str, part: str
) -> None:
    """Its weights belong to features that this code fills differently: refused, saying why
    and what to do, instead of scoring silently wrong."""
    folder = registry.path(version)
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["code_versions"] == code_versions()
    meta["code_versions"][part] += 1
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=f"built with {part} version .*commentgate train"):
        load_model(folder)


def test_the_running_code_refuses_a_model_of_an_older_normalizer(
    registry: Registry, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_module, "NORMALIZER_VERSION", model_module.NORMALIZER_VERSION + 1)
    with pytest.raises(ModelLoadError, match="normalizer version"):
        load_model(registry.path(version))
    with pytest.raises(ModelLoadError):
        registry.promote(version)


def test_scoring_processes_never_import_scikit_learn(registry: Registry, version: str) -> None:
    """The API, the worker and the command line load and use a model with numpy alone:
    scikit-learn's import would add about a second to every process start."""
    import subprocess
    import sys

    script = (
        "import sys; import service.cli, workers.tasks; from classifier import load_model; "
        f"model = load_model({str(registry.path(version))!r}); "
        "from classifier import CommentInput; model.score([CommentInput(content='hello there')]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout
