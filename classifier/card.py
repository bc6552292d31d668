"""A model card in Markdown, written from a model's metadata alone (so it cannot drift from it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import BORROWED_GATE

__all__ = ["model_card"]

_INTENDED_USE = """\
Scoring comments posted under blog posts and news articles, in English, for two things: **spam**
(advertising, link drops, scams, low-value bait) and **toxicity** (insults, hate, threats,
profanity aimed at people). The scores feed CommentGate's policy, which approves, holds for a
moderator, or rejects. The default thresholds are set so that a site's legitimate comments are
approved on their own and only near-certain cases are rejected; everything in between waits for
a person. It is not meant to make decisions about people (bans, reports) without a moderator."""

_LIMITS = """\
- **Language.** Trained on English text only. Comments in other languages get scores that mean
  little; the policy's language rule can hold them instead.
- **Derived attributes.** `SEVERE_TOXICITY` and `THREAT` are not predicted: they are derived
  from the toxicity score at a stricter calibration (toxicity² and toxicity³), so they keep its
  order and its errors, and a threat worded politely scores as low as its toxicity.
- **Identity terms and dialect.** The toxicity data sets were collected by keyword, and models
  trained on them flag African-American English and comments that merely mention identity groups
  more often (Davidson et al. 2019 describe this for the tweets used here). Expect false holds on
  such comments and keep a person in the loop for them.
- **Domains not seen.** Product reviews, support forums, code discussions, long-form essays and
  comment sections of other cultures are not in the training data. SMS and YouTube spam differ
  from blog spam; only one small blog data set (607 comments) was available.
- **Label definitions differ** between the toxicity sets (profanity is toxic in two of them and
  not in the others); the model follows whichever set a comment resembles most.
