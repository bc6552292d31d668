"""Prometheus metrics: the series, where processes keep them, and how they are exposed.

``series`` defines every counter and histogram (created on first use, after the process that
starts the others has chosen the multiprocess folder); ``folders`` holds the per-process files
of prometheus_client's multiprocess mode; ``store`` computes the gauges read from the database,
the broker and the model registry at scrape time; ``access`` decides who may scrape;
``exposition`` renders a scrape; ``exporter`` serves a worker's own metrics over HTTP.
See docs/metrics.md.
"""
