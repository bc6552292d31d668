"""Speed of scoring on one core: latency, throughput, load time, memory, folder size.

Spam and toxicity together (what a worker calls; the terms behind a score are explained on
demand, and the ``*_with_terms`` rows read them for every comment), compared with a plain
scikit-learn baseline measured in the same run: word 1-2 + char_wb 2-5 TF-IDF + logistic
regression, one pipeline per task.

    python -m bench.speed --model PATH --data ../shared/data
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
import numpy as np  # noqa: E402

from classifier import CommentInput, Model, Registry, Scores, load_model, train  # noqa: E402
from classifier.data import collect_datasets  # noqa: E402

_RSS_PROBE = """
import sys, time
from classifier import CommentInput, load_model
t = time.perf_counter(); model = load_model(sys.argv[1]); load = time.perf_counter() - t
model.score([CommentInput(line) for line in sys.stdin.read().splitlines()[:256]])
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(load, int(status["VmRSS"].split()[0]) // 1024, int(status["VmHWM"].split()[0]) // 1024)
"""


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def _latency(score, items, repeat: int = 1) -> tuple[float, float]:
    times = []
    for item in items * repeat:
        t = time.perf_counter()
        score([item])
        times.append(time.perf_counter() - t)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def _throughput(score, items, batch: int, seconds: float = 3.0) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for i in range(0, len(items), batch):
            score(items[i : i + batch])
            done += len(items[i : i + batch])
    return done / (time.perf_counter() - started)


def _baseline(datasets):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    pipes = []
    for task in ("spam", "toxicity"):
        texts = [c.content for d in datasets if d.task == task for c, _ in d.train]
        labels = [y for d in datasets if d.task == task for _, y in d.train]
        pipe = make_pipeline(
            make_union(
                TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True
                ),
            ),
            LogisticRegression(C=4.0, max_iter=1000),
        )
        pipes.append(pipe.fit(texts, labels))
    return lambda texts: [p.predict_proba(texts)[:, 1] for p in pipes]


def explained(model: Model) -> Callable[[list[CommentInput]], list[Scores]]:
    """Scoring that also reads every comment's terms."""

    def score(comments: list[CommentInput]) -> list[Scores]:
        scores = model.score(comments)
        for s in scores:
            _ = s.spam_terms
        return scores

    return score


def _folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.iterdir()) / 2**20


@click.command()
@click.option(
    "--data", type=click.Path(exists=True, path_type=Path), default=Path("../shared/data")
)
@click.option("--model", "model_path", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--samples", default=2000, show_default=True, help="Comments for the latency test.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None)
def main(data: Path, model_path: Path | None, samples: int, json_path: Path | None) -> None:
    """Print latency, throughput, load time, memory and size, with ratios vs the baseline."""
    datasets = collect_datasets([data])
    if model_path is None:
        model_path = train([data], Registry(tempfile.mkdtemp(prefix="speed-"))).path
    texts = [c.content for d in datasets for c, _ in d.dev]
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in rng.choice(len(texts), size=min(samples, len(texts)), replace=False)]
    comments = [CommentInput(t) for t in texts]
    probe = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(model_path)],
        input="\n".join(t.replace("\n", " ") for t in texts),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    load_s, rss_mb, peak_mb = probe.stdout.split()
    _one_core()
    model = load_model(model_path)
    baseline = _baseline(datasets)
    ours, base = {}, {}
    model.score(comments[:256])
    ours["p50_ms"], ours["p99_ms"] = _latency(model.score, comments)
    base["p50_ms"], base["p99_ms"] = _latency(baseline, texts)
    for batch in (1, 32, 256):
        ours[f"batch_{batch}_per_s"] = _throughput(model.score, comments, batch)
        base[f"batch_{batch}_per_s"] = _throughput(baseline, texts, batch)
    # Terms are explained on demand (the policy asks only for held or rejected comments);
    # this is the price when every comment's terms are read.
    ours["p99_ms_with_terms"] = _latency(explained(model), comments)[1]
    ours["batch_256_per_s_with_terms"] = _throughput(explained(model), comments, 256)
    ours.update(load_s=float(load_s), rss_mb=int(rss_mb), peak_rss_mb=int(peak_mb))
    ours["folder_mb"] = _folder_mb(Path(model_path))
    click.echo("| measure (spam + toxicity, one core) | ours | TF-IDF+LR baseline | ratio |")
    click.echo("| --- | ---: | ---: | ---: |")
    for key in ("p50_ms", "p99_ms", "batch_1_per_s", "batch_32_per_s", "batch_256_per_s"):
        faster = base[key] / ours[key] if key.endswith("_ms") else ours[key] / base[key]
        click.echo(f"| {key} | {ours[key]:.2f} | {base[key]:.2f} | {faster:.1f}x faster |")
    for key in ("p99_ms_with_terms", "batch_256_per_s_with_terms"):
        click.echo(f"| {key} | {ours[key]:.2f} | | |")
    for key in ("load_s", "rss_mb", "peak_rss_mb", "folder_mb"):
        click.echo(f"| {key} | {ours[key]:.2f} | | |")
    if json_path:
        json_path.write_text(
            json.dumps({"ours": ours, "baseline": base}, indent=2), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
