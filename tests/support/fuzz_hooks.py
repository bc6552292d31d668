"""Schemathesis hooks for ``test_fuzz_openapi``: bodies the OpenAPI document alone would not
produce, of the kinds that once answered 500 or stalled the worker.

Each generated JSON body may instead have a lone UTF-16 surrogate or a NUL character added to
one of its texts, or be replaced by a document nested deeper than the parser follows; a comment
may carry arbitrary JSON as ``metadata``, under the keys the policy reads and others.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from typing import Any

import schemathesis
from hypothesis import strategies as st

# Deeper than the server's JSON parser follows with its default recursion limit. (Were the
# server to answer 500 again, schemathesis reports "Recursion limit reached" while writing the
# curl command that reproduces it.)
DEPTH = 1_200
# Serializing the deep documents (Python's JSON encoder counts its recursion).
sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * DEPTH))

UNSTORABLE = st.sampled_from(["\ud800", "\udfff", "\x00", "\ud83d", "\x00\udc00"])
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)
# The keys the policy reads, each present half the time, most often with a value of the wrong
# type (a non-empty list or object), beside free-form keys.
POLICY_KEYS = ["honeypot_field_name", "submit_seconds", "form_rendered_at", "submitted_at"]
CONTAINERS = st.lists(SCALARS, min_size=1, max_size=3) | st.dictionaries(
    ANY_TEXT, SCALARS, min_size=1, max_size=3
)
METADATA = st.tuples(
    st.fixed_dictionaries({}, optional={key: CONTAINERS | JSON for key in POLICY_KEYS}),
    st.dictionaries(ANY_TEXT, JSON, max_size=2),
).map(lambda pair: {**pair[1], **pair[0]})


# Otherwise valid comments, so that they reach the worker (few generated bodies are valid).
COMMENTS = st.fixed_dictionaries(
    {
        "external_id": st.uuids().map(str),
        "content": st.text(min_size=1, max_size=40).filter(str.strip),
        "metadata": METADATA,
    }
)


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy:
    if not isinstance(body, dict | list):
        return st.just(body)
    options = [st.just(body), st.just(_nested(DEPTH))]
    paths = list(_text_paths(body))
    if paths:
        options.append(st.tuples(st.sampled_from(paths), UNSTORABLE).map(_spoil(body)))
    operation = context.operation
    if operation is not None and (operation.method.upper(), operation.path) == (
        "POST",
        "/v1/comments",
    ):
        options.insert(0, COMMENTS)  # first: hypothesis draws its first branch most often
    return st.one_of(options)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _text_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _text_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _text_paths(child, (*path, index))


def _spoil(body: Any) -> Any:
    def spoil(choice: tuple[tuple[Any, ...], str]) -> Any:
        path, bad = choice
        spoiled = copy.deepcopy(body)
        parent = spoiled
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = parent[path[-1]] + bad
        return spoiled

    return spoil
