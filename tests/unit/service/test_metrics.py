"""Who may scrape, what a decision counts as, and the gauges read from the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.metrics import access, series
from service.metrics.store import StoreGauges
from service.models import Base

TOKEN = "s3cret-metrics-token"


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_without_a_token_a_direct_local_request_may_scrape(peer: str) -> None:
    assert access.refusal("", None, peer, forwarded=False) is None


@pytest.mark.parametrize("peer", ["203.0.113.9", "10.0.0.4", "172.18.0.5", "::2", "", None, "x"])
def test_without_a_token_other_addresses_are_refused(peer: str | None) -> None:
    refused = access.refusal("", None, peer, forwarded=False)
    assert refused is not None and refused.status == 403
    assert "COMMENTGATE_METRICS_TOKEN" in refused.message


def test_without_a_token_a_proxied_request_is_refused_even_from_loopback() -> None:
    refused = access.refusal("", None, "127.0.0.1", forwarded=True)
    assert refused is not None and refused.status == 403


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("", 401), (f"Basic {TOKEN}", 401), ("Bearer ", 401), ("Bearer nope", 403)],
)
def test_with_a_token_only_its_bearer_may_scrape(authorization: str | None, status: int) -> None:
    refused = access.refusal(TOKEN, authorization, "127.0.0.1", forwarded=False)
    assert refused is not None and refused.status == status
    assert access.refusal(TOKEN, f"Bearer {TOKEN}", "203.0.113.9", forwarded=True) is None


def test_the_endpoint_applies_the_rule(tmp_path: Path) -> None:
    from service import create_app

    def client(**env: str):
        settings = Settings.from_env({"COMMENTGATE_HOME": str(tmp_path), **env})
        return create_app(settings).test_client()

    local = client()
    answer = local.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    outside = local.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 403 and outside.get_json()["error"]["code"] == "forbidden"
    proxied = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403

    guarded = client(COMMENTGATE_METRICS_TOKEN=TOKEN)
    assert guarded.get("/metrics").status_code == 401
    wrong = guarded.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    right = guarded.get(
        "/metrics",
        headers={"Authorization": f"Bearer {TOKEN}"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert right.status_code == 200 and b"commentgate_http_requests_total" in right.data


def test_the_deciding_reason_is_the_first_with_the_decisions_action() -> None:
    reasons = [
        {"code": "spam_score", "action": "hold"},
        {"code": "model_terms"},
        {"code": "honeypot", "action": "reject"},
    ]
    assert series.deciding_reason("reject", "rule", reasons) == "honeypot"
    assert series.deciding_reason("hold", "model", reasons) == "spam_score"
    assert series.deciding_reason("approve", "model", []) == "none"
    moderator = [{"code": "moderator"}, {"code": "spam_score", "action": "reject"}]
    assert series.deciding_reason("reject", "moderator", moderator) == "moderator"


def test_a_decision_counts_when_its_transaction_commits() -> None:
    labels = {"action": "hold", "reason": "model_error", "decided_by": "model"}
    reasons = [{"code": "model_error", "action": "hold"}, {"code": "too_many_links"}]

    def counted() -> float:
        return REGISTRY.get_sample_value("commentgate_decisions_total", labels) or 0.0

    def record(session: Session) -> None:
        session.execute(text("SELECT 1"))  # decisions are counted after their rows are written
        series.count_decision_on_commit(session, "hold", "model", reasons)

    before = counted()
    with Session(create_engine("sqlite://")) as session:
        record(session)
        session.rollback()
        assert counted() == before
        record(session)
        assert counted() == before
        session.commit()
        assert counted() == before + 1
        session.execute(text("SELECT 1"))
        session.commit()
    assert counted() == before + 1
    links = {"reason": "too_many_links", "action": "hold", "decided_by": "model"}
    assert REGISTRY.get_sample_value("commentgate_decision_reasons_total", links)


def test_store_gauges_read_the_state_once_per_interval() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    depth = iter(range(100))
    gauges = StoreGauges(
        sessionmaker(engine), queue_depth=lambda: next(depth), model_version=lambda: "v-1"
    )

    def scrape(collector: StoreGauges) -> dict[str, float]:
        from prometheus_client import CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(collector)
        text = generate_latest(registry).decode()
        families = text_string_to_metric_families(text)
        return {s.name: s.value for f in families for s in f.samples}

    first = scrape(gauges)
    assert first == {
        "commentgate_oldest_pending_comment_age_seconds": 0.0,
        "commentgate_comments_pending": 0.0,
        "commentgate_webhook_deliveries_pending": 0.0,
        "commentgate_queue_depth": 0.0,
        "commentgate_model_info": 1.0,
    }
    assert scrape(gauges) == first  # cached: the broker was asked once
    uncached = StoreGauges(sessionmaker(engine), lambda: next(depth), lambda: None, ttl=0)
    assert scrape(uncached)["commentgate_queue_depth"] == 1.0
    assert scrape(uncached)["commentgate_queue_depth"] == 2.0
    assert "commentgate_model_info" not in scrape(uncached)
