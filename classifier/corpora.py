"""The public labelled corpora the shipped model learns from: where each lives, pinned, and how
its raw files become `text,label` rows.

Users cannot get the prepared training files from us (the sources' licences and a held-back test
split stand in the way), so they fetch the originals themselves. Every raw file is pinned to a full
commit on raw.githubusercontent.com and to the SHA-256 of its bytes: a fetch yields exactly the
corpus described in the data README, or nothing. A `sha256` of None means the sum is not known; such
a file is refused rather than trusted.

The parsers follow the data README's mapping to the letter; `corpora_fetch` downloads, verifies,
cleans and splits them into the `<name>_train.csv` / `<name>_dev.csv` files that
`commentgate train --data` reads.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "CORPORA",
    "RAW_PREFIX",
    "UNKNOWN",
    "Corpus",
    "FileSet",
    "RawFile",
    "Row",
    "combined_sha256",
    "corpus_by_name",
    "decode_impermium",
    "raw_url",
]

RAW_PREFIX = "https://raw.githubusercontent.com/"

Row = tuple[str, int]
Parser = Callable[[Mapping[str, Path]], list[Row]]


@dataclass(frozen=True)
class RawFile:
    """One file of a repository at a pinned commit; `name` is its path in the repository."""

    name: str
    url: str
    sha256: str | None


@dataclass(frozen=True)
class FileSet:
    """Many small files named by a listing file, pinned together by one combined hash.

    Pinning ten thousand one-sentence files one by one would put ten thousand sums in this module,
    so the set is pinned by `combined_sha256` over every member the listing names (see
    `combined_sha256`); each member comes from `url_prefix` (the same pinned commit) + its name.
    """

    listing: str
    members: Callable[[Path], list[str]]
    url_prefix: str
    combined_sha256: str | None


@dataclass(frozen=True)
class Corpus:
    """One data set: its raw files, their licence and origin, and the parser that maps them to
    rows (`files` maps each path in the repository to its verified local copy)."""

    name: str
    task: str
    files: tuple[RawFile, ...]
    licence: str
    provenance: str
    parse: Parser
    file_set: FileSet | None = None


def raw_url(repo: str, commit: str, path: str) -> str:
    return f"{RAW_PREFIX}{repo}/{commit}/{quote(path)}"


UNKNOWN = "unknown"


def _pinned(repo: str, commit: str, sums: str) -> tuple[RawFile, ...]:
    """Files of `repo` at `commit` from `sha256sum`-style lines (`<sha256>  <path>`); a sum
    written as `unknown` pins nothing, so the file is refused."""
    files = []
    for line in filter(None, (line.strip() for line in sums.splitlines())):
        sha, path = line.split("  ", 1)
        files.append(RawFile(path, raw_url(repo, commit, path), None if sha == UNKNOWN else sha))
    return tuple(files)


def combined_sha256(pairs: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of `sha256sum`-style lines (`<sha256>  <name>\\n`) sorted by name: one sum that
    changes if any member's bytes, name or presence changes."""
    lines = "".join(f"{sha}  {name}\n" for name, sha in sorted(pairs))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


# Reading the raw formats.


def _text(path: Path) -> str:
    """The file's text with its line ends as they are (no newline translation)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return fh.read()


def _dict_rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def _tsv_plain(path: Path) -> list[dict[str, str]]:
    """Tab-separated with no quoting at all (the OLID release): a quote is part of the tweet."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def _youtube(files: Mapping[str, Path]) -> list[Row]:
    return [
        (row["CONTENT"], int(row["CLASS"])) for path in files.values() for row in _dict_rows(path)
    ]


def _sms(files: Mapping[str, Path]) -> list[Row]:
    rows: list[Row] = []
    for line in _text(files["SMSSpamCollection"]).split("\n")[1:]:  # the copy's added header
        if line:
            tag, text = line.split("\t", 1)
            rows.append((text, {"spam": 1, "ham": 0}[tag]))
    return rows


def _datacamp(files: Mapping[str, Path]) -> list[Row]:
    (path,) = files.values()
    return [
        (row["comment"], int(row["label"]))
        for row in _dict_rows(path)
        if row["label"].strip() in ("0", "1")
    ]


def _davidson(files: Mapping[str, Path]) -> list[Row]:
    # class: 0 hate speech, 1 offensive language, 2 neither.
    return [
        (row["tweet"], int(row["class"] != "2"))
        for row in _dict_rows(files["data/labeled_data.csv"])
    ]


_OLID = {"OFF": 1, "NOT": 0}


