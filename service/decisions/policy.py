"""The decision step: model scores, a site's rules and the author's history become a verdict.

Pure functions, no I/O: the queue worker, the synchronous compatibility endpoints and re-scoring
all call :func:`judge` (through ``pipeline.verdict_for``), so every path decides the same way.

Order of evaluation (the README's "Policy" section says the same):

1. ``honeypot`` - the hidden form field is filled: reject.
2. ``blocked_term`` - a blocked term in the content, author name, e-mail, URL or IP: reject.
3. ``repeat_post`` - the same or nearly the same text seen ``flood.copies`` times within the
   window, on any post of any site: ``flood.action`` (hold or reject). The reason counts only
   the site's own copies and says whether other sites had the text, never how often.
4. ``spam_score`` / ``toxicity_score`` (with ``model_terms``) - the model's scores against the
   site's thresholds: hold or reject.
5. ``too_many_links``, 6. ``suspect_term``, 7. ``language``, 8. ``too_fast`` - hold.
9. ``author_history`` - recent rejections of the author, or a burst from one author or IP: hold.
10. ``author_history`` (trusted) - an author with approved comments and no rejection: the model's
    hold (or a reject below ``reputation.trusted_max_score``) is waived.
11. The author's standing, set by a moderator (``service.authors``): ``author_banned`` and
    ``author_suspended`` (until its end) reject, ``author_premoderated`` holds, and
    ``author_trusted`` waives every other rule except ``honeypot`` and ``blocked_term``.

Every rule that fires adds a reason. The most severe action wins (reject > hold > approve); on a
tie the earlier step in this order decides, and ``decided_by`` says whether that was the model or
a rule. Nothing fired: approve, decided by the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from service.decisions import terms

SEVERITY = {"approve": 0, "hold": 1, "reject": 2}
# The metadata keys the policy reads besides the site's own honeypot field (the API checks their
# types when a comment arrives).
HONEYPOT_NAME_KEY = "honeypot_field_name"
SUBMIT_SECONDS_KEY = "submit_seconds"
FORM_RENDERED_KEY = "form_rendered_at"
SUBMITTED_KEY = "submitted_at"
DEFAULT_MAX_LINKS = 2
FALLBACK_THRESHOLDS = {
    "spam": {"approve_below": 0.5, "reject_at": 0.95},
    "toxicity": {"approve_below": 0.5, "reject_at": 0.95},
}
MODES = ("enforce", "trial")
TRIAL_WEBHOOKS = ("send", "none")
DEFAULTS: dict[str, Any] = {
    # "trial": every comment is decided and kept, nothing is acted on (see ``is_trial``)
    "mode": "enforce",
    # In trial mode webhooks are sent marked ``"trial": true``, or not at all ("none").
    "trial_webhooks": "send",
    "thresholds": {},
    "max_links": DEFAULT_MAX_LINKS,
    "blocked_terms": [],
    "suspect_terms": [],
    "honeypot_field": None,
    "min_submit_seconds": None,
    "languages": [],
    "reputation": {
        "enabled": True,
        "trusted_after": 1,
        "trusted_max_score": None,
        "rejections_to_hold": 1,
        "rejection_window_days": 30.0,
    },
    "burst": {"enabled": True, "max_comments": 5, "window_seconds": 60.0},
    # Akismet clients: certain spam is answered "discard" (the platform may delete it unseen)
    # only when the site opts in; otherwise it goes to the platform's spam folder.
    "akismet_discard": False,
    # Perspective clients: text in a language the model was not trained on is scored anyway
    # (marked out of domain; Coral publishes unchecked on an error) or answered with a 400.
    "perspective_languages": "score",
    # Perspective's suggestscore (Coral's moderator approve/reject): kept as a moderation
    # decision, or, with "toxicity", as a toxicity label to train on.
    "perspective_feedback": "decision",
    "flood": {
        "enabled": True,
        "copies": 3,
        "window_seconds": 3600.0,
        "action": "hold",
        "min_chars": 30,
        "near_duplicates": True,
    },
}
GROUPS = ("reputation", "burst", "flood")
LINK_PATTERN = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Author:
    """The author's standing on the site, known by e-mail hash or else by IP."""

    known_by: str | None = None
    approved: int = 0
    rejected: int = 0
    recent_rejections: int = 0
    recent_by_author: int = 0
    recent_by_ip: int = 0


