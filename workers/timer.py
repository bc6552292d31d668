"""The worker's timer thread, woken by every new entry instead of at its next tick.

On a broker without an event loop (the embedded filesystem broker) Celery runs timers on a
thread of their own. Its stock loop sleeps until the next entry is due, up to a second, and
does not notice an entry added meanwhile: with the housekeeping entries always scheduled, a
batch's flush timer, started when a comment arrives, waited for that sleep to end, and every
comment for up to a second. Here the thread waits on the schedule's condition instead, which
adding an entry signals, and so does stopping.
"""

from __future__ import annotations

from celery.utils import timer2


class PromptTimer(timer2.Timer):
    def _next_entry(self) -> float | None:
        with self.not_empty:
            delay, entry = next(self.scheduler)
            if entry is None:
                # ``None`` means nothing is scheduled: wait until something is (or a second).
                self.not_empty.wait(1.0 if delay is None else delay)
                return None  # nothing for ``run`` to sleep: it asks again at once
        self.schedule.apply_entry(entry)
        return None

    def stop(self) -> None:
        """Wake the thread to see the shutdown now, not when its wait ends."""
        self._Timer__is_shutdown.set()  # type: ignore[attr-defined]  # the base's own flag
        with self.not_empty:
            self.not_empty.notify_all()
        super().stop()
