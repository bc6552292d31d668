"""The decision pipeline: a comment's scores, its site's policy and its author's history become
a decision with reasons, recorded with its webhook event.

No Flask and no Celery in here: the queue worker, the synchronous Akismet and Perspective
endpoints and re-scoring all call the same functions.

- ``pipeline``: score a batch, decide each comment, record it (the entry point).
- ``policy``: the pure step, facts and scores to a verdict and its reasons.
- ``terms``: blocked and suspect terms, matched in normalized text.
- ``history``, ``reputation``, ``floods``, ``standings``: what the store knows around a comment.
- ``edits``: what a re-decision after an edit may change.
- ``recording``: the statements that write a decision and its event.
"""
