"""``/metrics`` for Prometheus, and the count and latency of every request.

A scrape adds up the series of every process (``service.metrics.folders``) and the gauges read
from the shared state (``service.metrics.store``). It needs ``COMMENTGATE_METRICS_TOKEN`` as a
bearer token; with no token set, only a direct request from this machine is answered.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, g, request

from classifier import Registry
from service.errors import ForbiddenError, UnauthorizedError
from service.metrics import access, exposition, series
from service.metrics.store import StoreGauges
from service.state import AppState, state

blp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    """Install before the rate limiter, so the time of a request it refuses counts too."""
    app.before_request(_start_clock)
    app.after_request(_count)
    app.register_blueprint(blp)
    app.extensions["commentgate_store_gauges"] = _store_gauges(app.extensions["commentgate"])


def _store_gauges(app_state: AppState) -> StoreGauges:
    registry = Registry(app_state.settings.model_dir)
    return StoreGauges(
        app_state.sessions,
        queue_depth=app_state.queue_depth,
        model_version=registry.active_version,
    )


def _start_clock() -> None:
    g.metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    started = g.get("metrics_started")
    seconds = None if started is None else time.perf_counter() - started
    series.observe_request(request.endpoint, request.method, response.status_code, seconds)
    return response


def check_access(token: str) -> None:
    """Raise the error to answer with, unless this request may read the metrics."""
    forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    refused = access.refusal(
        token, request.headers.get("Authorization"), request.remote_addr, forwarded
    )
    if refused is None:
        return
    if refused.status == 401:
        raise UnauthorizedError(refused.message)
    raise ForbiddenError(refused.message)


@blp.get("/metrics")
def metrics() -> Response:
    from flask import current_app

    check_access(state().settings.metrics_token)
    gauges = current_app.extensions["commentgate_store_gauges"]
    body, content_type = exposition.render(
        [exposition.process_collector(), gauges], request.headers.get("Accept")
    )
    response = Response(body, status=200)
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "no-store"
    return response
