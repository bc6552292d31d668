"""One scrape: the collectors of this process (or its whole tree), in the format asked for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from service.metrics import folders

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric


class _InMemory:
    """The default registry's series, when this process keeps its metrics in memory."""

    def collect(self) -> Iterable[Metric]:
        from prometheus_client import REGISTRY

        return REGISTRY.collect()


def process_collector(everything: bool = True) -> Any:
    """The recorded series: the multiprocess files when there are some, else this process's."""
    return folders.collector(everything) or _InMemory()


def render(collectors: Iterable[Any], accept: str | None) -> tuple[bytes, str]:
    """The body and its one Content-Type (text format, or OpenMetrics when asked for)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
