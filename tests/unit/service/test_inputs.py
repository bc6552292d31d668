"""The edge's checks over arbitrary input (hypothesis): strict JSON and unstorable text."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from service.api.inputs import MalformedJSONError, check_fields, read_json, unstorable
from service.errors import ValidationError

UNSTORABLE_CHARS = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]
# Any code point, surrogates included, and the unstorable ones often.
TEXT = st.text(
    alphabet=st.characters(exclude_categories=()) | st.sampled_from(UNSTORABLE_CHARS), max_size=12
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        keys = [key for key in value if isinstance(key, str)]
        return [*keys, *(t for child in value.values() for t in texts(child))]
    if isinstance(value, list):
        return [t for child in value for t in texts(child)]
    return []


def non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(non_finite(child) for child in value.values())
    if isinstance(value, list):
        return any(non_finite(child) for child in value)
    return False


def storable(text: str) -> bool:
    return not any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in text)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_json_is_read_back_unless_it_holds_what_json_cannot(value: Any) -> None:
    document = json.dumps(value)  # lone surrogates escaped, NaN and Infinity written as such
    if non_finite(value):
        with pytest.raises(MalformedJSONError):
            read_json(document)
    else:
        assert read_json(document) == value
        assert read_json(document.encode("utf-8")) == value


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_unstorable_reports_exactly_the_values_with_unstorable_text(value: Any) -> None:
    messages = unstorable(value)
    assert bool(messages) == (not all(storable(t) for t in texts(value)))
    json.dumps(messages)  # answered to the client as is: never echoes the text itself
    assert all(storable(t) for t in texts(messages))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_a_document_or_a_malformed_json_error(data: bytes) -> None:
    try:
        read_json(data)
    except MalformedJSONError as exc:
        assert str(exc)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30_000), st.sampled_from(["[", '{"a":', '{"":[']), st.sampled_from([0, 1]))
def test_nesting_is_read_or_refused_never_recursion(depth: int, opener: str, pad: int) -> None:
    closer = "".join({"[": "]", "{": "}"}[c] for c in reversed(opener) if c in "[{")
    document = opener * depth + "1" * pad + closer * depth
    try:
        read_json(document)
    except MalformedJSONError as exc:
        assert "nested too deeply" in str(exc) or "not valid JSON" in str(exc)


def test_twenty_thousand_levels_are_refused_as_too_deep() -> None:
    with pytest.raises(MalformedJSONError, match="nested too deeply"):
        read_json("[" * 20_000 + "]" * 20_000)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT), max_size=6))
def test_fields_are_refused_exactly_when_a_name_or_value_cannot_be_stored(
    pairs: list[tuple[str, str]],
) -> None:
    bad = not all(storable(name) and storable(value) for name, value in pairs)
    try:
        check_fields(MultiDict(pairs), {})
    except ValidationError as exc:
        assert bad and exc.status == 422 and exc.details
    else:
        assert not bad