- **Time.** Most data are from 2009–2019; new spam campaigns and slang drift away from it.
  Moderators' decisions, exported with `commentgate feedback export`, correct the model for a
  site (`commentgate train` without `--data`)."""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _data_table(
    metadata: Mapping[str, Any], provenance: Mapping[str, Mapping[str, str]]
) -> list[str]:
    lines = [
        "| data set | task | train / dev rows | source | licence |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for d in metadata.get("datasets", []):
        about = provenance.get(d["name"], {})
        lines.append(
            f"| {d['name']} | {d['task']} | {d['train_rows']:,} / {d['dev_rows']:,} "
            f"| {about.get('source', 'the project')} | {about.get('licence', 'the project')} |"
        )
    return lines


def _metrics_table(metadata: Mapping[str, Any]) -> list[str]:
    lines = [
        "| task | data set | dev rows | ROC AUC | average precision |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for task, per_set in metadata.get("dev_metrics", {}).items():
        for name, m in per_set.items():
            lines.append(
                f"| {task} | {name} | {m['n']:,} | {m['roc_auc']} | {m['average_precision']} |"
            )
    return lines


def _decisions_table(metadata: Mapping[str, Any], which: str) -> list[str]:
    lines = [
        "| task | data set | legitimate: approved / held / rejected "
        "| bad: approved / held / rejected |",
        "| --- | --- | --- | --- |",
    ]
    found = metadata.get("dev_decisions", {})
    for task, name, both in ((t, n, d) for t, sets in found.items() for n, d in sets.items()):
        shares = both.get(which, {})
        cells = []
        for kind in ("legit", "bad"):
            s = shares.get(kind)
            cells.append(
                " / ".join(_pct(s[a]) for a in ("approved", "held", "rejected")) if s else "–"
            )
        lines.append(f"| {task} | {name} | {cells[0]} | {cells[1]} |")
    return lines


def _tradeoff_table(metadata: Mapping[str, Any], task: str) -> list[str]:
    lines = [
        "| target: legitimate approved on every set | approve below | legitimate approved "
        "(mean / worst set) | bad approved (mean / worst set) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for point in metadata.get("tradeoff", {}).get(task, []):
        lines.append(
            f"| {_pct(point['target'])} | {point['approve_below']:.4f} "
            f"| {_pct(point['legit_approved'])} / {_pct(point['legit_approved_min'])} "
            f"| {_pct(point['bad_approved'])} / {_pct(point['bad_approved_max'])} |"
        )
    return lines


def _borrowed(metadata: Mapping[str, Any]) -> list[str]:
    """A sentence on the legitimate comments a task learned from the other task's data sets.
    What the mixer and the gate did with them is read from the mixture the model records:
    with too few borrowed comments to fold, training leaves both as they were."""
    config = metadata.get("train_config", {})
    lines = []
    for task, per_set in sorted((config.get("borrow_legit") or {}).items()):
        mixture = metadata.get("mixtures", {}).get(task, {})
        gated = f"{task}/gate/{BORROWED_GATE}" in mixture.get("gates", [])
        mixed = gated or (
            config.get("borrow_mix", 0) > 0
            and not config.get("borrow_gate", False)
            and mixture.get("fitted_on") == "train out-of-fold"
        )
        seen_by = (
            "Its pooled head learns from them; its mixer does too, out of fold, weighing them "
            f"{config['borrow_mix']:.0%} of its rows"
            if mixed
            else "Only its pooled head sees them"
        )
        gate = (
            ", and its gate counts them as one more data set, so that what the mixer learns "
            "from them applies to comments that read like them (`resembles` names it "
            f'"{BORROWED_GATE}"), not to the spam data sets\' own comments.'
            if gated
            else "."
        )
        head = (
            f" A head of their own learns them against every {task} data set's bad comments, "
            "one more expert for the mixer: a news link in a forum post is told from a link "
            "drop under a video by what else the post says."
            if config.get("borrow_head")
            else ""
        )
        lines += [
            f"The {task} task also learns from up to {per_set:,} train comments of each of the "
            "other task's data sets that their labels call fine, as legitimate: a tweet or a "
            f"forum post that is not abuse is not spam either. {seen_by}{gate}{head}",
            "",
        ]
    return lines


def _block_scales(config: Mapping[str, Any]) -> list[str]:
    """A sentence on the feature blocks a task weighs apart from the others."""
    lines = []
    for task, blocks in sorted((config.get("block_scale") or {}).items()):
        weights = ", ".join(f"{block} {scale:g}" for block, scale in sorted(blocks.items()))
        lines += [
            f"The {task} task weighs these feature blocks apart from the rest ({weights}): a "
            "heavier block is penalised less in its heads and gate. The other task is "
            "unaffected.",
            "",
        ]
    return lines


def model_card(
    metadata: Mapping[str, Any], provenance: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """The card of the model described by `metadata`; `provenance` maps a data set's name to
    its `source` and `licence`."""
    provenance = provenance or {}
    config = metadata.get("train_config", {})
    thresholds = metadata.get("thresholds", {})
    out = [
        f"# Model card: CommentGate {metadata.get('version')}",
        "",
        f"Created {metadata.get('created')} from commit {metadata.get('git_commit') or 'unknown'}"
        f"; text normalizer and featurizer versions {metadata.get('code_versions')}. A model "
        "built with other versions is refused at load time.",
        "",
        "## Intended use",
        "",
        _INTENDED_USE,
        "",
        "## Training data",
        "",
        "Each public data set's train split trains; its dev split measures and sets the "
        "thresholds. Their test splits were held back from all of it. The project's own seed "
        "set (`training_data/seed/`) is included.",
        "",
        *_data_table(metadata, provenance),
        "",
        *_borrowed(metadata),
        *_block_scales(config),
        "Check these licences before you redistribute the model: one data set is share-alike "
        "(CC BY-SA 3.0), one copyleft (GPLv3), and several state none (the Kaggle insults data "
        "among them).",
        "",
        "## Quality on the dev splits",
        "",
        *_metrics_table(metadata),
        "",
        "`commentgate evaluate --task TASK --data SET_dev.csv` reproduces these figures.",
        "",
        "## Thresholds and how they were chosen",
        "",
        f"- spam: approve below {thresholds.get('spam', {}).get('approve_below')}, reject at "
        f"{thresholds.get('spam', {}).get('reject_at')}",
        f"- toxicity: approve below {thresholds.get('toxicity', {}).get('approve_below')}, "
        f"reject at {thresholds.get('toxicity', {}).get('reject_at')}",
        "",
        f"`approve_below` is the lowest score under which at least "
        f"{_pct(config.get('approve_legit'))} of the legitimate comments of **every** data set "
        f"fall; `reject_at` the lowest score at or above which at most "
        f"{_pct(config.get('reject_legit'))} of them fall. Both are shares of legitimate "
        "comments, so they do not depend on how many bad comments a data set holds (up to 83% "
        "on one, far more than a blog gets). A comment is approved when every score is below "
        "its `approve_below` and no policy rule objects. Data sets with fewer than "
        f"{config.get('threshold_min_rows')} legitimate dev comments do not set thresholds.",
        "",
        "What the model alone decides at these thresholds on each dev split, judged by the "
        "data set's own label (spam for the spam sets, toxicity for the others) and its own "
        "score:",
        "",
        *_decisions_table(metadata, "own_score"),
        "",
        "The same with both scores counting, as in the service (the policy's rules come on "
        "top). A comment of a toxicity set that the toxicity labels call fine can still be held "
        "for spam: on the tweet and Gab sets these are mostly promotional retweets with links "
        '("RT @politico: … http://t.co/…"), which a blog\'s moderator would look at too.',
        "",
        *_decisions_table(metadata, "both_scores"),
        "",
        "A site picks another point of the trade-off with `commentgate sites thresholds NAME`:",
        "",
    ]
    for task in ("spam", "toxicity"):
        out += [f"### {task}", "", *_tradeoff_table(metadata, task), ""]
    out += [
        "## Attributes",
        "",
        "`insult`, `identity_attack` and `profanity` are heads of the data sets whose labels "
        "define them (`classifier/datasets.json`), calibrated on their dev rows. "
        "`SEVERE_TOXICITY` and `THREAT` have no head of their own.",
        "",
        "## Known limits",
        "",
        _LIMITS,
        "",
        "## Reproducing it",
        "",
        "`make model DATA=path/to/public/data` trains it again (the settings are in the "
        "metadata's `train_config`); `commentgate data fetch` downloads the public data sets "
        "from their original sources, checked against pinned SHA-256 sums.",
        "",
    ]
    return "\n".join(out)