@dataclass(frozen=True)
class History:
    """What the store knows around a comment: its author and earlier copies of its text, on
    every site (``copies``, which decides) and on the comment's own (``copies_here``, which
    alone is shown: a site must not learn how often another received a text)."""

    author: Author = field(default_factory=Author)
    copies: int = 0
    copies_here: int = 0


STANDINGS = ("trusted", "premoderated", "suspended", "banned")


@dataclass(frozen=True)
class Standing:
    """A moderator's standing for the author, still in force when the comment is decided (the
    pipeline leaves out a suspension that has ended)."""

    kind: str
    until: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the policy looks at besides the scores."""

    content: str
    author_name: str | None = None
    author_email: str | None = None
    author_url: str | None = None
    author_ip: str | None = None
    language: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    submitted_at: datetime | None = None
    history: History | None = None
    standing: Standing | None = None


@dataclass(frozen=True)
class ModelOutput:
    scores: Mapping[str, float]
    terms: Mapping[str, Sequence[str]]
    version: str | None
    thresholds: Mapping[str, Mapping[str, float]]
    failed: bool = False  # the model could not score the comment: a moderator decides


@dataclass(frozen=True)
class Verdict:
    action: str
    decided_by: str
    reasons: list[dict[str, Any]]


@dataclass
class _Fired:
    action: str | None  # None: a reason that explains but does not decide (model_terms)
    by: str
    reason: dict[str, Any]
    task: str | None = None


def resolve(site_policy: Mapping[str, Any]) -> dict[str, Any]:
    """The site's settings over the defaults (groups are merged key by key)."""
    settings = {**DEFAULTS, **_present(site_policy)}
    for group in GROUPS:
        settings[group] = {**DEFAULTS[group], **_present(site_policy.get(group) or {})}
    return settings


def is_trial(site_policy: Mapping[str, Any]) -> bool:
    """A site in trial mode runs beside its current filter: its comments are decided and kept
    as usual, but the answers it gets act on nothing (webhooks say ``trial``, Akismet says
    "not spam", Perspective gives scores and never refuses)."""
    mode: str = resolve(site_policy)["mode"]
    return mode == "trial"


def sends_webhooks(site_policy: Mapping[str, Any]) -> bool:
    """Whether decisions go out by webhook: always, unless in trial mode with ``none``."""
    settings = resolve(site_policy)
    mode: str = settings["mode"]
    trial_webhooks: str = settings["trial_webhooks"]
    return mode != "trial" or trial_webhooks == "send"


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def merge(stored: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386): objects merge, ``null`` removes an override."""
    result = dict(stored)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def effective_thresholds(
    site_policy: Mapping[str, Any], model_thresholds: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Site overrides win over the thresholds the model was calibrated with."""
    result: dict[str, dict[str, float]] = {}
    overrides = site_policy.get("thresholds") or {}
    for task, fallback in FALLBACK_THRESHOLDS.items():
        merged = dict(fallback)
        merged.update(model_thresholds.get(task) or {})
        merged.update({k: v for k, v in (overrides.get(task) or {}).items() if v is not None})
        result[task] = merged
    return result


def count_links(text: str) -> int:
    return len(LINK_PATTERN.findall(text))


