"""`commentgate data fetch` against local mirrors of synthetic raw files.

No network and no real corpus: every raw file below is a few invented rows in its source's real
format, pinned by sums this test computes, so the shipped parsers, the cleaning, the split, the
checksum checks and the cache all run for real.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import http.server
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from click.testing import CliRunner

from classifier.corpora import CORPORA, RAW_PREFIX, Corpus, decode_impermium
from classifier.corpora_cli import data, make_data_group
from classifier.corpora_fetch import DEV_FRACTION, clean, split

Rows = list[tuple[str, int]]

# Per data set: {path in the repository: file text} and the rows expected after cleaning.
SOURCES: dict[str, tuple[dict[str, str], Rows]] = {
    "youtube_spam": (
        {
            "datasets/Youtube01-Psy.csv": '"COMMENT_ID","AUTHOR","DATE","CONTENT","CLASS"\n'
            'c1,Ann,2013-11-07T06:20:48,"Check out my channel, please! http://example.com/c",1\n'
            "c2,Bob,2013-11-07T12:37:15,Love this song\ufeff,0\n"
            'c3,Cy,2014-01-01T00:00:00,"Nice beat,\ngreat video ""really""",0\n',
            "datasets/Youtube02-KatyPerry.csv": '"COMMENT_ID","AUTHOR","DATE","CONTENT","CLASS"\n'
            'd1,Dee,2014-02-01T00:00:00,"Check out my channel, please! http://example.com/c",1\n'
            "d2,Eve,2014-02-02T00:00:00,Subscribe to me,1\n",
            "datasets/Youtube03-LMFAO.csv": '"COMMENT_ID","AUTHOR","DATE","CONTENT","CLASS"\n'
            "e1,Fay,2014-03-01T00:00:00,Subscribe to me,0\n",
            "datasets/Youtube04-Eminem.csv": '"COMMENT_ID","AUTHOR","DATE","CONTENT","CLASS"\n'
            "f1,Gus,2014-04-01T00:00:00,Best verse of the year,0\n",
            "datasets/Youtube05-Shakira.csv": '"COMMENT_ID","AUTHOR","DATE","CONTENT","CLASS"\n'
            "g1,Hal,2015-05-01T00:00:00,Free gift cards at example.org,1\n",
        },
        [
            ("Check out my channel, please! http://example.com/c", 1),
            ("Love this song\ufeff", 0),
            ('Nice beat,\ngreat video "really"', 0),
            ("Best verse of the year", 0),
            ("Free gift cards at example.org", 1),
        ],
    ),
    "sms_spam": (
        {
            "SMSSpamCollection": "Label\tSMS\n"
            "ham\tSee you at the station at noon\n"
            "spam\tWINNER! Claim your prize, call 09061234567 now\n"
            "ham\tSee you at the station at noon\n"
            "ham\tOk lah\n"
            "spam\tOk lah\n"
            "ham\t  \n"
            "ham\tSorry, I'll call later\ttonight\n"
        },
        [
            ("See you at the station at noon", 0),
            ("WINNER! Claim your prize, call 09061234567 now", 1),
            ("Sorry, I'll call later\ttonight", 0),
        ],
    ),
    "datacamp_blog_spam": (
        {
            "GoodData/final_data_extended_labeledPhase1 - final_data_extended_labeledPhase2.csv": (
                "comment,label,articleName\r\n"
                '"Thank you for this tutorial, very clear.",0,Python Lists\r\n'
                "Buy cheap followers at example.net,1,Python Lists\r\n"
                '"Hi there!\r\nIn the filter section the output is wrong.",0,Pandas Basics\r\n'
                "Hey Sayak!,1,Pandas Basics\r\n"
                ",0,Pandas Basics\r\n"
                "An unlabelled comment,,Pandas Basics\r\n"
            )
        },
        [
            ("Thank you for this tutorial, very clear.", 0),
            ("Buy cheap followers at example.net", 1),
            ("Hi there!\r\nIn the filter section the output is wrong.", 0),
            ("Hey Sayak!", 1),
        ],
    ),
    "davidson_hate_offensive": (
        {
            "data/labeled_data.csv": ",count,hate_speech,offensive_language,neither,class,tweet\n"
            "0,3,0,0,3,2,RT @user: what a lovely morning &amp; coffee\n"
            '1,3,0,3,0,1,"an offensive tweet, @user"\n'
            "2,3,2,1,0,0,a hateful tweet #tag\n"
            '3,3,0,0,3,2,"Quoted ""tweet"", with a comma"\n'
        },
        [
            ("RT @user: what a lovely morning &amp; coffee", 0),
            ("an offensive tweet, @user", 1),
            ("a hateful tweet #tag", 1),
            ('Quoted "tweet", with a comma', 0),
        ],
    ),
    "olid_offenseval2019": (
        {
            "olid-training-v1.0.tsv": "id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n"
            '86426\t"@USER She said no and left URL\tOFF\tUNT\tNULL\n'
            "90194\t@USER nice game today\tNOT\tNULL\tNULL\n"
            "16820\t@USER nice game today\tNOT\tNULL\tNULL\n"
            "11111\t#MAGA rally tonight\tOFF\tTIN\tIND\n",
            "testset-levela.tsv": "id\ttweet\n"
            "15923\t#MAGA rally tonight\n"
            '27014\tWhat a "great" idea\n',
            "labels-levela.csv": "15923,NOT\n27014,OFF\n",
        },
        [
            ('"@USER She said no and left URL', 1),
            ("@USER nice game today", 0),
            ('What a "great" idea', 1),
        ],
    ),
    "impermium_insults": (
        {
            "train.csv": "Insult,Date,Comment\r\n"
            '1,20120618192155Z,"""You are a clown, sir."""\r\n'
            '0,20120528192215Z,"""I don\\\'t agree.\\nSee:\\xc2\\xa0here, caf\\u00e9 \\\\n"""\r\n'
            '0,,""""""\r\n',
            "test_with_solutions.csv": "Insult,Date,Comment,Usage\r\n"
            '1,,"""Nobody asked you, troll \\ud83d\\ude00""",PublicTest\r\n'
            '1,,"""You are a clown, sir.""",PublicTest\r\n',
            "impermium_verification_labels.csv": "id,Insult,Date,Comment,Usage\r\n"
            '1,0,20120603163526Z,"""like this\\xa0 if you are a fan""",PrivateTest\r\n'
            '2,0,20120603163527Z,"""Nobody asked you, troll \\ud83d\\ude00""",PrivateTest\r\n',
        },
        [
            ("You are a clown, sir.", 1),
            ("I don't agree.\nSee:\u00a0here, café \\n", 0),
            ("like this\u00a0 if you are a fan", 0),
        ],
    ),
    "stormfront_hate": (
        {
            "annotations_metadata.csv": "file_id,user_id,subforum_id,num_contexts,label\n"
            "12834217_1,572066,1346,0,noHate\n"
            "12834217_2,572066,1346,0,hate\n"
            "12834217_3,572066,1346,1,relation\n"
            "12834217_4,572066,1346,0,idk/skip\n"
            "12834218_1,572067,1346,0,noHate\n"
            "12834218_2,572067,1346,0,noHate\n",
            "all_files/12834217_1.txt": "The booklet was downloaded 18,300 times .",
            "all_files/12834217_2.txt": "A hateful sentence about a group .",
            "all_files/12834217_3.txt": "A sentence that needs its neighbours .",
            "all_files/12834217_4.txt": "An unclear sentence .",
            "all_files/12834218_1.txt": "The booklet was downloaded 18,300 times .",
            "all_files/12834218_2.txt": "Line one .\r\nLine two .",
        },
        [
            ("The booklet was downloaded 18,300 times .", 0),
            ("A hateful sentence about a group .", 1),
            ("Line one .\r\nLine two .", 0),
        ],
    ),
    "gab_hate_corpus": (
        {
            "GabHateCorpus/Data/ghc_train.tsv": "text\thd\tcv\tvo\n"
            '"He said ""hello"" to everyone."\t0\t0\t0\n'
            "A post attacking a group\t1\t0\t0\n"
            "A call to hurt them\t0\t1\t0\n",
            "GabHateCorpus/Data/ghc_test.tsv": "text\thd\tcv\tvo\n"
            "A vulgar post\t0\t0\t1\n"
            "https://example.com/watch?v=x A talk on natural law.\t0\t0\t0\n"
            "A post attacking a group\t1\t0\t1\n",
        },
        [
            ('He said "hello" to everyone.', 0),
            ("A post attacking a group", 1),
            ("A call to hurt them", 1),
            ("A vulgar post", 1),
            ("https://example.com/watch?v=x A talk on natural law.", 0),
        ],
    ),
    "fox_news_hate": (
        {
            "fox-news-comments.json": "".join(
                json.dumps(
                    {"title": "A", "text": text, "label": label, "succ": "", "meta": "m"}
                    | {"user": "u", "mentions": "", "prev": ""}
                )
                + "\n"
                for text, label in (
                    ("Send them all back", 1),
                    ('He said "no" twice', 0),
                    ("Send them all back", 1),
                    ("", 0),
                )
            )
        },
        [("Send them all back", 1), ('He said "no" twice', 0)],
    ),
    "ethos_binary": (
        {
            "ethos/ethos_data/Ethos_Dataset_Binary.csv": "comment;isHate\n"
            "You should know this is a joke;1.0\n"
            "Nice video, thanks;0.0\n"
            "A borderline remark;0.5\n"
            "A mild remark;0.3333333333333333\n"
            "A mostly hateful remark;0.8333333333333334\n"
        },
        [
            ("You should know this is a joke", 1),
            ("Nice video, thanks", 0),
            ("A borderline remark", 1),
            ("A mild remark", 0),
            ("A mostly hateful remark", 1),
        ],
    ),
}

