"""Celery workers: scoring comments and delivering webhooks."""