def judge(facts: Facts, model: ModelOutput, site_policy: Mapping[str, Any]) -> Verdict:
    """Apply the rules in the documented order; every fired rule is a reason."""
    settings = resolve(site_policy)
    thresholds = effective_thresholds(site_policy, model.thresholds)
    fields = (
        terms.Fields.of(facts) if settings["blocked_terms"] or settings["suspect_terms"] else None
    )
    fired: list[_Fired] = [
        *_honeypot(facts, settings),
        *_terms(fields, settings["blocked_terms"], "blocked_term", "reject"),
        *_repeat_post(facts, settings),
        *_model(model, thresholds),
        *_links(facts, settings),
        *_terms(fields, settings["suspect_terms"], "suspect_term", "hold"),
        *_language(facts, settings),
        *_too_fast(facts, settings),
        *_author_history(facts, settings),
        *_standing(facts),
    ]
    fired = _trusted(facts, settings, model, thresholds, fired)
    deciding = [f for f in fired if f.action is not None]
    reasons = [f.reason for f in fired]
    if not deciding:
        return Verdict("approve", "model", [*reasons, _below_thresholds(model, thresholds)])
    top = max(SEVERITY[f.action] for f in deciding if f.action)
    winner = next(f for f in deciding if f.action and SEVERITY[f.action] == top)
    return Verdict(winner.action or "approve", winner.by, reasons)


def _rule(action: str, code: str, message: str, **details: Any) -> _Fired:
    return _Fired(action, "rule", {"code": code, "message": message, **details, "action": action})


def _honeypot(facts: Facts, settings: Mapping[str, Any]) -> Iterator[_Fired]:
    """The site's hidden field, or one the platform names per comment (as Akismet clients do)."""
    per_comment = facts.metadata.get(HONEYPOT_NAME_KEY)
    names = dict.fromkeys(n for n in (settings["honeypot_field"], per_comment) if n)
    for name in names:
        if isinstance(name, str) and str(facts.metadata.get(name) or "").strip():
            yield _rule(
                "reject", "honeypot", f"The hidden form field {name!r} was filled in.", field=name
            )
            return


def _repeat_post(facts: Facts, settings: Mapping[str, Any]) -> Iterator[_Fired]:
    """Copies on every site decide; the reason gives only the site's own count (and whether
    other sites had the text), never another site's."""
    flood = settings["flood"]
    history = facts.history or History()
    if not (flood["enabled"] and history.copies >= flood["copies"]):
        return
    window = flood["window_seconds"]
    here = min(history.copies_here, history.copies)
    elsewhere = history.copies > here
    yield _rule(
        flood["action"],
        "repeat_post",
        _repeat_message(here, elsewhere, window),
        copies=here,
        other_sites=elsewhere,
        max=flood["copies"],
        window_seconds=window,
    )


def _repeat_message(here: int, elsewhere: bool, window: float) -> str:
    """Another site's copies are mentioned, never counted."""
    text = "The same or nearly the same text was posted"
    if not here:
        return f"{text} on other sites within {window:g} seconds."
    times = "time" if here == 1 else "times"
    also = ", and on other sites too" if elsewhere else ""
    return f"{text} at least {here} {times} before on this site within {window:g} seconds{also}."


def _model(model: ModelOutput, thresholds: Mapping[str, Mapping[str, float]]) -> Iterator[_Fired]:
    if model.failed:
        message = "The model could not score this comment, so a moderator decides."
        failed: dict[str, Any] = {"code": "model_error", "message": message, "action": "hold"}
        yield _Fired("hold", "model", failed, None)
        return
    for task in ("spam", "toxicity"):
        score = float(model.scores.get(task, 0.0))
        limits = thresholds[task]
        if score >= limits["reject_at"]:
            action, limit = "reject", limits["reject_at"]
        elif score >= limits["approve_below"]:
            action, limit = "hold", limits["approve_below"]
        else:
            continue
        message = f"The {task} score {score:.2f} reached the {action} threshold {limit:.2f}."
        reason: dict[str, Any] = {
            "code": f"{task}_score",
            "message": message,
            "score": round(score, 4),
            "threshold": limit,
            "action": action,
        }
        yield _Fired(action, "model", reason, task)
        raised_by = list(model.terms.get(task) or [])
        if raised_by:
            message = f"Terms that raised the {task} score: {', '.join(raised_by)}."
            reason = {"code": "model_terms", "message": message, "task": task, "terms": raised_by}
            yield _Fired(None, "model", reason, task)