DROPPED = {  # (empty, duplicates, conflicting) rows
    "youtube_spam": (0, 1, 2),
    "sms_spam": (1, 1, 2),
    "datacamp_blog_spam": (1, 0, 0),
    "olid_offenseval2019": (0, 1, 2),
    "impermium_insults": (1, 1, 2),
    "stormfront_hate": (0, 1, 0),
    "gab_hate_corpus": (0, 1, 0),
    "fox_news_hate": (1, 1, 0),
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _repo_folder(corpus: Corpus) -> str:
    """`<owner>/<repo>/<commit>/` of the corpus's pinned URLs."""
    first = corpus.files[0]
    return unquote(first.url.removeprefix(RAW_PREFIX)).removesuffix(first.name)


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A folder laid out like raw.githubusercontent.com, holding the synthetic raw files."""
    root = tmp_path / "mirror"
    for corpus in CORPORA:
        for name, text in SOURCES[corpus.name][0].items():
            path = root / _repo_folder(corpus) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
    return root


@pytest.fixture
def manifest(mirror: Path) -> tuple[Corpus, ...]:
    """The shipped manifest (URLs, parsers) with the sums of the synthetic files."""
    pinned = []
    for corpus in CORPORA:
        files, _ = SOURCES[corpus.name]
        raws = tuple(
            dataclasses.replace(raw, sha256=_sha256(files[raw.name].encode("utf-8")))
            for raw in corpus.files
        )
        file_set = corpus.file_set
        if file_set is not None:
            members = sorted(
                (name, _sha256(text.encode("utf-8")))
                for name, text in files.items()
                if name.startswith("all_files/")
            )
            lines = "".join(f"{sha}  {name}\n" for name, sha in members)
            file_set = dataclasses.replace(file_set, combined_sha256=_sha256(lines.encode()))
        pinned.append(dataclasses.replace(corpus, files=raws, file_set=file_set))
    return tuple(pinned)


@pytest.fixture
def http_mirror(mirror: Path) -> Iterator[str]:
    """The mirror folder served by a plain HTTP server on a free loopback port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(Quiet, directory=str(mirror))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _read(path: Path) -> Rows:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["text", "label"]
        return [(text, int(label)) for text, label in reader]


def _fetch(manifest, *args: str):
    return CliRunner().invoke(make_data_group(manifest), ["fetch", *args])


def _check_written(out: Path, payload: dict) -> None:
    assert [d["name"] for d in payload["datasets"]] == [c.name for c in CORPORA]
    for corpus, summary in zip(CORPORA, payload["datasets"], strict=True):
        expected = SOURCES[corpus.name][1]
        train = _read(out / corpus.task / f"{corpus.name}_train.csv")
        dev = _read(out / corpus.task / f"{corpus.name}_dev.csv")
        assert Counter(train + dev) == Counter(expected), corpus.name
        for label in (0, 1):
            n = sum(1 for _, found in expected if found == label)
            assert sum(1 for _, found in dev if found == label) == round(n * DEV_FRACTION)
        dropped = summary["dropped"]
        assert (dropped["empty"], dropped["duplicates"], dropped["conflicting"]) == DROPPED.get(
            corpus.name, (0, 0, 0)
        ), corpus.name
        assert summary["rows"] == len(expected) and summary["task"] == corpus.task
        assert summary["label_1"] == sum(label for _, label in expected)
        assert summary["licence"] == corpus.licence


def test_fetch_from_a_folder_mirror(tmp_path: Path, mirror: Path, manifest) -> None:
    out = tmp_path / "public"
    result = _fetch(manifest, "--out", str(out), "--mirror", str(mirror), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["errors"] == []
    _check_written(out, payload)
    assert not any(p.suffix in (".csv", ".json") for p in (out / ".cache").rglob("*"))


def test_fetch_from_an_http_mirror(
    tmp_path: Path, mirror: Path, http_mirror: str, manifest
) -> None:
    by_http, by_folder = tmp_path / "http", tmp_path / "folder"
    result = _fetch(manifest, "--out", str(by_http), "--mirror", http_mirror, "--json")
    assert result.exit_code == 0, result.output
    _check_written(by_http, json.loads(result.stdout))
    assert _fetch(manifest, "--out", str(by_folder), "--mirror", str(mirror)).exit_code == 0
    for written in by_folder.glob("*/*.csv"):  # the same bytes, whichever way they came
        assert (by_http / written.relative_to(by_folder)).read_bytes() == written.read_bytes()


def test_plain_output_names_rows_and_licence(tmp_path: Path, mirror: Path, manifest) -> None:
    args = ["--out", str(tmp_path), "--mirror", str(mirror), "--only", "sms_spam,ethos_binary"]
    result = _fetch(manifest, *args)
    assert result.exit_code == 0, result.output
    assert "sms_spam (spam): 3 rows written" in result.stdout
    assert "ethos_binary (toxicity): 5 rows written" in result.stdout
    assert "licence: GNU GPLv3" in result.stdout
    assert not (tmp_path / "toxicity" / "gab_hate_corpus_train.csv").exists()


def test_verified_files_are_reused_and_a_damaged_cache_is_fetched_again(
    tmp_path: Path, mirror: Path, manifest
) -> None:
    out = tmp_path / "public"
    only = ["--only", "davidson_hate_offensive", "--only", "stormfront_hate"]
    assert _fetch(manifest, "--out", str(out), "--mirror", str(mirror), *only).exit_code == 0
    offline = _fetch(manifest, "--out", str(out), "--mirror", str(tmp_path / "nothing"), *only)
    assert offline.exit_code == 0, offline.output

    cache = out / ".cache"
    (cache / "davidson_hate_offensive" / "data" / "labeled_data.csv.raw").write_text("x")
    (cache / "stormfront_hate" / "all_files" / "12834217_2.txt.raw").write_text("x")
    again = _fetch(manifest, "--out", str(out), "--mirror", str(mirror), "--json", *only)
    assert again.exit_code == 0, again.output
    assert [d["rows"] for d in json.loads(again.stdout)["datasets"]] == [4, 3]


def test_a_tampered_file_is_refused(tmp_path: Path, mirror: Path, manifest) -> None:
    corpus = next(c for c in manifest if c.name == "davidson_hate_offensive")
    raw = corpus.files[0]
    tampered = mirror / _repo_folder(corpus) / raw.name
    tampered.write_bytes(tampered.read_bytes().replace(b",2,", b",1,"))
    out = tmp_path / "public"
    result = _fetch(manifest, "--out", str(out), "--mirror", str(mirror), "--json")
    assert result.exit_code == 1
    (error,) = json.loads(result.stdout)["errors"]
    message = error["error"]
    assert error["name"] == "davidson_hate_offensive"
    assert "data/labeled_data.csv" in message and "wrong SHA-256" in message
    assert f"expected {raw.sha256}" in message
    assert f"got {_sha256(tampered.read_bytes())}" in message
    assert "davidson_hate_offensive" in result.stderr
    assert not (out / "toxicity" / "davidson_hate_offensive_train.csv").exists()
    assert not [p for p in (out / ".cache" / "davidson_hate_offensive").rglob("*") if p.is_file()]
    assert (out / "toxicity" / "olid_offenseval2019_train.csv").exists()  # the others go on


def test_a_tampered_sentence_file_is_refused(tmp_path: Path, mirror: Path, manifest) -> None:
    corpus = next(c for c in manifest if c.name == "stormfront_hate")
    (mirror / _repo_folder(corpus) / "all_files" / "12834218_2.txt").write_text("changed")
    out = tmp_path / "public"
    args = ["--out", str(out), "--mirror", str(mirror), "--only", "stormfront_hate"]
    result = _fetch(manifest, *args)
    assert result.exit_code == 1
    assert "wrong combined SHA-256" in result.stderr
    assert f"expected {corpus.file_set.combined_sha256}" in result.stderr
    assert not list((out / ".cache" / "stormfront_hate" / "all_files").iterdir())
    assert not (out / "toxicity").exists()


def test_a_file_without_a_pinned_sum_is_refused(tmp_path: Path, mirror: Path, manifest) -> None:
    unpinned = tuple(
        dataclasses.replace(c, files=(dataclasses.replace(c.files[0], sha256=None),))
        if c.name == "fox_news_hate"
        else c
        for c in manifest
    )
    args = ["--out", str(tmp_path), "--mirror", str(mirror), "--only", "fox_news_hate"]
    result = _fetch(unpinned, *args)
    assert result.exit_code == 1
    assert "fox_news_hate: no SHA-256 is pinned for fox-news-comments.json" in result.stderr
    assert not (tmp_path / ".cache" / "fox_news_hate").exists()


def test_an_unreachable_mirror_fails_clearly(tmp_path: Path, http_mirror: str, manifest) -> None:
    moved = http_mirror + "elsewhere/"
    result = _fetch(manifest, "--out", str(tmp_path), "--mirror", moved, "--only", "sms_spam")
    assert result.exit_code == 1
    assert "sms_spam: cannot download" in result.stderr and "HTTP 404" in result.stderr


def test_an_unknown_data_set_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(data, ["fetch", "--out", str(tmp_path), "--only", "jigsaw"])
    assert result.exit_code == 2
    assert "unknown data set jigsaw" in result.output


def test_the_shipped_manifest_is_pinned() -> None:
    url = re.compile(r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+")
    sha = re.compile(r"[0-9a-f]{64}")
    assert [c.name for c in CORPORA] == list(SOURCES)
    for corpus in CORPORA:
        assert corpus.task in ("spam", "toxicity")
        assert corpus.licence and corpus.provenance
        commits = set()
        for raw in corpus.files:
            assert url.fullmatch(raw.url), raw.url
            assert raw.url.endswith("/" + quote(raw.name))
            assert raw.sha256 is None or sha.fullmatch(raw.sha256), raw.name
            commits.add(raw.url.split("/")[5])
        if corpus.file_set is not None:
            assert url.fullmatch(corpus.file_set.url_prefix + "x")
            commits.add(corpus.file_set.url_prefix.split("/")[5])
            combined = corpus.file_set.combined_sha256
            assert combined is None or sha.fullmatch(combined)
        assert len(commits) == 1, corpus.name  # one pinned commit per data set


def test_decode_impermium_undoes_the_kaggle_escapes() -> None:
    assert decode_impermium('"plain"') == "plain"
    assert decode_impermium('"a\\nb\\tc \\\'q\\\' \\"d\\""') == "a\nb\tc 'q' \"d\""
    assert decode_impermium('"\\xc2\\xa0|\\xe2\\x80\\x99|\\xa0|\\xe9t\\xe9"') == "\xa0|’|\xa0|été"
    assert decode_impermium('"\\u00e9 \\ud83d\\ude00 \\U0001f600"') == "é 😀 😀"
    assert decode_impermium('"\\\\n stays \\p \\5\\2012"') == "\\n stays \\p \x05\x812"
    assert decode_impermium('""') == ""


def test_clean_drops_empty_duplicate_and_conflicting_texts() -> None:
    rows = [("a", 1), (" ", 0), ("b", 0), ("a", 1), ("c", 0), ("c", 1), ("c", 0), ("", 1)]
    kept, stats = clean(rows)
    assert kept == [("a", 1), ("b", 0)]
    assert (stats.empty, stats.duplicates, stats.conflicting) == (2, 1, 3)


def test_split_is_stratified_seeded_and_keeps_source_order() -> None:
    rows = [(f"text {i}", int(i % 5 == 0)) for i in range(200)]
    train, dev = split(rows)
    assert split(rows) == (train, dev)
    assert sorted(train + dev) == sorted(rows)
    assert Counter(label for _, label in dev) == {0: 24, 1: 6}
    assert train == sorted(train, key=rows.index) and dev == sorted(dev, key=rows.index)
    assert split(rows, seed=1) != (train, dev)


def test_the_data_group_is_part_of_commentgate() -> None:
    from service.cli import cli

    assert cli.commands["data"] is data
