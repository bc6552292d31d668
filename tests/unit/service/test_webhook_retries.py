"""The retry schedule, the endpoint's health, and one attempt's claim and record, on real SQLite
and PostgreSQL databases (PostgreSQL claims and records a plain attempt in one statement each)
with the HTTP request replaced (the integration tests send real ones)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, sessionmaker

from service import attempt_statements, attempts, endpoint_health, recovery
from service.config import DEFAULT_DISABLE_AFTER, Settings
from service.db import make_engine, make_session_factory, session_scope
from service.models import AuditEntry, Site, WebhookAttempt, WebhookDelivery, utcnow
from service.retry_schedule import DEFAULT_SCHEDULE, JITTER, RetrySchedule, parse_duration
from service.sites import create_site, set_webhook_url
from service.webhooks import reopen_since
from tests.support.domain import Domain

DAY = 86400.0


# --- the schedule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5", 5.0), ("0.5", 0.5), ("250ms", 0.25), ("5s", 5.0), ("5m", 300.0), ("2h", 7200.0)]
    + [("1d", DAY), ("1w", 7 * DAY), (" 30 m ", 1800.0)],
)
def test_durations_are_a_number_and_a_unit(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "-5s", "5 minutes", "1e3", "5y"])
def test_other_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_the_default_schedule_keeps_an_event_over_a_day_even_at_its_shortest() -> None:
    schedule = RetrySchedule.parse(DEFAULT_SCHEDULE)
    assert schedule.describe() == "5s,5m,30m,2h,5h,10h,10h" and schedule.attempts == 8
    assert schedule.span * (1 - JITTER) > DAY
    # A site failing for good is disabled before its oldest event runs out of attempts.
    assert parse_duration(DEFAULT_DISABLE_AFTER) < schedule.span * (1 - JITTER)


def test_each_delay_varies_by_a_tenth_and_the_last_attempt_has_none() -> None:
    schedule = RetrySchedule.parse("10s,1m")
    rng = random.Random(7)
    first = [schedule.delay_after(1, rng) for _ in range(200)]
    assert all(9 <= d <= 11 for d in first) and max(first) - min(first) > 1
    assert 54 <= (schedule.delay_after(2, rng) or 0) <= 66
    assert schedule.delay_after(3, rng) is None and schedule.delay_after(0, rng) is None
    assert RetrySchedule.parse("").attempts == 1
    with pytest.raises(ValueError):
        RetrySchedule.parse("5s,0s")


def test_settings_read_the_schedule_and_the_disabling(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "COMMENTGATE_HOME": str(tmp_path),
            "COMMENTGATE_WEBHOOK_RETRY_SCHEDULE": "1s, 1m",
            "COMMENTGATE_WEBHOOK_DISABLE_AFTER": "5d",
            "COMMENTGATE_WEBHOOK_RETRY_CONCURRENCY": "4",
        }
    )
    assert settings.webhook_retry_schedule.delays == (1.0, 60.0)
    assert settings.webhook_disable_after == 5 * DAY
    assert settings.webhook_retry_concurrency == 4
    defaults = Settings.from_env({"COMMENTGATE_HOME": str(tmp_path)})
    assert defaults.webhook_retry_schedule == RetrySchedule.parse(DEFAULT_SCHEDULE)
    assert defaults.webhook_disable_after == DAY


def test_delayed_messages_go_to_the_retry_queue_and_outlast_the_longest_wait() -> None:
    from workers.celery_app import RETRY_QUEUE, RETRY_TASK, celery_config, visibility_timeout
    from workers.lanes import retry_argv, retry_prefetch

    settings = Settings(broker_url="redis://127.0.0.1:6379/0")
    config = celery_config(settings)
    assert config["task_routes"][RETRY_TASK] == {"queue": RETRY_QUEUE}
    timeout = config["broker_transport_options"]["visibility_timeout"]
    assert timeout == visibility_timeout(settings) > 10 * 3600 * (1 + JITTER)
    argv = retry_argv("INFO", 6, retry_prefetch(settings.is_embedded_broker))
    assert ["-Q", RETRY_QUEUE] == argv[2:4]
    assert {"--pool=threads", "--concurrency=6", "--prefetch-multiplier=1"} <= set(argv)


def test_the_embedded_retry_lane_holds_more_than_a_message_per_thread() -> None:
    """Without an event loop Celery sends acknowledgements between two-second waits for the
    broker: with one message per thread the lane would take 6 messages every two seconds."""
    from workers.lanes import EMBEDDED_RETRY_PREFETCH, retry_argv, retry_prefetch

    embedded = Settings.from_env({})
    assert embedded.is_embedded_broker
    argv = retry_argv("INFO", 6, retry_prefetch(embedded.is_embedded_broker))
    assert f"--prefetch-multiplier={EMBEDDED_RETRY_PREFETCH}" in argv
    assert EMBEDDED_RETRY_PREFETCH > 1


# --- one attempt on a real database --------------------------------------------------------------


class Endpoint:
    """Stands in for the HTTP request: answers each attempt with the next status (None: no
    answer at all), and counts the attempts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *answers: int | None) -> None:
        self.answers = list(answers)
        self.posts = 0
        monkeypatch.setattr(attempts, "post_event", self.post)

    def post(self, http: Any, target: Any, **_: Any) -> tuple[int | None, str | None, float]:
        self.posts += 1
        status = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if status is None:
            return None, "ConnectionError: refused", 1.0
        return status, None if 200 <= status < 300 else f"HTTP {status}", 1.0


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, domain: Domain) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        yield domain.sessions
        return
    yield request.getfixturevalue("postgres_sessions")