def _below_thresholds(
    model: ModelOutput, thresholds: Mapping[str, Mapping[str, float]]
) -> dict[str, Any]:
    """Why an approval is one: every score stayed under the site's approve threshold."""
    scores = {task: round(float(model.scores.get(task, 0.0)), 4) for task in ("spam", "toxicity")}
    limits = {task: thresholds[task]["approve_below"] for task in scores}
    shown = ", ".join(f"{task} {scores[task]:.2f} < {limits[task]:.2f}" for task in scores)
    return {
        "code": "below_thresholds",
        "message": f"Every score is below its approve threshold ({shown}).",
        "scores": scores,
        "thresholds": limits,
        "action": "approve",
    }


def _links(facts: Facts, settings: Mapping[str, Any]) -> Iterator[_Fired]:
    max_links = int(settings["max_links"])
    links = count_links(facts.content)
    if links > max_links:
        message = f"The comment has {links} links; the site allows {max_links}."
        yield _rule("hold", "too_many_links", message, count=links, max=max_links)


def _language(facts: Facts, settings: Mapping[str, Any]) -> Iterator[_Fired]:
    allowed = [str(x).lower() for x in settings["languages"]]
    if not allowed or not facts.language:
        return
    language = facts.language.lower()
    if language not in allowed and language.split("-")[0] not in allowed:
        message = f"The comment's language {facts.language!r} is not one the site accepts."
        yield _rule("hold", "language", message, language=facts.language, allowed=allowed)


def _too_fast(facts: Facts, settings: Mapping[str, Any]) -> Iterator[_Fired]:
    minimum = settings["min_submit_seconds"]
    if not minimum:
        return
    seconds = submit_seconds(facts.metadata, facts.submitted_at)
    if seconds is not None and seconds < minimum:
        message = f"The form was sent {seconds:.1f} s after it was shown; humans need {minimum:g}."
        yield _rule("hold", "too_fast", message, seconds=round(seconds, 3), min=minimum)


def _author_history(facts: Facts, settings: Mapping[str, Any]) -> Iterator[_Fired]:
    if facts.history is None:
        return
    author = facts.history.author
    reputation, burst = settings["reputation"], settings["burst"]
    if reputation["enabled"] and author.recent_rejections >= reputation["rejections_to_hold"]:
        days = reputation["rejection_window_days"]
        yield _rule(
            "hold",
            "author_history",
            f"The author had {author.recent_rejections} comment(s) rejected in the last "
            f"{days:g} days.",
            kind="recent_rejections",
            rejections=author.recent_rejections,
            window_days=days,
        )
    if not burst["enabled"]:
        return
    for by, count in (("author", author.recent_by_author), ("ip", author.recent_by_ip)):
        if count >= burst["max_comments"]:
            window = burst["window_seconds"]
            yield _rule(
                "hold",
                "author_history",
                f"This {'IP address' if by == 'ip' else 'author'} sent {count} other comments "
                f"within {window:g} seconds.",
                kind="burst",
                by=by,
                count=count,
                max=burst["max_comments"],
                window_seconds=window,
            )


STANDING_RULES = {
    "banned": ("reject", "author_banned", "A moderator banned this author."),
    "suspended": ("reject", "author_suspended", "A moderator suspended this author"),
    "premoderated": ("hold", "author_premoderated", "A moderator premoderates this author."),
}
# What a moderator's trust does not waive: the author did not write these by accident.
UNWAIVED = ("honeypot", "blocked_term")


def _standing(facts: Facts) -> Iterator[_Fired]:
    """Ban, suspension and premoderation decide like rules (trust is in :func:`_trusted`)."""
    standing = facts.standing
    if standing is None or standing.kind not in STANDING_RULES:
        return
    action, code, message = STANDING_RULES[standing.kind]
    details: dict[str, Any] = {"standing": standing.kind}
    if standing.kind == "suspended":
        message += f" until {standing.until:%Y-%m-%d %H:%M} UTC." if standing.until else "."
        details["until"] = standing.until.isoformat() if standing.until else None
    if standing.reason:
        details["note"] = standing.reason
    yield _rule(action, code, message, **details)


