"""What an Open311 client checks in an answer, shared by the tests/test_open311*.py files.

* :func:`spark` reads an XML answer back into JSON by the specification's Spark convention
  (a root list → an array; ``attributes``/``values`` → arrays; an empty element → null; the
  types the specification gives its fields), so the XML can be compared with the JSON answer
  and validated against the same published schema;
* :func:`validate` checks a JSON answer against the Open311 project's published JSON Schemas
  (vendored in ``tests/fixtures/open311``, see its PROVENANCE.md), with the date-time formats
  checked for real (a w3 date-time *with* an offset);
* :func:`check_error` checks the specification's error list in either format.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).resolve().parent / "fixtures" / "open311"
ROOTS = {"services": "service", "service_requests": "request", "errors": "error"}
LISTS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
BOOLEANS = {"metadata", "variable", "required"}
NUMBERS = {"lat": float, "long": float, "order": int}
DATES = ("requested_datetime", "updated_datetime", "expected_datetime")


def _registry() -> Registry:
    resources = [(p.name, Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT7))
                 for p in SCHEMAS.glob("*.json")]
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validate(data, schema: str) -> None:
    """Raise unless ``data`` is valid against the published schema ``schema`` (e.g. ``services.json``)."""
    contents = json.loads((SCHEMAS / schema).read_text())
    Draft7Validator(contents, registry=REGISTRY, format_checker=FormatChecker()).validate(data)
    items = data if isinstance(data, list) else [data]
    for item in items:   # the specification's w3 format: an offset is required
        for name in DATES:
            value = item.get(name) if isinstance(item, dict) else None
            if value is not None:
                assert datetime.fromisoformat(value).utcoffset() is not None, f"{name} {value} has no offset"


def _value(element: ET.Element, name: str):
    children = list(element)
    if name in LISTS:
        return [_item(child) for child in children]
    if children:
        return _item(element)
    text = element.text
    if text is None or text == "":
        return [] if name in LISTS else None
    if name in BOOLEANS:
        assert text in ("true", "false"), f"{name}: {text}"
        return text == "true"
    if name in NUMBERS:
        return NUMBERS[name](text)
    return text


def _item(element: ET.Element) -> dict:
    return {child.tag: _value(child, child.tag) for child in element}


def spark(body: bytes):
    """An XML answer as the JSON the Spark convention maps it to (errors' codes as numbers)."""
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), body[:80]
    root = ET.fromstring(body)
    if root.tag in ROOTS:
        assert all(child.tag == ROOTS[root.tag] for child in root), [c.tag for c in root]
        items = [_item(child) for child in root]
        if root.tag == "errors":
            for item in items:
                item["code"] = int(item["code"])
        return items
    return _item(root)


def check_error(response, status: int, fmt: str) -> str:
    """The answer is the specification's error list with ``status``; its description."""
    assert response.status_code == status, (response.status_code, response.get_data()[:300]
                                            if hasattr(response, "get_data") else response.content[:300])
    body = response.get_data() if hasattr(response, "get_data") else response.content
    content_type = response.headers["Content-Type"]
    assert b"<html" not in body.lower() and b"<!doctype" not in body.lower()
    if fmt == "xml":
        assert content_type == "text/xml; charset=utf-8"
        errors = spark(body)
    else:
        assert content_type == "application/json; charset=utf-8"
        errors = json.loads(body)
    assert isinstance(errors, list) and len(errors) == 1
    assert set(errors[0]) == {"code", "description"} and errors[0]["code"] == status
    assert isinstance(errors[0]["description"], str) and errors[0]["description"].strip()
    return errors[0]["description"]
