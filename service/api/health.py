"""Liveness, readiness (database and broker reachable) and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from sqlalchemy import func, select, text

from service.models import Comment, WebhookDelivery
from service.state import state

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


def _check_database() -> str | None:
    try:
        with state().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}"
    return None


def _check_broker() -> str | None:
    try:
        with state().celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}"
    return None


@blp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = {"database": _check_database(), "broker": _check_broker()}
    ready = not any(checks.values())
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": {name: error or "ok" for name, error in checks.items()},
    }
    response = jsonify(body)
    if not ready:
        response.headers["Retry-After"] = "5"
    return response, 200 if ready else 503


class _StoreCollector:
    """Gauges read from the database at scrape time, so every API replica reports the same truth."""

    def collect(self):  # noqa: ANN201
        with state().sessions() as session:
            comments = session.execute(
                select(Comment.status, func.count()).group_by(Comment.status)
            ).all()
            deliveries = session.execute(
                select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
            ).all()
        gauge = GaugeMetricFamily(
            "commentgate_comments", "Stored comments by status", labels=["status"]
        )
        for status, count in comments:
            gauge.add_metric([status], count)
        yield gauge
        gauge = GaugeMetricFamily(
            "commentgate_webhook_deliveries", "Webhook deliveries by status", labels=["status"]
        )
        for status, count in deliveries:
            gauge.add_metric([status], count)
        yield gauge


@blp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    registry.register(_StoreCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