def _olid(files: Mapping[str, Path]) -> list[Row]:
    rows = [
        (row["tweet"], _OLID[row["subtask_a"]])
        for row in _tsv_plain(files["olid-training-v1.0.tsv"])
    ]
    with files["labels-levela.csv"].open(encoding="utf-8", newline="") as fh:
        test_labels = {tweet_id: tag for tweet_id, tag in csv.reader(fh)}
    for row in _tsv_plain(files["testset-levela.tsv"]):
        rows.append((row["tweet"], _OLID[test_labels[row["id"]]]))
    return rows


_IMPERMIUM_ESCAPE = re.compile(
    r"((?:\\x[0-9a-fA-F]{2})+)|\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})|\\([0-7]{1,3})|\\(.)",
    re.DOTALL,
)
# Python's string escapes, which the Kaggle files use; an unknown one (`\p`) stays as written.
_SIMPLE_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
    "\\": "\\", "'": "'", '"': '"',
}  # fmt: skip


def _utf8_or_latin1(data: bytes) -> str:
    """A `\\xNN` run is UTF-8 where it decodes as such; a stray byte is its Latin-1 character."""
    out, i = [], 0
    while i < len(data):
        for width in (4, 3, 2, 1):
            try:
                out.append(data[i : i + width].decode("utf-8"))
            except UnicodeDecodeError:
                continue
            i += width
            break
        else:
            out.append(chr(data[i]))
            i += 1
    return "".join(out)


def decode_impermium(value: str) -> str:
    """The Kaggle files hold each comment as a quoted, backslash-escaped string; undo both.

    `\\n`, `\\'`, `\\uXXXX` and `\\xc2\\xa0`-style UTF-8 byte runs become the characters they stand
    for; an unknown escape is kept as written.
    """
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]

    def replace(match: re.Match[str]) -> str:
        run, u4, u8, octal, simple = match.groups()
        if run:
            return _utf8_or_latin1(bytes(int(h, 16) for h in run.split("\\x")[1:]))
        if u4 or u8:
            code = int(u4 or u8, 16)
            return chr(code) if code <= 0x10FFFF else match.group()
        if octal:
            return chr(int(octal, 8))
        return _SIMPLE_ESCAPES.get(simple, "\\" + simple)

    decoded = _IMPERMIUM_ESCAPE.sub(replace, value)
    # A surrogate pair written as two \uXXXX escapes becomes one character (a lone one, U+FFFD).
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _impermium(files: Mapping[str, Path]) -> list[Row]:
    return [
        (decode_impermium(row["Comment"]), int(row["Insult"]))
        for path in files.values()
        for row in _dict_rows(path)
    ]


_STORMFRONT_LABELS = {"hate": 1, "noHate": 0}  # `relation` and `idk/skip` are dropped


def _stormfront_members(listing: Path) -> list[str]:
    return [f"all_files/{row['file_id']}.txt" for row in _dict_rows(listing)]


def _stormfront(files: Mapping[str, Path]) -> list[Row]:
    return [
        (_text(files[f"all_files/{row['file_id']}.txt"]), _STORMFRONT_LABELS[row["label"]])
        for row in _dict_rows(files["annotations_metadata.csv"])
        if row["label"] in _STORMFRONT_LABELS
    ]


def _gab(files: Mapping[str, Path]) -> list[Row]:
    return [
        (row["text"], int(any(row[flag] == "1" for flag in ("hd", "cv", "vo"))))
        for path in files.values()
        for row in _dict_rows(path, delimiter="\t")
    ]


def _fox(files: Mapping[str, Path]) -> list[Row]:
    lines = _text(files["fox-news-comments.json"]).splitlines()
    return [(item["text"], int(item["label"])) for item in map(json.loads, filter(None, lines))]


def _ethos(files: Mapping[str, Path]) -> list[Row]:
    (path,) = files.values()
    return [(row["comment"], int(float(row["isHate"]) >= 0.5)) for row in _dict_rows(path, ";")]


# The manifest. Commits and sums were read from the repositories named in the data README; each
# sum is that of the file's bytes as raw.githubusercontent.com serves them (the git blob).

_STORMFRONT_REPO = ("Vicomtech/hate-speech-dataset", "b802137e8314c38a8d4faa965f9908d6c8e7a84d")

