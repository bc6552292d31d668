"""The worker's tasks called in this process, on the embedded broker: what they decide, attempt
and publish (no worker process; the messages they send stay in the broker's folder)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import attempts
from service.attempts import HANDED_OVER, Outcome, SiteShare
from service.models import Comment, CommentBand, Lease, WebhookAttempt, WebhookDelivery, utcnow
from service.outbound import webhook_pool
from service.sites import NewSite
from tests.support.domain import Domain
from tests.support.failing_model import Serving
from tests.support.stored import ConstantModel, store_comment
from workers import tasks
from workers.celery_app import PRUNE_TASK, RETRY_TASK, SCORE_TASK, SWEEP_TASK
from workers.context import WorkerContext


class Inline:
    """Runs what is submitted at once, as the delivery threads would later."""

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        future.set_result(function(*args))
        return future


@pytest.fixture
def context(domain: Domain, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerContext]:
    """The worker's per-process context on the domain's database, scoring with a constant
    model; webhooks go to a closed loopback port, so every attempt fails at once."""
    http = webhook_pool(2)
    ctx = WorkerContext(
        settings=domain.settings,
        sessions=domain.sessions,
        model=Serving(ConstantModel(spam=0.7)),  # type: ignore[arg-type]
        http=http,
        deliveries=Inline(),  # type: ignore[arg-type]
        first_attempts=SiteShare(8),
    )
    monkeypatch.setattr(tasks, "get_context", lambda _app: ctx)
    yield ctx
    http.clear()


def run(domain: Domain, name: str, *args: Any) -> None:
    domain.celery.tasks[name].run(*args)


def requests_for(*ids: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(args=[i]) for i in ids]


def test_a_batch_is_decided_once_and_each_failed_first_attempt_is_retried_later(
    domain: Domain, domain_site: NewSite, context: WorkerContext, db: Session
) -> None:
    ids = [store_comment(domain, domain_site) for _ in range(2)]
    run(domain, SCORE_TASK, requests_for(ids[0], ids[1], ids[0]))

    assert {c.status for c in db.scalars(select(Comment))} == {"held"}
    deliveries = db.scalars(select(WebhookDelivery)).all()
    assert {d.attempts for d in deliveries} == {1}
    assert all(d.attempt_log[0].error for d in deliveries)
    retries = domain.queued()
    assert sorted(m.args for m in retries) == sorted([d.id, 1] for d in deliveries)
    assert {m.task for m in retries} == {RETRY_TASK} and all(m.eta for m in retries)

    run(domain, SCORE_TASK, requests_for(*ids))  # redelivered: nothing more
    assert len(db.scalars(select(WebhookAttempt)).all()) == 2 and len(domain.queued()) == 2


def test_a_retry_attempts_only_if_no_other_message_made_its_attempt_first(
    domain: Domain, domain_site: NewSite, context: WorkerContext, db: Session
) -> None:
    run(domain, SCORE_TASK, requests_for(store_comment(domain, domain_site)))
    delivery = db.scalars(select(WebhookDelivery)).one()
    run(domain, RETRY_TASK, delivery.id, 0)  # a stale copy of the first attempt's message
    db.expire_all()
    assert delivery.attempts == 1
    run(domain, RETRY_TASK, delivery.id, 1)
    db.expire_all()
    assert delivery.attempts == 2
    assert [m.args for m in domain.queued()] == [[delivery.id, 1], [delivery.id, 2]]


@pytest.mark.parametrize(
    ("outcome", "queued"),
    [
        (None, []),
        (Outcome("d1", HANDED_OVER, 2), [(RETRY_TASK, ["d1", 2], False)]),
        (Outcome("d1", attempts.WAITING, 0), []),
        (Outcome("d1", attempts.ATTEMPTED, 3, retry_in=60.0), [(RETRY_TASK, ["d1", 3], True)]),
        (Outcome("d1", attempts.ATTEMPTED, 8, status="failed"), []),
        (Outcome("d1", attempts.ATTEMPTED, 1, status="delivered"), []),
    ],
)
def test_what_follows_an_attempt(
    domain: Domain,
    context: WorkerContext,
    monkeypatch: pytest.MonkeyPatch,
    outcome: Outcome | None,
    queued: list[tuple[str, list[Any], bool]],
) -> None:
    monkeypatch.setattr(attempts, "attempt", lambda *_, **__: outcome)
    run(domain, tasks.DELIVER_TASK, "d1", 0)
    assert [(m.task, m.args, m.eta is not None) for m in domain.queued()] == queued


def stale(db: Session, comment_id: str) -> None:
    long_ago = utcnow() - timedelta(minutes=5)
    db.execute(update(Comment).where(Comment.id == comment_id).values(enqueued_at=long_ago))
    db.commit()


def overdue_delivery(db: Session, site_id: str) -> str:
    row = WebhookDelivery(
        site_id=site_id,
        event_id="msg_overdue",
        event_type="comment.decided",
        payload={},
        attempts=2,
        next_attempt_at=utcnow() - timedelta(minutes=5),
    )
    db.add(row)
    db.commit()
    return row.id


@pytest.fixture
def lost(domain: Domain, domain_site: NewSite, db: Session) -> tuple[str, str]:
    """A comment and a delivery whose messages were lost minutes ago."""
    comment_id = store_comment(domain, domain_site)
    stale(db, comment_id)
    return comment_id, overdue_delivery(db, domain_site.site.id)


def swept(domain: Domain) -> list[tuple[str, list[Any]]]:
    run(domain, SWEEP_TASK)
    return sorted((m.task, m.args) for m in domain.queued())


@pytest.mark.usefixtures("context")
def test_the_sweep_re_enqueues_lost_work_once_per_lease(
    domain: Domain, db: Session, lost: tuple[str, str]
) -> None:
    comment_id, delivery_id = lost
    assert swept(domain) == [(RETRY_TASK, [delivery_id, 2]), (SCORE_TASK, [comment_id])]
    for message in (domain.settings.broker_folder / "queue").glob("*.msg"):
        message.unlink()  # taken by a worker, and lost again
    stale(db, comment_id)
    assert swept(domain) == []  # another worker's sweep within the lease: skipped
    db.execute(update(Lease).values(until=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert swept(domain) == [(SCORE_TASK, [comment_id])]  # the delivery is not overdue yet


@pytest.mark.usefixtures("context")
def test_the_sweep_leaves_comments_alone_while_their_queue_has_a_backlog(
    domain: Domain, db: Session, lost: tuple[str, str]
) -> None:
    comment_id, delivery_id = lost
    domain.celery.send_task(SCORE_TASK, args=["waiting"])
    assert swept(domain) == [(RETRY_TASK, [delivery_id, 2]), (SCORE_TASK, ["waiting"])]
    assert db.get_one(Comment, comment_id).enqueued_at < utcnow() - timedelta(minutes=4)


def test_the_prune_drops_old_bands_at_most_once_an_hour(
    domain: Domain, domain_site: NewSite, context: WorkerContext, db: Session
) -> None:
    comment_id = store_comment(domain, domain_site)
    old = utcnow() - timedelta(days=31)
    db.add_all(CommentBand(comment_id=comment_id, band=f"b{n}", received_at=old) for n in (1, 2))
    db.add(CommentBand(comment_id=comment_id, band="fresh", received_at=utcnow()))
    db.commit()
    run(domain, PRUNE_TASK)
    assert db.scalars(select(CommentBand.band)).all() == ["fresh"]
    db.execute(update(CommentBand).values(received_at=old))
    db.commit()
    run(domain, PRUNE_TASK)  # within the hour's lease
    assert db.scalars(select(CommentBand.band)).all() == ["fresh"]


def test_a_batch_counts_each_message_once_in_arrival_order() -> None:
    batch = [SimpleNamespace(args=[n]) for n in ("b", "a", "b")] + [SimpleNamespace(args=[])]
    assert tasks._ids(batch) == ["b", "a"]
