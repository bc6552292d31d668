"""/metrics on a real installation: the API under gunicorn with several processes, a Celery
worker, webhook receivers, on both back ends.

Every process writes its counters to its multiprocess file; one scrape of the API adds up the
API's processes and the worker's (they share COMMENTGATE_HOME), and the worker's own exporter
serves the worker's alone.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from classifier import Registry
from service.sites import NewSite
from tests.conftest import Receiver, Stack, auth, serve, stop_process, wait_for
from tests.support.local import free_port
from tests.support.stored import bearer, moderator_token

pytestmark = pytest.mark.integration

TOKEN = "metrics-" + uuid.uuid4().hex
BEARER = {"Authorization": f"Bearer {TOKEN}"}
TEXTS = [
    "Thanks, a thoughtful post about the history of the valley.",
    "I disagree with the second point, but the sources are good.",
    "BUY CHEAP PILLS NOW http://pills.example http://pills.example/a http://pills.example/b",
    "Great photos, where was the last one taken?",
]
COMMENTS_ENDPOINT = "comments.Comments"


class Scrape:
    """The samples of one scrape, summed over the labels a question leaves out."""

    def __init__(self, text: str) -> None:
        self.samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def names(self) -> set[str]:
        return {sample.name for sample in self.samples}

    def value(self, name: str, **labels: str) -> float:
        return sum(
            sample.value
            for sample in self.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    def labels(self, name: str) -> list[dict[str, str]]:
        return [sample.labels for sample in self.samples if sample.name == name]


def scrape(url: str, headers: dict[str, str] | None = None) -> Scrape:
    response = requests.get(url, headers=headers or BEARER, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].count("charset") == 1
    return Scrape(response.text)


def scrape_until(url: str, ready: Callable[[Scrape], bool], timeout: float = 30) -> Scrape:
    """Counters are recorded just after the work they count commits: poll until they arrive."""
    found: list[Scrape] = []

    def attempt() -> bool:
        found[:] = [scrape(url)]
        return ready(found[0])

    try:
        wait_for(attempt, timeout, interval=0.5)
    except AssertionError:
        raise AssertionError(
            "metrics never matched:\n"
            + "\n".join(sorted(f"{s.name}{s.labels} {s.value}" for s in found[0].samples))
        ) from None
    return found[0]


def post_comments(base: str, site: NewSite, prefix: str, texts: list[str]) -> list[str]:
    ids = []
    for index, text in enumerate(texts):
        body = {"external_id": f"{prefix}-{index}", "content": text}
        response = requests.post(f"{base}/v1/comments", json=body, headers=auth(site), timeout=10)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def decisions_of(base: str, site: NewSite, ids: list[str]) -> dict[str, dict[str, Any]] | None:
    found = {}
    for comment_id in ids:
        response = requests.get(f"{base}/v1/comments/{comment_id}", headers=auth(site), timeout=10)
        comment = response.json()
        if comment["status"] == "pending":
            return None
        found[comment_id] = comment["decision"]
    return found


def delivered_ids(receiver: Receiver) -> set[str]:
    return {json.loads(r["body"])["data"]["comment_id"] for r in receiver.delivered()}


@dataclass
class Sent:
    """What the test did, to compare with what the scrape says."""

    site: NewSite
    down: NewSite
    ids: list[str]
    decided: dict[str, dict[str, Any]]  # every decision but the moderator's, by comment id
    moderated: str
    verdict: str


def test_a_scrape_reports_what_the_pipeline_did(
    stack: Stack, make_site_for, start_receiver
) -> None:
    worker_port = free_port()
    stack.env.update(
        COMMENTGATE_METRICS_TOKEN=TOKEN,
        COMMENTGATE_WORKER_METRICS_PORT=str(worker_port),
        COMMENTGATE_WEBHOOK_RETRY_SCHEDULE="0.5",  # 2 attempts
    )
    receiver = start_receiver()
    site = make_site_for(stack, receiver.url)
    down = make_site_for(stack, f"http://127.0.0.1:{free_port()}/hook")  # nothing listens
    server, base = serve(stack)
    try:
        # No worker yet: the comments wait, on the broker's queue and in the database.
        ids = post_comments(base, site, "wp", TEXTS)
        [lost_id] = post_comments(base, down, "down", ["A comment whose webhook cannot arrive."])
        waiting = scrape_until(
            f"{base}/metrics",
            lambda m: m.value("commentgate_oldest_pending_comment_age_seconds") >= 1,
        )
        assert waiting.value("commentgate_comments_pending") == len(ids) + 1
        # one message per group of comments accepted within the publisher's window
        assert 1 <= waiting.value("commentgate_queue_depth") <= len(ids) + 1

        stack.start_worker()
        sent = _decide_and_deliver(stack, base, receiver, site, down, ids, lost_id)
        events = len(ids) + 1  # the moderator's decision sends a new event
        metrics = scrape_until(
            f"{base}/metrics",
            lambda m: (
                m.value("commentgate_webhook_attempts_total", site=site.site.name) >= events
                and m.value("commentgate_webhook_deliveries_failed_total") >= 1
                and m.value("commentgate_comments_pending") == 0
            ),
        )
        _check_requests(metrics, sent)
        _check_decisions(metrics, sent)
        _check_worker_and_webhooks(metrics, sent, events)
        _check_state(metrics, sent, Registry(stack.settings.model_dir).active_version())

        # The worker's own exporter: its processes only, behind the same token.
        worker = f"http://127.0.0.1:{worker_port}/metrics"
        assert requests.get(worker, timeout=10).status_code == 401
        own = scrape(worker)
        assert own.value("commentgate_decisions_total") == len(ids) + 1
        assert not own.value("commentgate_http_requests_total")

        # The API refuses a scrape without the token, or with another one.
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token"}
        assert requests.get(f"{base}/metrics", headers=wrong, timeout=10).status_code == 403
    finally:
        stop_process(server)


def _decide_and_deliver(
    stack: Stack,
    base: str,
    receiver: Receiver,
    site: NewSite,
    down: NewSite,
    ids: list[str],
    lost_id: str,
) -> Sent:
    """The worker decides; then a synchronous decision (Akismet) and a moderator's."""
    decided = wait_for(lambda: decisions_of(base, site, ids), 30)
    decided.update(wait_for(lambda: decisions_of(base, down, [lost_id]), 30))
    wait_for(lambda: delivered_ids(receiver) == set(ids), 30)
    check = requests.post(
        f"{base}/1.1/comment-check",
        data={
            "api_key": site.api_key,
            "blog": "https://blog.example",
            "user_ip": "203.0.113.7",
            "comment_content": "What a lovely walk, thank you for the map.",
        },
        timeout=10,
    )
    assert check.status_code == 200, check.text
    decided.update(decisions_of(base, site, [check.headers["X-akismet-guid"]]) or {})
    assert len(decided) == len(ids) + 2
    verdict = "reject" if decided[ids[0]]["action"] == "approve" else "approve"
    with stack.opened() as opened:
        oncall = moderator_token(opened, site, email="oncall@example.org")
    answer = requests.post(
        f"{base}/v1/moderation/comments/{ids[0]}/decision",
        json={"action": verdict},
        headers=bearer(oncall),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return Sent(site, down, ids, decided, ids[0], verdict)


def _check_requests(metrics: Scrape, sent: Sent) -> None:
    """Every POST counted once, whichever gunicorn process answered it."""
    posts = len(sent.ids) + 1
    requests_total = "commentgate_http_requests_total"
    assert metrics.value(requests_total, endpoint=COMMENTS_ENDPOINT, method="POST") == posts
    ok = {"endpoint": COMMENTS_ENDPOINT, "method": "POST", "status_class": "2xx"}
    assert metrics.value(requests_total, **ok) == posts
    duration = "commentgate_http_request_duration_seconds_count"
    assert metrics.value(duration, endpoint=COMMENTS_ENDPOINT) == posts
    assert metrics.value(requests_total, endpoint="akismet.comment_check", method="POST") == 1


def _check_decisions(metrics: Scrape, sent: Sent) -> None:
    """By action, exactly the comments' own decisions; each reason once per decision."""
    decisions = "commentgate_decisions_total"
    for action, count in Counter(d["action"] for d in sent.decided.values()).items():
        by_machine = sum(
            metrics.value(decisions, action=action, decided_by=by) for by in ("model", "rule")
        )
        assert by_machine == count, action
    moderator = {"action": sent.verdict, "reason": "moderator", "decided_by": "moderator"}
    assert metrics.value(decisions, **moderator) == 1
    assert metrics.value(decisions) == len(sent.decided) + 1
    given = Counter(code for d in sent.decided.values() for code in _codes(d))
    kept = _codes(sent.decided[sent.moderated])  # the moderator's decision keeps them
    for code, count in given.items():
        counted = metrics.value("commentgate_decision_reasons_total", reason=code)
        assert counted == count + (code in kept), code


def _check_worker_and_webhooks(metrics: Scrape, sent: Sent, events: int) -> None:
    """Scoring time and batches; the receiver's site succeeds, the other one is given up."""
    assert metrics.value("commentgate_model_scoring_seconds_count") >= 1
    batches = "commentgate_worker_batch_size_sum"
    assert metrics.value(batches, task="score_comment") >= len(sent.ids) + 1
    attempts = "commentgate_webhook_attempts_total"
    ok = {"site": sent.site.site.name, "outcome": "success", "status_class": "2xx"}
    assert metrics.value(attempts, **ok) >= events
    assert metrics.value(attempts, site=sent.site.site.name, outcome="failure") == 0
    failed = {"site": sent.down.site.name, "outcome": "failure", "status_class": "error"}
    assert metrics.value(attempts, **failed) == 2
    given_up = "commentgate_webhook_deliveries_failed_total"
    assert metrics.value(given_up, site=sent.down.site.name) == 1
    assert metrics.value("commentgate_webhook_attempt_duration_seconds_count") >= events + 2


def _check_state(metrics: Scrape, sent: Sent, version: str | None) -> None:
    """The backlog is gone; the model is the registry's active one, the one that decided."""
    assert metrics.value("commentgate_oldest_pending_comment_age_seconds") == 0
    assert metrics.value("commentgate_queue_depth") <= 2  # at most the sweep's own messages
    assert metrics.labels("commentgate_model_info") == [{"version": version}]
    assert metrics.value("commentgate_model_info") == 1
    assert {d["model_version"] for d in sent.decided.values()} == {version}


def _codes(decision: dict[str, Any]) -> set[str]:
    return {reason["code"] for reason in decision["reasons"]}
