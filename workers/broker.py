"""The task queue's length: Redis list lengths, or the embedded broker's message files."""

from __future__ import annotations

from celery import Celery
from kombu.exceptions import ChannelError

from workers.celery_app import QUEUE


def queue_length(app: Celery, queue: str = QUEUE) -> int:
    """Messages waiting in a task queue, not those already reserved by workers (nor delayed
    messages a worker holds until their time).

    kombu answers a passive declaration with the count (``LLEN`` of the queue's lists on Redis,
    the queue folder's message files on the embedded broker); on Redis an empty queue does not
    exist, and the declaration is refused.
    """
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
        try:
            declared = connection.default_channel.queue_declare(queue=queue, passive=True)
        except ChannelError:
            return 0
        return int(declared.message_count or 0)