CORPORA: tuple[Corpus, ...] = (
    Corpus(
        name="youtube_spam",
        task="spam",
        files=_pinned(
            "wolfgangweintritt/ML_2017W_Ass3",
            "375c524b43bc0d9bc5fe56533c99e03d4efccd45",
            """
            9b5635f063b795f945c9675eb2df9fc8f2f67b32968d8e8906bf36168c8200f3  datasets/Youtube01-Psy.csv
            73a17419fe5937855b67fb1914503bfc4f182c67d6bea75900f029e8365afe7e  datasets/Youtube02-KatyPerry.csv
            1198ff84571deab60ad7877fe9ac861ce28b87e944cdec9714c1bfea27562875  datasets/Youtube03-LMFAO.csv
            f94df08f5c4809d3b5043fb9c9b674db9209665e5c0b9e8ba685627d53ac99a1  datasets/Youtube04-Eminem.csv
            507132dc41588ba697ee58ccd1936a69673dba9957523c2eeb588ac381648a45  datasets/Youtube05-Shakira.csv
            """,  # noqa: E501
        ),
        licence="None stated in the copy; the authors ask users to cite the paper and the "
        "collection's web page.",
        provenance="YouTube Spam Collection v.1 (TubeSpam): T. C. Alberto, J. V. Lochter, "
        "T. A. Almeida, ICMLA 2015; UCI ML Repository. Copy: wolfgangweintritt/ML_2017W_Ass3.",
        parse=_youtube,
    ),
    Corpus(
        name="sms_spam",
        task="spam",
        files=_pinned(
            "hamzaaacodes/sms-spam-collection",
            "f3e73e1e74e6330b62d1ee1983bba2a063184c26",
            """
            fae7ea7d915ef73903e5c2f46ffa2f4a39909a574e20fda4f2b81f7cb1e15e1f  SMSSpamCollection
            """,
        ),
        licence="None stated in the copy; the authors' release announcement says it is free for "
        "all purposes; cite the paper.",
        provenance="SMS Spam Collection v.1: T. A. Almeida, J. M. Gómez Hidalgo, A. Yamakami, "
        "ACM DocEng 2011; UCI ML Repository. Copy: hamzaaacodes/sms-spam-collection.",
        parse=_sms,
    ),
    Corpus(
        name="datacamp_blog_spam",
        task="spam",
        files=_pinned(
            "Desmond00/DatacampArticleSentimentAnalysis",
            "a68549a101b7867f187d0ed3bfc4e678f2dc9cb7",
            """
            898857de912a8fb087ac30558940c6d069a592498c43525ac6b1a992a511a658  GoodData/final_data_extended_labeledPhase1 - final_data_extended_labeledPhase2.csv
            """,  # noqa: E501
        ),
        licence="None stated; the comments belong to their authors and the site, so treat the "
        "set as internal evaluation data.",
        provenance="DataCamp community-tutorial comments labelled by hand: "
        "Desmond00/DatacampArticleSentimentAnalysis (student project, 2019).",
        parse=_datacamp,
    ),
    Corpus(
        name="davidson_hate_offensive",
        task="toxicity",
        files=_pinned(
            "t-davidson/hate-speech-and-offensive-language",
            "cb50f7e9eb855a99abc51423bf40df0e26d6fe30",
            """
            fcb8bc7c68120ae4af04a5b9acd58585513ede11e1548ebf36a5c2040b6f6281  data/labeled_data.csv
            """,
        ),
        licence="MIT (the repository, (c) 2017 Tom Davidson); the tweets are Twitter content.",
        provenance="Hate Speech and Offensive Language: T. Davidson, D. Warmsley, M. Macy, "
        "I. Weber, ICWSM 2017. The authors' repository.",
        parse=_davidson,
    ),
    Corpus(
        name="olid_offenseval2019",
        task="toxicity",
        files=_pinned(
            "idontflow/OLID",
            "66fa62b22d57965986884d6b1491da2aed452f07",
            """
            907e186e75876f1a77aeff72c97c988bdcd533493926567f7206da6f82f45ae9  olid-training-v1.0.tsv
            6ba3269424e3373fc8bb9fc05c884a4545c7699c8a1386bbf5b282478af238a9  testset-levela.tsv
            81e61a1d5eff67b048d8ae3fd8b5a6bcc7259c7e05a2ddfd1ca62d77f3e48626  labels-levela.csv
            """,
        ),
        licence="None stated in the copy; cite the paper.",
        provenance="OLID, sub-task A (SemEval-2019 Task 6): M. Zampieri et al., NAACL 2019. A copy "
        "of the official release: idontflow/OLID.",
        parse=_olid,
    ),
    Corpus(
        name="impermium_insults",
        task="toxicity",
        files=_pinned(
            "AWConant/internet-hate-comments",
            "ff7e1c971672e7a96f2dd174f5df9e59000d29a3",
            """
            cc2859397e289006ac7cd33d2797a28539bc5c0b20841aa49a91bd0b94c516e9  train.csv
            55723d06bd8741008c59172605531cc3843351c6ececbf437e811e9198a6b85d  test_with_solutions.csv
            271018033ebece431fb4bdcffb666fb74387fe134d20d6bf3662e8605e9624af  impermium_verification_labels.csv
            """,  # noqa: E501
        ),
        licence="Unknown: Kaggle competition data, none stated. Check before shipping any model "
        "trained on it.",
        provenance="Detecting Insults in Social Commentary (Impermium / Kaggle, 2012). Copy: "
        "AWConant/internet-hate-comments.",
        parse=_impermium,
    ),
    Corpus(
        name="stormfront_hate",
        task="toxicity",
        files=_pinned(
            *_STORMFRONT_REPO,
            """
            306bfaab400e1542529d1791b9ec68d70bed579c52fc7e255b0626ab7bc5c7c9  annotations_metadata.csv
            """,  # noqa: E501
        ),
        licence="CC BY-SA 3.0 Spain (repository README and LICENSE); derived data sets must keep "
        "the licence.",
        provenance="Hate Speech Dataset from a White Supremacy Forum: O. de Gibert, N. Perez, "
        "A. García-Pablos, M. Cuadros, ALW2 2018. The authors' repository.",
        parse=_stormfront,
        file_set=FileSet(
            listing="annotations_metadata.csv",
            members=_stormfront_members,
            url_prefix=raw_url(*_STORMFRONT_REPO, ""),
            # Over all 10,944 sentence files the annotations list (relation, idk/skip included).
            combined_sha256="22093f0cbaaf6aa97e7060ed40132e7cc72ad44e88db6fd8b258d11480fa1e90",
        ),
    ),
    Corpus(
        name="gab_hate_corpus",
        task="toxicity",
        files=_pinned(
            "liuchaoqun/hate-speech-datasets",
            "98f3ee8104cf87bb91ed3e64c31a3097b9f8de84",
            """
            c82a27336560d3a6822a4cc3f92856481af5fd63aa2ce8d0ca644d440d351d43  GabHateCorpus/Data/ghc_train.tsv
            0c64ffe8d7e4e72303f9d33723f5750aa852223bc32554b529afba3a6efb1ddc  GabHateCorpus/Data/ghc_test.tsv
            """,  # noqa: E501
        ),
        licence="None stated in the copy; check the licence of the OSF original (project edua3) "
        "before redistributing.",
        provenance="The Gab Hate Corpus: B. Kennedy, M. Atari, A. Mostafazadeh Davani et al., "
        "Language Resources and Evaluation, 2022. A third-party copy: "
        "liuchaoqun/hate-speech-datasets.",
        parse=_gab,
    ),
    Corpus(
        name="fox_news_hate",
        task="toxicity",
        files=_pinned(
            "sjtuprog/fox-news-comments",
            "914b6bcdff380b16b6a11818e4760529fe23f2f3",
            """
            059152e61f632f1e6671a68214d5618a21e6cf78f2512773e0421b9568aab8cf  fox-news-comments.json
            """,
        ),
        licence="MIT according to the repository README; its LICENSE file is an MIT text copied "
        "from another project.",
        provenance="Fox News User Comments: L. Gao, R. Huang, RANLP 2017. The authors' repository.",
        parse=_fox,
    ),
    Corpus(
        name="ethos_binary",
        task="toxicity",
        files=_pinned(
            "intelligence-csd-auth-gr/Ethos-Hate-Speech-Dataset",
            "705258e118ce9611ebbd5ab2a4841b0066547293",
            """
            0cd0050c2592afcb5eca5876df485ca15cda9d7d16fe32c269857260fd10d96c  ethos/ethos_data/Ethos_Dataset_Binary.csv
            """,  # noqa: E501
        ),
        licence="GNU GPLv3 (repository README and LICENSE).",
        provenance="ETHOS, binary variant: I. Mollas, Z. Chrysopoulou, S. Karlos, G. Tsoumakas, "
        "Complex & Intelligent Systems, 2022. The authors' repository.",
        parse=_ethos,
    ),
)


def corpus_by_name(corpora: Sequence[Corpus] = CORPORA) -> dict[str, Corpus]:
    return {corpus.name: corpus for corpus in corpora}
