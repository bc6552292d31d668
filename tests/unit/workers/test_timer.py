"""The worker's timer thread (the embedded broker has no event loop to run timers on)."""

from __future__ import annotations

import threading
import time

from workers.timer import PromptTimer


def test_an_entry_added_while_the_timer_waits_runs_when_due_not_at_the_next_entry() -> None:
    timer = PromptTimer(max_interval=30.0)
    ran = threading.Event()
    try:
        timer.call_repeatedly(30.0, lambda: None)  # the housekeeping: next due in half a minute
        time.sleep(0.2)  # the thread is now waiting for it
        started = time.monotonic()
        timer.call_after(0.01, ran.set)
        assert ran.wait(5.0), "the new entry ran"
        assert time.monotonic() - started < 5.0
    finally:
        stopping = time.monotonic()
        timer.stop()
    assert time.monotonic() - stopping < 5.0, "stopping does not wait for the next entry"