def _trusted_by_moderator(facts: Facts, fired: Sequence[_Fired]) -> list[_Fired]:
    """A moderator trusts the author: every hold or reject is waived but the unwaivable."""
    waive = [
        i
        for i, item in enumerate(fired)
        if item.action in ("hold", "reject") and item.reason["code"] not in UNWAIVED
    ]
    details: dict[str, Any] = {"standing": "trusted", "waived": _codes(fired, waive)}
    if facts.standing and facts.standing.reason:
        details["note"] = facts.standing.reason
    reason = _rule("approve", "author_trusted", "A moderator trusts this author.", **details)
    return [*_waived(fired, waive), reason]


def _trusted(
    facts: Facts,
    settings: Mapping[str, Any],
    model: ModelOutput,
    thresholds: Mapping[str, Mapping[str, float]],
    fired: Sequence[_Fired],
) -> list[_Fired]:
    """``fired`` as trust leaves it, in a new list: a trusted author's model outcomes are
    waived unless a score is very high; an author a moderator trusts has every outcome waived
    but the unwaivable. A waived outcome stays as a reason that decides nothing, and the trust
    adds its own reason last."""
    if facts.standing is not None and facts.standing.kind == "trusted":
        return _trusted_by_moderator(facts, fired)
    reputation = settings["reputation"]
    author = facts.history.author if facts.history else None
    if not reputation["enabled"] or author is None or author.rejected:
        return list(fired)
    if author.approved < reputation["trusted_after"]:
        return list(fired)
    very_high = reputation["trusted_max_score"]
    waive = [
        i
        for i, item in enumerate(fired)
        if item.by == "model"
        and item.action is not None
        and item.task is not None
        and float(model.scores.get(item.task, 0.0))
        < (thresholds[item.task]["reject_at"] if very_high is None else very_high)
    ]
    if not waive:
        return list(fired)
    reason = _rule(
        "approve",
        "author_history",
        f"The author has {author.approved} approved comment(s) and no rejection: trusted.",
        kind="trusted",
        approved=author.approved,
        waived=_codes(fired, waive),
    )
    return [*_waived(fired, waive), reason]


def _waived(fired: Sequence[_Fired], waive: Sequence[int]) -> list[_Fired]:
    """Copies of the outcomes at ``waive`` that no longer decide; the others as they are."""
    return [replace(item, action=None) if i in waive else item for i, item in enumerate(fired)]


def _codes(fired: Sequence[_Fired], waive: Sequence[int]) -> list[str]:
    return [fired[i].reason["code"] for i in waive]


def submit_seconds(metadata: Mapping[str, Any], submitted_at: datetime | None) -> float | None:
    """Seconds between form render and submit: ``submit_seconds``, or the two timestamps."""
    direct = _number(metadata.get(SUBMIT_SECONDS_KEY))
    if direct is not None:
        return direct if direct >= 0 else None
    rendered = _moment(metadata.get(FORM_RENDERED_KEY))
    sent = _moment(metadata.get(SUBMITTED_KEY)) or submitted_at
    if rendered is None or sent is None:
        return None
    seconds = (sent - rendered).total_seconds()
    return seconds if seconds >= 0 else None  # clocks disagree: no measurement


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _moment(value: Any) -> datetime | None:
    """An RFC 3339 string or Unix time in seconds (or milliseconds, as JavaScript sends it)."""
    number = _number(value)
    if number is not None:
        try:
            return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _terms(
    fields: terms.Fields | None, listed: Sequence[str], code: str, action: str
) -> Iterator[_Fired]:
    if fields is None:
        return
    kind = "blocked" if code == "blocked_term" else "suspect"
    for term, where in terms.find_terms(fields, listed):
        label = where.replace("_", " ")
        message = f"The {label} contains the {kind} term {term!r}."
        yield _rule(action, code, message, term=term, field=where)
