"""Schemathesis against /openapi.json of a real server and worker: no 5xx, responses match the
schema, and every comment it gets accepted is decided.

Bounded: a few examples per operation, once with a site's API key and once with an admin
moderator's token, so both halves of the API are exercised past authentication; on both back
ends, since PostgreSQL refuses text that SQLite stores. ``tests/support/fuzz_hooks.py`` adds
bodies the schema alone would not produce: lone surrogates and NUL characters in any text, JSON
nested deeper than the parser follows, and arbitrary JSON as a comment's ``metadata``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.db import session_scope
from service.models import Comment
from service.moderators import create_moderator
from service.sites import create_site
from tests.conftest import REPO, wait_for

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
HOOKS = REPO / "tests" / "support" / "fuzz_hooks.py"


def test_openapi_fuzzing_finds_no_server_errors(live_server, app, worker, tmp_path) -> None:
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
                "12",
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
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        assert re.search(r"\d+ generated, \d+ passed", result.stdout), result.stdout[-2000:]

    def counts() -> dict[str, int]:
        with session_scope(sessions) as session:
            rows = session.execute(select(Comment.status, func.count()).group_by(Comment.status))
            return dict(rows.all())

    assert sum(counts().values()) > 0, "the fuzzer got no comment accepted"
    wait_for(lambda: not counts().get("pending"), timeout=30)
    with session_scope(sessions) as session:
        failed = [
            comment.id
            for comment in session.scalars(select(Comment).where(Comment.status == "held"))
            if any(r.get("code") == "processing_error" for r in comment.reasons or [])
        ]
    assert failed == [], "comments the worker could not decide"
