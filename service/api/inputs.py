"""What every endpoint refuses before a view reads a request: text that cannot be stored, and
JSON that cannot be read safely.

A lone UTF-16 surrogate (``"\\ud800"`` in JSON) has no UTF-8 encoding, so neither SQLite nor
PostgreSQL can store it, and PostgreSQL refuses NUL characters in text and JSON. Both are refused
with a 422 in every text a request carries: the path and query string (``init_app``), form fields
(``check_fields``, called by the form endpoints) and every key and value of a JSON body
(``read_json`` with ``unstorable``, called by the JSON API's parser and by Perspective's
endpoints). JSON is read strictly: a body nested deeper than the parser can follow, ``NaN`` and
``Infinity`` (which are not JSON), numbers beyond a float and integers over Python's digit limit
are a 400 that says so, not a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Flask, request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.datastructures import MultiDict

from service.errors import ValidationError

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
NUL = "NUL characters (\\u0000)"
SURROGATES = "lone UTF-16 surrogates (\\ud800 to \\udfff)"
INVALID_MESSAGE = "The request is invalid; see details for each field."
MAX_REPORTED = 20

Path = tuple[str | int, ...]


class MalformedJSONError(ValueError):
    """A body that is not JSON this service reads; the message says why."""


def text_problem(text: str, subject: str = "Must") -> str | None:
    """Why ``text`` cannot be stored, or None when it can."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    what = NUL if found.group() == "\x00" else SURROGATES
    return f"{subject} not contain {what}."


def unstorable_paths(value: Any) -> Iterator[tuple[Path, str]]:
    """``(path, message)`` for each text in a JSON value that cannot be stored, keys included.

    Iterative rather than recursive: a parsed body may be nested close to the parser's limit.
    """
    stack: list[tuple[Path, Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                yield path, problem
        elif isinstance(item, Mapping):
            for key, child in reversed(list(item.items())):
                problem = text_problem(key, "Keys must") if isinstance(key, str) else None
                if problem:
                    yield path, problem
                else:
                    stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, i), child) for i, child in reversed(list(enumerate(item))))


def unstorable(value: Any) -> dict[str | int, Any]:
    """The problems of ``unstorable_paths`` nested by field, as marshmallow reports errors."""
    messages: dict[str | int, Any] = {}
    for count, (path, message) in enumerate(unstorable_paths(value)):
        if count == MAX_REPORTED:
            break
        _put(messages, path or ("_schema",), message)
    return messages


def _put(messages: dict[str | int, Any], path: Path, message: str) -> None:
    node = messages
    for key in path[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            return  # already reported at a shorter path
        node = child
    listed = node.setdefault(path[-1], [])
    if isinstance(listed, list) and message not in listed:
        listed.append(message)


def check_fields(*groups: Mapping[str, Any]) -> None:
    """Refuse path, query or form fields holding text that cannot be stored (a 422)."""
    messages: dict[str, list[str]] = {}
    for group in groups:
        pairs: Iterable[tuple[str, Any]]
        pairs = group.items(multi=True) if isinstance(group, MultiDict) else group.items()
        for name, value in pairs:
            if problem := text_problem(name, "Names must"):
                messages.setdefault("_schema", [problem])
            elif isinstance(value, str) and (problem := text_problem(value)):
                messages.setdefault(name, [problem])
    if messages:
        raise ValidationError(INVALID_MESSAGE, messages)


def read_json(data: bytes | str) -> Any:
    """The JSON document in ``data``, read strictly (see the module's docstring)."""
    try:
        return json.loads(data, parse_constant=_not_json, parse_float=_finite)
    except RecursionError as exc:
        raise MalformedJSONError("The JSON body is nested too deeply.") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise MalformedJSONError(f"The body is not valid JSON: {exc}") from exc


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"the number {text[:40]} is too large")
    return number


class StrictParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with ``read_json`` and refusing their
    unstorable text with the field-level 422 of any other validation error."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        try:
            body = read_json(data)
        except MalformedJSONError as exc:
            flask_smorest.abort(400, message=str(exc))
        messages = unstorable(body)
        if messages:
            raise ma.ValidationError(messages)
        return body


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint with the strict parser; the JSON API's blueprints use it."""

    ARGUMENTS_PARSER = StrictParser()


def init_app(app: Flask) -> None:
    """Check the path and the query string of every request, before any view reads them."""

    @app.before_request
    def _check_path_and_query() -> None:
        check_fields(request.view_args or {}, request.args)
