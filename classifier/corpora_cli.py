"""`commentgate data fetch`: the public corpora, fetched from their pinned sources and turned into
the train/dev files that `commentgate train --data` reads.

The group is built by `make_data_group(corpora)` so that tests can hand it a manifest of their own
(synthetic files with matching sums) and run the very same command.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from .corpora import CORPORA, Corpus
from .corpora_fetch import Cache, CorpusError, Fetched, Source, fetch_corpus

__all__ = ["data", "make_data_group"]

CACHE_FOLDER = ".cache"


def _selected(corpora: Sequence[Corpus], only: tuple[str, ...]) -> list[Corpus]:
    names = [name.strip() for value in only for name in value.split(",") if name.strip()]
    known = {corpus.name for corpus in corpora}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown data set {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            param_hint="--only",
        )
    return [corpus for corpus in corpora if not names or corpus.name in names]


def _summary(fetched: Fetched) -> dict[str, Any]:
    corpus = fetched.corpus
    return {
        "name": corpus.name,
        "task": corpus.task,
        "rows": fetched.rows,
        "train": fetched.train,
        "dev": fetched.dev,
        "label_1": fetched.positives,
        "dropped": {
            "empty": fetched.stats.empty,
            "duplicates": fetched.stats.duplicates,
            "conflicting": fetched.stats.conflicting,
        },
        "files": [str(path) for path in fetched.paths],
        "licence": corpus.licence,
        "provenance": corpus.provenance,
    }


def _report(fetched: Fetched) -> None:
    corpus, stats = fetched.corpus, fetched.stats
    click.echo(
        f"{corpus.name} ({corpus.task}): {fetched.rows} rows written "
        f"({fetched.train} train, {fetched.dev} dev; {fetched.positives} labelled 1; dropped "
        f"{stats.empty} empty, {stats.duplicates} duplicate, {stats.conflicting} conflicting)"
    )
    click.echo(f"  licence: {corpus.licence}")
    click.echo(f"  source: {corpus.provenance}")


def make_data_group(corpora: Sequence[Corpus] = CORPORA) -> click.Group:
    """The `data` group over `corpora` (the shipped manifest unless a test brings its own)."""

    @click.group("data")
    def group() -> None:
        """Public labelled corpora for training: fetch them from their sources."""

    @group.command("fetch")
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("data/public"),
        show_default=True,
        help="Folder for <task>/<name>_train.csv and _dev.csv (raw files cached in .cache/).",
    )
    @click.option(
        "--mirror",
        metavar="URL_OR_FOLDER",
        help="Use instead of https://raw.githubusercontent.com/ (same <owner>/<repo>/<commit>/"
        "<path> layout), e.g. for offline installs.",
    )
    @click.option(
        "--only",
        multiple=True,
        metavar="NAME",
        help="Fetch only this data set (repeatable, or comma-separated). Default: all.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
    def fetch(out: Path, mirror: str | None, only: tuple[str, ...], as_json: bool) -> None:
        """Download the public corpora, verify their SHA-256 sums, and write train/dev splits.

        Each raw file is pinned to a commit and a SHA-256; a file whose sum differs is refused.
        Then, per data set: empty texts and duplicates are dropped, texts labelled both ways are
        dropped, and a seeded stratified 85/15 split is written. Mind each data set's licence;
        the toxicity corpora hold offensive text verbatim.
        """
        selected = _selected(corpora, only)
        done: list[Fetched] = []
        errors: list[dict[str, str]] = []
        with Source(mirror) as source:
            cache = Cache(out / CACHE_FOLDER, source)
            for corpus in selected:
                slow = " (one file per sentence: this takes a while)" if corpus.file_set else ""
                click.echo(f"fetching {corpus.name}{slow}…", err=True)
                try:
                    fetched = fetch_corpus(corpus, out, cache)
                except CorpusError as exc:
                    errors.append({"name": corpus.name, "error": str(exc)})
                    click.echo(f"error: {exc}", err=True)
                    continue
                done.append(fetched)
                if not as_json:
                    _report(fetched)
        if as_json:
            payload = {"out": str(out), "datasets": [_summary(f) for f in done], "errors": errors}
            click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        elif done:
            click.echo(f"Train with: commentgate train --data {out} --activate")
        if errors:
            raise SystemExit(1)

    return group


data = make_data_group()
