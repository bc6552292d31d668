"""The Makefile's install steps, read with ``make -n`` (nothing runs): ``make run`` installs the
runtime only, ``make test`` adds the test tools, also into a venv that ``make run`` made."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def planned(target: str, venv: Path, *variables: str) -> list[str]:
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(REPO), target, f"VENV={venv}", *variables],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}},
    )
    return result.stdout.splitlines()


def installs(lines: list[str]) -> list[str]:
    return [line for line in lines if "pip install" in line and "--upgrade pip" not in line]


def test_run_installs_the_runtime_only_and_serves_on_host_and_port(tmp_path: Path) -> None:
    lines = planned("run", tmp_path / "venv")
    assert installs(lines) == [f"{tmp_path}/venv/bin/pip install -q -e ."]
    assert lines[-1] == f"{tmp_path}/venv/bin/commentgate run --host 127.0.0.1 --port 8000"
    chosen = planned("run", tmp_path / "venv", "PORT=8080", "HOST=0.0.0.0")
    assert chosen[-1].endswith("commentgate run --host 0.0.0.0 --port 8080")


def test_test_installs_the_test_extra(tmp_path: Path) -> None:
    lines = planned("test", tmp_path / "venv")
    assert installs(lines) == [f"{tmp_path}/venv/bin/pip install -q -e '.[test]'"]
    assert lines[-1] == f"{tmp_path}/venv/bin/python -m pytest"


def test_test_lints_and_type_checks_before_the_tests(tmp_path: Path) -> None:
    bin_ = f"{tmp_path}/venv/bin"
    lines = planned("test", tmp_path / "venv")
    checks = [f"{bin_}/ruff check .", f"{bin_}/ruff format --check .", f"{bin_}/mypy"]
    assert [line for line in lines if line in checks] == checks
    assert lines.index(f"{bin_}/mypy") < lines.index(f"{bin_}/python -m pytest")
    assert planned("typecheck", tmp_path / "venv")[-1] == f"{bin_}/mypy"


def test_test_fast_runs_the_unit_tests_but_the_slow_ones(tmp_path: Path) -> None:
    lines = planned("test-fast", tmp_path / "venv")
    assert installs(lines) == [f"{tmp_path}/venv/bin/pip install -q -e '.[test]'"]
    assert lines[-1] == f'{tmp_path}/venv/bin/python -m pytest tests/unit -m "not slow"'


def test_test_after_run_adds_the_test_extra_to_the_same_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / ".installed-runtime").touch()  # what `make run` leaves behind
    assert installs(planned("run", venv)) == []
    test_lines = planned("test", venv)
    assert installs(test_lines) == [f"{venv}/bin/pip install -q -e '.[test]'"]
    assert not any(" -m venv " in line for line in test_lines)
    (venv / ".installed-test").touch()
    assert installs(planned("test", venv)) == []
    assert installs(planned("run", venv)) == []
