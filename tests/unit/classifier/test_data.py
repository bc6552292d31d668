import json
from pathlib import Path

from classifier.data import collect_datasets


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_train_and_dev_files_pair_up_by_name(tmp_path: Path) -> None:
    _write(tmp_path / "spam" / "blog_train.csv", "id,text,label\n1,buy now,1\n2,nice post,0\n")
    _write(tmp_path / "spam" / "blog_dev.csv", "id,text,label\n3,cheap pills,1\n")
    (ds,) = collect_datasets([tmp_path])
    assert (ds.task, ds.name, len(ds.train), len(ds.dev)) == ("spam", "blog", 2, 1)
    assert sorted(f.role for f in ds.files) == ["dev", "train"]


def test_feedback_jsonl_with_task_column_and_holdout(tmp_path: Path) -> None:
    rows = [{"text": f"comment {i}", "label": i % 2, "task": "toxicity"} for i in range(40)]
    rows.append({"text": "casino", "label": "spam", "task": "spam", "author_url": "http://x.io"})
    path = tmp_path / "feedback" / "export.jsonl"
    _write(path, "\n".join(json.dumps(r) for r in rows))
    found = {d.task: d for d in collect_datasets([path])}
    assert found["toxicity"].name == "feedback"
    assert len(found["toxicity"].dev) == 6 and len(found["toxicity"].train) == 34
    assert found["spam"].train[0][0].author_url == "http://x.io"


def test_rows_without_text_or_label_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path / "toxicity.csv", "text,label\n,1\nhello,\nyou idiot,1\nthanks,0\n")
    (ds,) = collect_datasets([tmp_path / "toxicity.csv"])
    assert ds.task == "toxicity" and len(ds.train) + len(ds.dev) == 2
