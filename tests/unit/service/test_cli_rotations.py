"""Every rotation takes the same overlap: from 0 (the old credential stops now) to a year."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import cli


@pytest.mark.parametrize("command", ["rotate-key", "rotate-akismet-key", "rotate-secret"])
def test_a_negative_or_endless_overlap_is_refused_before_anything_changes(
    command: str, tmp_path: Path
) -> None:
    env = {"COMMENTGATE_HOME": str(tmp_path)}
    for hours in ("-1", "100000"):
        result = CliRunner().invoke(
            cli, ["sites", command, "demo", "--overlap-hours", hours], env=env
        )
        assert result.exit_code == 2, result.output
        assert "0<=x<=8784" in result.output
