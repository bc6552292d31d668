"""Fetching a pinned corpus: download (or copy from a mirror), verify, cache, clean, split, write.

Nothing is parsed before its SHA-256 matches the manifest: a file is streamed to a temporary
file, hashed on the way, and only moved into the cache when the sum is right. Cached files are
hashed again before every use, so a damaged cache is fetched anew instead of trusted.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import tempfile
import threading
from collections.abc import Generator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote, unquote

import requests

from .corpora import RAW_PREFIX, Corpus, FileSet, RawFile, Row, combined_sha256
from .model import file_sha256 as _sha256

__all__ = [
    "Cache",
    "CleanStats",
    "ChecksumError",
    "CorpusError",
    "Fetched",
    "Source",
    "clean",
    "fetch_corpus",
    "split",
    "write_split",
]

SPLIT_SEED = 20240601
DEV_FRACTION = 0.15
_TIMEOUT = 60
_JOBS = 8
_CHUNK = 1 << 16


class CorpusError(Exception):
    """A corpus could not be fetched or read; the message is meant for the user."""


class ChecksumError(CorpusError):
    """A file's bytes are not the ones the manifest pins, or no sum is pinned at all."""


@dataclass(frozen=True)
class CleanStats:
    """Rows dropped by `clean`: empty or whitespace-only texts, repeats of a kept text, and every
    copy of a text whose copies carry different labels."""

    empty: int
    duplicates: int
    conflicting: int


@dataclass(frozen=True)
class Fetched:
    """What one fetch wrote: row counts per split, label-1 rows, drops and the files."""

    corpus: Corpus
    train: int
    dev: int
    positives: int
    stats: CleanStats
    paths: tuple[Path, ...]

    @property
    def rows(self) -> int:
        return self.train + self.dev


class Source:
    """Where raw files come from: raw.githubusercontent.com, or a mirror of its layout
    (`<owner>/<repo>/<commit>/<path>`) in a local folder or behind another http(s) URL.

    Each thread keeps one HTTP session, so the ten thousand small Stormfront files reuse a few
    connections instead of opening one each. `close()` ends them.
    """

    def __init__(self, mirror: str | None = None) -> None:
        self.mirror = mirror
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def locate(self, url: str) -> str:
        if not self.mirror or not url.startswith(RAW_PREFIX):
            return url
        rest = url[len(RAW_PREFIX) :]
        if self.mirror.startswith(("http://", "https://")):
            return self.mirror.rstrip("/") + "/" + rest
        return str(Path(self.mirror) / unquote(rest))

    def chunks(self, url: str) -> Generator[bytes, None, None]:
        """The bytes at `url` (or its mirror), as they arrive."""
        where = self.locate(url)
        if not where.startswith(("http://", "https://")):
            try:
                with open(where, "rb") as fh:
                    yield from iter(partial(fh.read, _CHUNK), b"")
            except OSError as exc:
                raise CorpusError(f"cannot read {where}: {exc.strerror or exc}") from exc
            return
        try:
            with self._session().get(where, stream=True, timeout=_TIMEOUT) as response:
                if response.status_code != 200:
                    raise CorpusError(
                        f"cannot download {where}: HTTP {response.status_code} {response.reason}"
                    )
                yield from response.iter_content(_CHUNK)
        except requests.RequestException as exc:
            raise CorpusError(f"cannot download {where}: {exc}") from exc

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = "commentgate-data-fetch"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session


