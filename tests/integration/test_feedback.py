"""``commentgate feedback export``: moderators' labels become files that ``train`` learns from."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from classifier.shipped import shipped_version
from service.cli import cli
from service.db import session_scope
from service.feedback import COLUMNS
from service.models import Comment, LabeledExample, Moderator, new_id, utcnow
from service.moderation import decide
from tests.conftest import REPO
from tests.support.stored import new_moderator

pytestmark = pytest.mark.integration


def decided_examples(app, site) -> None:
    """Four moderator decisions, one of them given two days ago."""
    sessions = app.extensions["commentgate"].sessions
    choices = [
        ("Buy cheap pills, fast shipping", "reject", "spam"),
        ('You are an "idiot",\nplain and simple', "reject", "toxic"),
        ("Thoughtful piece, thank you", "approve", None),
        ("Old label from before", "approve", "ham"),
    ]
    moderator_id = new_moderator(app, site, email="ana@example.org").moderator.id
    for text, action, label in choices:
        with session_scope(sessions) as session:
            comment = Comment(id=new_id(), site_id=site.site.id, external_id=new_id(), content=text)
            comment.status = "held"
            session.add(comment)
            session.flush()
            decide(session, session.get(Moderator, moderator_id), comment.id, action, label=label)
    with session_scope(sessions) as session:
        session.execute(
            update(LabeledExample)
            .where(LabeledExample.text == "Old label from before")
            .values(created_at=utcnow() - timedelta(days=2))
        )


def export(stack, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["feedback", "export", *args, "--json"], env=stack.env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_writes_csv_and_jsonl_that_parse(app, stack, make_site, tmp_path: Path) -> None:
    site = make_site()
    decided_examples(app, site)
    training = tmp_path / "training_data"
    stack.env["COMMENTGATE_TRAINING_DATA"] = str(training)

    summary = export(stack)
    path = Path(summary["path"])
    assert path == training / "feedback" / "moderator_labels.csv"
    assert summary["rows"] == 5
    assert summary["tasks"] == {
        "spam": {"positive": 1, "negative": 2},
        "toxicity": {"positive": 1, "negative": 1},
    }
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert {(r["text"], r["task"], r["label"]) for r in rows} == {
        ("Buy cheap pills, fast shipping", "spam", "1"),
        ('You are an "idiot",\nplain and simple', "toxicity", "1"),
        ("Thoughtful piece, thank you", "spam", "0"),
        ("Thoughtful piece, thank you", "toxicity", "0"),
        ("Old label from before", "spam", "0"),
    }
    assert {r["site"] for r in rows} == {site.site.name}
    assert {r["source"] for r in rows} == {"moderator"}

    again = export(stack)
    assert again["rows"] == 5 and len(list(path.parent.glob("*.csv"))) == 1, "replaced, not added"

    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%d")
    recent = export(stack, "--since", since, "--format", "jsonl")
    assert recent["rows"] == 4
    lines = Path(recent["path"]).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert all(set(record) == set(COLUMNS) for record in records)
    assert "Old label from before" not in {record["text"] for record in records}

    chosen = export(stack, "--out", str(tmp_path / "labels.jsonl"), "--site", site.site.name)
    assert chosen["format"] == "jsonl" and chosen["rows"] == 5
    other = make_site()
    assert (
        export(stack, "--out", str(tmp_path / "other.csv"), "--site", other.site.name)["rows"] == 0
    )
    failed = CliRunner().invoke(cli, ["feedback", "export", "--site", "nope"], env=stack.env)
    assert failed.exit_code != 0 and "nope" in failed.output


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_train_learns_from_exported_feedback_by_default(
    app, stack, make_site, tmp_path: Path
) -> None:
    site = make_site()
    decided_examples(app, site)
    training = tmp_path / "training_data"
    shutil.copytree(REPO / "training_data" / "seed", training / "seed")
    env = {**stack.env, "COMMENTGATE_TRAINING_DATA": str(training)}
    stack.env.update(env)
    export(stack)

    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "train", "--json"],
        cwd=REPO,
        env={**env, "COMMENTGATE_MODEL_DIR": str(tmp_path / "models")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    model = Path(json.loads(result.stdout)["path"])
    metadata = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["base_model"] == shipped_version()  # built on the shipped model
    tuned_on = metadata["tuned_on"]
    learned = {
        (d["task"], d["name"]): d["train_rows"] + d["dev_rows"] for d in tuned_on["datasets"]
    }
    assert learned[("spam", "feedback")] == 3 and learned[("toxicity", "feedback")] == 2
    assert any(f["path"].endswith("feedback/moderator_labels.csv") for f in tuned_on["data_files"])


SHARED_TEXT = "Limited offer: replica watches at cheap-watch-shop.example, order today"


def submit(client, site, verdict: str, text: str = SHARED_TEXT) -> None:
    """Akismet feedback for a text the site never had checked (so no comment is known)."""
    answer = client.post(
        f"/1.1/submit-{verdict}",
        data={
            "api_key": site.api_key,
            "blog": "https://blog.example",
            "user_ip": "203.0.113.7",
            "comment_content": text,
        },
    )
    assert answer.status_code == 200, answer.text


def test_two_sites_labels_of_one_text_are_both_exported(
    app, client, stack, make_site, tmp_path: Path
) -> None:
    site_a, site_b = make_site(), make_site()
    submit(client, site_a, "spam")
    submit(client, site_b, "ham")

    summary = export(stack, "--out", str(tmp_path / "labels.jsonl"))
    lines = Path(summary["path"]).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert sorted((r["site"], r["label"], r["text"]) for r in rows) == sorted(
        [(site_a.site.name, 1, SHARED_TEXT), (site_b.site.name, 0, SHARED_TEXT)]
    ), "each site keeps its own label of the same text"
    assert summary["tasks"] == {"spam": {"positive": 1, "negative": 1}}


def test_a_sites_later_label_of_a_text_replaces_its_earlier_one(
    app, client, stack, make_site, tmp_path: Path
) -> None:
    site_a, site_b = make_site(), make_site()
    submit(client, site_a, "spam")
    submit(client, site_b, "spam")
    submit(client, site_a, "ham")
    submit(client, site_a, "ham")

    sessions = app.extensions["commentgate"].sessions
    with session_scope(sessions) as session:
        stored = session.execute(
            select(LabeledExample.site_id, LabeledExample.label).where(
                LabeledExample.text == SHARED_TEXT
            )
        ).all()
    assert sorted(stored) == sorted([(site_a.site.id, 0), (site_b.site.id, 1)]), (
        "one row per site, task, source and text: the latest label"
    )
    summary = export(stack, "--out", str(tmp_path / "labels.csv"))
    with Path(summary["path"]).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["site"], r["label"]) for r in rows) == sorted(
        [(site_a.site.name, "0"), (site_b.site.name, "1")]
    )
