"""Schemathesis against /openapi.json of a real server: no 5xx, responses match the schema.

Bounded: a few examples per operation, once with a site's API key and once with an admin
moderator's token, so both halves of the API are exercised past authentication.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.db import session_scope
from service.moderators import create_moderator
from service.sites import create_site

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_openapi_fuzzing_finds_no_server_errors(live_server, app, tmp_path) -> None:  # noqa: ANN001
    sessions = app.extensions["commentgate"].sessions
    with session_scope(sessions) as session:
        created = create_site(session, "fuzz", "http://127.0.0.1:9/hook", allow_private=True)
        admin = create_moderator(session, created.site, "admin@fuzz.example", "admin")
    executable = str(SCHEMATHESIS) if SCHEMATHESIS.exists() else shutil.which("schemathesis")
    assert executable, "schemathesis is installed with the test extra"
    for token in (created.api_key, admin.token):
        result = subprocess.run(
            [
                executable,
                "run",
                f"{live_server}/openapi.json",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                "8",
                "--request-timeout",
                "10",
                "--header",
                f"Authorization: Bearer {token}",
                "--generation-deterministic",
                "--phases",
                "examples,coverage,fuzzing",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        assert re.search(r"\d+ generated, \d+ passed", result.stdout), result.stdout[-2000:]