@pytest.fixture
def postgres_sessions(migrated_postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_postgres_url)
    yield make_session_factory(engine)
    engine.dispose()


def rules(schedule: str = "1m,1m", disable_after: float = DAY) -> attempts.Rules:
    return attempts.Rules(RetrySchedule.parse(schedule), disable_after, 5.0, True)


def new_site(sessions: sessionmaker[Session], name: str = "blog") -> str:
    with session_scope(sessions) as session:
        return create_site(session, name, "http://127.0.0.1:9/hook", allow_private=True).site.id


def new_delivery(sessions: sessionmaker[Session], site_id: str, created_ago: float = 0) -> str:
    created = utcnow() - timedelta(seconds=created_ago)
    with session_scope(sessions) as session:
        delivery = WebhookDelivery(
            site_id=site_id,
            event_id=f"msg_{random.getrandbits(64):x}",
            event_type="comment.decided",
            payload={"type": "comment.decided", "data": {}},
            status="pending",
            attempts=0,
            next_attempt_at=created,
            created_at=created,
        )
        session.add(delivery)
        session.flush()
        return delivery.id


def run(
    sessions: sessionmaker[Session],
    delivery_id: str,
    rule: attempts.Rules | None = None,
    *,
    expected: int | None = None,
    turn: attempts.Turn | None = None,
) -> attempts.Outcome | None:
    return attempts.attempt(
        sessions, None, delivery_id, rule or rules(), expected=expected, turn=turn
    )  # type: ignore[arg-type]


def row(sessions: sessionmaker[Session], model: Any, key: str) -> Any:
    with session_scope(sessions) as session:
        found = session.get_one(model, key)
        session.expunge(found)
        return found


