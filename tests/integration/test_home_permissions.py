"""The home folder holds the session key and the SQLite database: this user's alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _upgrade(home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env["COMMENTGATE_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "db", "upgrade"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_a_new_home_and_its_secrets_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _upgrade(home)
    assert _mode(home) == 0o700
    assert _mode(home / "secret_key") == 0o600
    assert _mode(home / "commentgate.db") == 0o600


def test_an_existing_readable_home_is_made_private_with_a_warning(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _upgrade(home)
    home.chmod(0o755)
    (home / "secret_key").chmod(0o644)
    (home / "commentgate.db").chmod(0o644)
    result = _upgrade(home)
    assert "secret_key was readable by other users (644); now 600" in result.stderr
    assert _mode(home) == 0o700 and _mode(home / "secret_key") == 0o600
    assert _mode(home / "commentgate.db") == 0o600
    assert "warning" not in _upgrade(home).stderr  # nothing left to fix