def _download(source: Source, url: str, dest: Path) -> str:
    """Stream `url` into `dest` through a temporary file; the SHA-256 of what was written."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out, closing(source.chunks(url)) as chunks:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        os.replace(temp, dest)
    finally:
        Path(temp).unlink(missing_ok=True)
    return digest.hexdigest()


class Cache:
    """Verified raw files under `root/<corpus>/<path in repository>.raw`.

    The `.raw` suffix keeps `commentgate train --data <out>` from mistaking a cached source file
    (some are `.csv` or `.json`) for training data.
    """

    def __init__(self, root: Path, source: Source) -> None:
        self.root = root
        self.source = source

    def path(self, corpus: str, name: str) -> Path:
        return self.root / corpus / f"{name}.raw"

    def file(self, corpus: str, raw: RawFile) -> Path:
        """The verified local copy of `raw`, downloaded only if the cache lacks a good one."""
        if raw.sha256 is None:
            raise ChecksumError(f"no SHA-256 is pinned for {raw.url}; refusing it")
        path = self.path(corpus, raw.name)
        if path.is_file() and _sha256(path) == raw.sha256:
            return path
        actual = _download(self.source, raw.url, path)
        if actual != raw.sha256:
            path.unlink(missing_ok=True)
            raise ChecksumError(
                f"{raw.name} ({self.source.locate(raw.url)}) has the wrong SHA-256: "
                f"expected {raw.sha256}, got {actual}"
            )
        return path

    def members(self, corpus: str, file_set: FileSet, listing: Path) -> dict[str, Path]:
        """Every file the listing names, verified together against the combined sum.

        Cached members are reused first; if the set does not match, it is fetched anew once
        before it is refused (and removed, so nothing unverified stays behind).
        """
        if file_set.combined_sha256 is None:
            raise ChecksumError("no combined SHA-256 is pinned for its file set; refusing it")
        names = file_set.members(listing)
        paths = {name: self.path(corpus, name) for name in names}
        actual, reused = self._members_sum(file_set, paths, reuse=True)
        if actual != file_set.combined_sha256 and reused:
            actual, _ = self._members_sum(file_set, paths, reuse=False)
        if actual != file_set.combined_sha256:
            for path in paths.values():
                path.unlink(missing_ok=True)
            where = self.source.locate(file_set.url_prefix)
            raise ChecksumError(
                f"the {len(names)} files listed in {file_set.listing} ({where}…) have "
                f"the wrong combined SHA-256: expected {file_set.combined_sha256}, got {actual}"
            )
        return paths

    def _members_sum(
        self, file_set: FileSet, paths: Mapping[str, Path], reuse: bool
    ) -> tuple[str, bool]:
        """The combined sum of the members, and whether any came from the cache."""

        def one(name: str) -> tuple[str, str, bool]:
            path = paths[name]
            if reuse and path.is_file():
                return name, _sha256(path), True
            return name, _download(self.source, file_set.url_prefix + quote(name), path), False

        with ThreadPoolExecutor(max_workers=_JOBS) as pool:
            found = list(pool.map(one, paths))
        pairs = [(name, sha) for name, sha, _ in found]
        return combined_sha256(pairs), any(cached for _, _, cached in found)


def clean(rows: Sequence[Row]) -> tuple[list[Row], CleanStats]:
    """Drop empty texts, repeated texts (first copy kept) and texts whose copies disagree.

    A text kept once per corpus cannot land in both train and dev; a text labelled both ways
    teaches nothing but noise.
    """
    labels: dict[str, set[int]] = {}
    for text, label in rows:
        if text.strip():
            labels.setdefault(text, set()).add(label)
    kept: dict[str, int] = {}
    empty = conflicting = 0
    for text, label in rows:
        if text not in labels:
            empty += 1
        elif len(labels[text]) > 1:
            conflicting += 1
        else:
            kept.setdefault(text, label)
    duplicates = len(rows) - empty - conflicting - len(kept)
    return list(kept.items()), CleanStats(empty, duplicates, conflicting)


def split(rows: Sequence[Row], seed: int = SPLIT_SEED) -> tuple[list[Row], list[Row]]:
    """Stratified by label: per label a seeded shuffle, DEV_FRACTION (rounded) to dev.

    Both parts keep the source order, so re-running gives byte-identical files.
    """
    rng = random.Random(seed)
    dev_index: set[int] = set()
    for label in sorted({label for _, label in rows}):
        group = [i for i, (_, found) in enumerate(rows) if found == label]
        rng.shuffle(group)
        dev_index.update(group[: round(len(group) * DEV_FRACTION)])
    train = [row for i, row in enumerate(rows) if i not in dev_index]
    dev = [row for i, row in enumerate(rows) if i in dev_index]
    return train, dev


def write_split(out: Path, corpus: Corpus, train: list[Row], dev: list[Row]) -> list[Path]:
    """`<out>/<task>/<name>_train.csv` and `_dev.csv`, each written whole or not at all."""
    folder = out / corpus.task
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for role, rows in (("train", train), ("dev", dev)):
        path = folder / f"{corpus.name}_{role}.csv"
        temp = path.with_name(f".{path.name}.partial")
        try:
            with temp.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(("text", "label"))
                writer.writerows(rows)
            temp.replace(path)
        finally:
            temp.unlink(missing_ok=True)
        paths.append(path)
    return paths


def _refuse_unpinned(corpus: Corpus) -> None:
    unknown = [raw.name for raw in corpus.files if raw.sha256 is None]
    if corpus.file_set is not None and corpus.file_set.combined_sha256 is None:
        unknown.append(f"the files listed in {corpus.file_set.listing}")
    if unknown:
        raise ChecksumError(
            f"no SHA-256 is pinned for {', '.join(unknown)}; refusing to use unverified data"
        )


def fetch_corpus(corpus: Corpus, out: Path, cache: Cache) -> Fetched:
    """Fetch and verify one corpus, then write its train and dev files under `out`."""
    try:
        return _fetch(corpus, out, cache)
    except CorpusError as exc:
        raise type(exc)(f"{corpus.name}: {exc}") from exc


def _fetch(corpus: Corpus, out: Path, cache: Cache) -> Fetched:
    _refuse_unpinned(corpus)
    files = {raw.name: cache.file(corpus.name, raw) for raw in corpus.files}
    if corpus.file_set is not None:
        listing = files[corpus.file_set.listing]
        files.update(cache.members(corpus.name, corpus.file_set, listing))
    try:
        rows = corpus.parse(files)
    except (KeyError, ValueError, csv.Error) as exc:
        raise CorpusError(f"the raw files do not parse: {exc!r}") from exc
    kept, stats = clean(rows)
    train, dev = split(kept)
    paths = write_split(out, corpus, train, dev)
    positives = sum(label for _, label in kept)
    return Fetched(corpus, len(train), len(dev), positives, stats, tuple(paths))