def test_a_failure_schedules_the_next_attempt_and_a_success_ends_the_streak(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = Endpoint(monkeypatch, 503, None, 200)
    site_id = new_site(sessions)
    delivery_id = new_delivery(sessions, site_id)

    first = run(sessions, delivery_id, expected=0)
    assert first is not None and first.status == "pending" and first.attempts == 1
    assert first.retry_in is not None and 54 <= first.retry_in <= 66
    delivery = row(sessions, WebhookDelivery, delivery_id)
    assert delivery.last_error == "HTTP 503" and delivery.next_attempt_at > utcnow()
    site = row(sessions, Site, site_id)
    assert site.webhook_failures == 1 and site.webhook_failing_since is not None

    assert run(sessions, delivery_id, expected=0) is None, "a stale copy makes no attempt"
    assert run(sessions, delivery_id, expected=1).attempts == 2  # type: ignore[union-attr]
    assert row(sessions, Site, site_id).webhook_failures == 2
    done = run(sessions, delivery_id, expected=2)
    assert done is not None and done.delivered and done.retry_in is None
    site = row(sessions, Site, site_id)
    assert site.webhook_failures == 0 and site.webhook_failing_since is None
    assert site.webhook_last_success_at is not None and site.webhook_disabled_at is None
    assert endpoint.posts == 3
    with session_scope(sessions) as session:
        codes = session.scalars(select(WebhookAttempt.status_code).order_by(WebhookAttempt.id))
        assert list(codes) == [503, None, 200]


def test_a_plain_attempt_on_postgresql_is_one_statement_to_claim_and_one_to_record(
    postgres_sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = postgres_sessions  # SQLite takes the general path: several statements
    Endpoint(monkeypatch, 200)
    site_id = new_site(sessions)
    delivery_id = new_delivery(sessions, site_id)
    engine = sessions.kw["bind"]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    share = attempts.SiteShare(1)
    assert share.enter(site_id) == attempts.ENTERED
    turn = attempts.Turn(share, print, holding=site_id, site_id=site_id)
    done = run(sessions, delivery_id, expected=0, turn=turn)
    assert done is not None and done.delivered and done.attempts == 1
    assert len(statements) == 2, statements
    assert statements[0].startswith("UPDATE webhook_deliveries")
    assert "INSERT INTO webhook_attempts" in statements[1]
    delivery = row(sessions, WebhookDelivery, delivery_id)
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.next_attempt_at is None and delivery.delivered_at is not None
    site = row(sessions, Site, site_id)
    assert site.webhook_last_success_at is not None and site.webhook_failures == 0
    with session_scope(sessions) as session:
        logged = session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
        )
        assert [(a.status_code, a.error) for a in logged] == [(200, None)]
    assert run(sessions, delivery_id, expected=0) is None, "a second copy finds it delivered"
    assert share.enter(site_id) == attempts.ENTERED, "the place was left"


def test_an_attempts_statements_commit_without_waiting_for_disk_and_only_they(
    postgres_sessions: sessionmaker[Session],
) -> None:
    """The claim and a success's record turn `synchronous_commit` off for their own transaction;
    the next transaction on the same connection has the connection's setting again."""
    sessions = postgres_sessions
    site_id = new_site(sessions)
    delivery_id = new_delivery(sessions, site_id)
    engine = sessions.kw["bind"]
    setting = text("SELECT current_setting('synchronous_commit')")
    now = utcnow()
    with engine.connect() as connection:
        connection.exec_driver_sql("SET synchronous_commit = on")  # the test database has it off
        connection.commit()
        with connection.begin():
            claimed = attempt_statements.claim(
                connection, delivery_id, expected=0, first_lane=True, now=now, timeout=5.0
            )
            assert claimed is not None and claimed.attempts == 1
            assert connection.scalar(setting) == "off"
        assert connection.scalar(setting) == "on"
        connection.rollback()
        with connection.begin():
            attempt_statements.record_delivered(
                connection, delivery_id, site_id, now=now, status_code=200, latency_ms=1.0
            )
            assert connection.scalar(setting) == "off"
        assert connection.scalar(setting) == "on"
    assert row(sessions, WebhookDelivery, delivery_id).status == "delivered"


def test_the_last_attempt_of_an_event_marks_it_failed(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    Endpoint(monkeypatch, 500)
    delivery_id = new_delivery(sessions, new_site(sessions))
    assert run(sessions, delivery_id, rules("1s")).status == "pending"  # type: ignore[union-attr]
    last = run(sessions, delivery_id, rules("1s"))
    assert last is not None and last.status == "failed" and last.retry_in is None
    delivery = row(sessions, WebhookDelivery, delivery_id)
    assert delivery.status == "failed" and delivery.next_attempt_at is None


def test_gone_disables_the_site_at_once_and_keeps_its_events_unattempted(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = Endpoint(monkeypatch, 410)
    site_id = new_site(sessions)
    gone, later = new_delivery(sessions, site_id), new_delivery(sessions, site_id)

    outcome = run(sessions, gone)
    assert outcome is not None and outcome.disabled == "the endpoint answered 410 Gone"
    assert outcome.status == "pending" and outcome.retry_in is None
    kept = run(sessions, later)
    assert kept is not None and kept.kind == attempts.KEPT and endpoint.posts == 1
    for delivery_id in (gone, later):
        delivery = row(sessions, WebhookDelivery, delivery_id)
        assert delivery.status == "pending" and delivery.next_attempt_at is None
    with session_scope(sessions) as session:
        audit = session.scalars(select(AuditEntry.action)).all()
        assert audit == [endpoint_health.AUDIT_DISABLED]
        assert recovery.claim_overdue_deliveries(session, utcnow() + timedelta(days=9), 0) == []

        site = session.get_one(Site, site_id)
        resent = endpoint_health.enable(session, site, utcnow(), why="test")
    assert sorted(resent) == sorted([gone, later])
    delivery = row(sessions, WebhookDelivery, gone)
    assert delivery.attempts == 0 and delivery.next_attempt_at is not None
    assert row(sessions, Site, site_id).webhook_disabled_at is None


def test_a_site_failing_longer_than_the_limit_is_disabled(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    Endpoint(monkeypatch, None)
    site_id = new_site(sessions)
    first, second = new_delivery(sessions, site_id), new_delivery(sessions, site_id)
    limit = rules(",".join(["1s"] * 20), disable_after=3600)
    assert run(sessions, first, limit).disabled is None  # type: ignore[union-attr]
    with session_scope(sessions) as session:  # the streak started over an hour ago
        site = session.get_one(Site, site_id)
        site.webhook_failing_since = utcnow() - timedelta(hours=1, seconds=1)
    outcome = run(sessions, second, limit)
    assert outcome is not None and "2 failed attempts in a row since" in (outcome.disabled or "")
    assert outcome.status == "pending" and outcome.retry_in is None
    assert row(sessions, WebhookDelivery, second).next_attempt_at is None


def test_a_new_url_enables_the_site_and_resends_what_was_kept(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    Endpoint(monkeypatch, 410)
    site_id = new_site(sessions)
    delivery_id = new_delivery(sessions, site_id)
    run(sessions, delivery_id)
    with session_scope(sessions) as session:
        site = session.get_one(Site, site_id)
        assert set_webhook_url(session, site, "https://example.org/hook") == [delivery_id]
    site = row(sessions, Site, site_id)
    assert site.webhook_url == "https://example.org/hook" and site.webhook_disabled_at is None
    assert site.webhook_failures == 0


def test_a_busy_site_waits_its_turn_on_the_first_lane_and_a_failing_one_is_handed_over(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = Endpoint(monkeypatch, None)
    site_id = new_site(sessions)
    share = attempts.SiteShare(1)
    resumed: list[str] = []
    turn = attempts.Turn(share, resumed.append)
    assert share.enter(site_id) == attempts.ENTERED  # one attempt of this site is under way
    waiting = new_delivery(sessions, site_id)
    busy = run(sessions, waiting, turn=turn)
    assert busy is not None and busy.kind == attempts.WAITING and endpoint.posts == 0
    share.leave(site_id)
    assert resumed == [site_id], "the attempt under way passed its place on"
    resumed_outcome = run(sessions, waiting, turn=attempts.Turn(share, resumed.append, site_id))
    assert resumed_outcome is not None and resumed_outcome.kind == attempts.ATTEMPTED
    assert endpoint.posts == 1 and share.enter(site_id) == attempts.ENTERED
    share.leave(site_id)

    for _ in range(endpoint_health.HANDOVER_STREAK - 1):
        run(sessions, new_delivery(sessions, site_id), turn=turn)
    assert endpoint.posts == endpoint_health.HANDOVER_STREAK
    failing = run(sessions, new_delivery(sessions, site_id), turn=turn)
    assert failing is not None and failing.kind == attempts.HANDED_OVER and failing.attempts == 0
    assert run(sessions, new_delivery(sessions, site_id)).kind == attempts.ATTEMPTED  # type: ignore[union-attr]
    with session_scope(sessions) as session:  # the failures stopped a while ago: a probe goes
        site = session.get_one(Site, site_id)
        site.webhook_last_failure_at = utcnow() - endpoint_health.HANDOVER_WINDOW * 2
    probe = run(sessions, new_delivery(sessions, site_id), turn=turn)
    assert probe is not None and probe.kind == attempts.ATTEMPTED
    assert share.enter(site_id) == attempts.ENTERED, "every attempt left its place"


def test_an_event_whose_site_is_known_waits_before_reading_anything(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = Endpoint(monkeypatch, 200)
    site_id = new_site(sessions)
    share = attempts.SiteShare(1, backlog=1)
    resumed: list[str] = []
    assert share.enter(site_id) == attempts.ENTERED
    known = attempts.Turn(share, resumed.append, site_id=site_id)
    waiting = run(sessions, "no-such-delivery", expected=0, turn=known)
    assert waiting is not None and waiting.kind == attempts.WAITING
    full = run(sessions, "no-such-delivery", expected=0, turn=known)
    assert full is not None and full.kind == attempts.HANDED_OVER and full.attempts == 0
    share.leave(site_id)
    assert resumed == [site_id] and endpoint.posts == 0
    delivery_id = new_delivery(sessions, site_id)
    held = attempts.Turn(share, resumed.append, holding=site_id, site_id=site_id)
    sent = run(sessions, delivery_id, expected=0, turn=held)
    assert sent is not None and sent.delivered and endpoint.posts == 1
    assert share.enter(site_id) == attempts.ENTERED, "the place was left"


def test_a_held_place_passes_on_when_the_attempt_has_nothing_to_send(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    Endpoint(monkeypatch, 200)
    site_id = new_site(sessions)
    share = attempts.SiteShare(1)
    assert share.enter(site_id) == attempts.ENTERED  # the place this resumed attempt holds
    delivered = new_delivery(sessions, site_id)
    run(sessions, delivered)  # another copy delivered it meanwhile
    assert run(sessions, delivered, turn=attempts.Turn(share, print, site_id)) is None
    assert share.enter(site_id) == attempts.ENTERED, "the place was passed on"


def test_a_sites_share_admits_in_order_and_hands_over_past_its_backlog() -> None:
    share = attempts.SiteShare(2, backlog=2)
    resumed: list[str] = []
    assert [share.enter("a"), share.enter("a")] == [attempts.ENTERED] * 2
    assert share.enter("a") == attempts.FULL, "without a way to resume it cannot wait"
    assert share.enter("a", lambda _: resumed.append("first")) == attempts.WAITING
    assert share.enter("a", lambda _: resumed.append("second")) == attempts.WAITING
    assert share.enter("a", lambda _: resumed.append("third")) == attempts.FULL
    assert share.enter("b") == attempts.ENTERED, "another site has places of its own"
    share.leave("a")
    assert resumed == ["first"]
    assert share.enter("a", lambda _: resumed.append("late")) == attempts.WAITING, (
        "a newcomer queues behind those waiting even if a place is about to free"
    )
    share.leave("a")
    share.leave("a")
    assert resumed == ["first", "second", "late"]
    for _ in range(3):
        share.leave("a")
    assert [share.enter("a"), share.enter("a"), share.enter("a")] == [
        attempts.ENTERED,
        attempts.ENTERED,
        attempts.FULL,
    ]


def test_the_sweep_resends_overdue_events_with_their_attempt_counts(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    Endpoint(monkeypatch, 503)
    site_id = new_site(sessions)
    retried = new_delivery(sessions, site_id, created_ago=120)
    run(sessions, retried, rules("1s"))
    lost = new_delivery(sessions, site_id, created_ago=120)
    later = utcnow() + timedelta(seconds=60)
    with session_scope(sessions) as session:
        overdue = recovery.claim_overdue_deliveries(session, later, 30)
    assert sorted(overdue) == sorted([(retried, 1), (lost, 0)])


def test_replay_since_reopens_the_range_only(sessions: sessionmaker[Session]) -> None:
    site_id = new_site(sessions)
    other = new_site(sessions, "other")
    old = new_delivery(sessions, site_id, created_ago=7200)
    recent = new_delivery(sessions, site_id, created_ago=60)
    elsewhere = new_delivery(sessions, other, created_ago=60)
    with session_scope(sessions) as session:
        session.get_one(WebhookDelivery, recent).status = "delivered"
    since = utcnow() - timedelta(hours=1)
    with session_scope(sessions) as session:
        assert reopen_since(session, since, site_id=site_id) == [recent]
        assert reopen_since(session, since, status="failed") == []
        assert sorted(reopen_since(session, since)) == sorted([recent, elsewhere])
    assert row(sessions, WebhookDelivery, recent).status == "pending"
    assert row(sessions, WebhookDelivery, old).created_at < since


def test_the_gauges_report_each_sites_disabled_state_and_failures(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.metrics.store import StoreGauges

    Endpoint(monkeypatch, 410)
    gone, fine = new_site(sessions, "gone"), new_site(sessions, "fine")
    run(sessions, new_delivery(sessions, gone))
    new_delivery(sessions, fine)
    families = {f.name: f for f in StoreGauges(sessions, lambda: 0, lambda: None).collect()}
    disabled = {s.labels["site"]: s.value for s in families["commentgate_webhook_disabled"].samples}
    assert disabled == {"gone": 1, "fine": 0}
    failures = families["commentgate_webhook_consecutive_failures"].samples
    assert {s.labels["site"]: s.value for s in failures} == {"gone": 1, "fine": 0}


def test_the_retired_retry_settings_are_named_at_start(tmp_path: Path) -> None:
    from io import StringIO

    from rich.console import Console

    from service.startup import warn_retired_settings

    env = {"COMMENTGATE_HOME": str(tmp_path), "COMMENTGATE_WEBHOOK_MAX_ATTEMPTS": "12"}
    output = StringIO()
    console = Console(file=output, width=200)
    assert warn_retired_settings(Settings.from_env(env), console) == ["WEBHOOK_MAX_ATTEMPTS"]
    assert "COMMENTGATE_WEBHOOK_RETRY_SCHEDULE instead" in output.getvalue()
    assert (
        warn_retired_settings(Settings.from_env({"COMMENTGATE_HOME": str(tmp_path)}), console) == []
    )


def test_the_retry_lane_steps_down_its_cpu_priority() -> None:
    """``commentgate worker --lane retry`` lowers its own priority before it starts consuming."""
    import subprocess
    import sys

    script = (
        "import os; from workers.lanes import yield_cpu; before = os.nice(0); yield_cpu(); "
        "print(os.nice(0) - before)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "10", out.stderr
