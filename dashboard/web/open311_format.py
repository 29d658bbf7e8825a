"""Open311 answers as the specification writes them: XML (required) and JSON (its Spark mapping).

XML: ``<?xml version="1.0" encoding="utf-8"?>``, no namespace, a root element (``services``,
``service_definition``, ``service_requests``, ``errors``, ``discovery``) holding one element
per item (``service``, ``request``, ``error``); a list inside an item is a plural element of
singular ones (``attributes``/``attribute``, ``values``/``value``, ``endpoints``/``endpoint``,
``formats``/``format``); ``None`` is an empty element, booleans are ``true``/``false``.
JSON: the same data by the Spark convention — a root list is a JSON array, an inner list an
array named as its plural element, ``None`` is ``null``.  Both are UTF-8 with the charset in
the ``Content-Type``.
"""
from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

from flask import Response

CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
#: a plural element → its singular items
SINGULAR = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format",
            "services": "service", "service_requests": "request", "errors": "error"}
#: characters XML 1.0 cannot carry at all (old stored text may hold them): dropped from answers
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, data: dict) -> None:
    for key, value in data.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            item_name = SINGULAR.get(key, "item")
            for item in value:
                sub = ET.SubElement(child, item_name)
                if isinstance(item, dict):
                    _fill(sub, item)
                else:
                    sub.text = _text(item)
        elif isinstance(value, dict):
            _fill(child, value)
        else:
            child.text = _text(value)


def xml_document(root: str, data) -> bytes:
    """``data`` (a list of dicts under ``root``, or one dict that is ``root``) as an XML document."""
    element = ET.Element(root)
    if isinstance(data, list):
        for item in data:
            _fill(ET.SubElement(element, SINGULAR.get(root, "item")), item)
    else:
        _fill(element, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def json_document(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def answer(fmt: str, root: str, data, status: int = 200) -> Response:
    """A response in ``fmt`` (xml or json) of ``data`` under ``root``."""
    body = xml_document(root, data) if fmt == "xml" else json_document(data)
    response = Response(body, status=status, content_type=CONTENT_TYPES[fmt])
    response.open311 = True   # an answer of this door: the error guard leaves it alone
    return response


def errors(fmt: str, status: int, description: str, code: int | None = None) -> Response:
    """The specification's error list: one ``{code, description}`` (code = the HTTP status)."""
    return answer(fmt, "errors", [{"code": code or status, "description": description}], status)


__all__ = ["CONTENT_TYPES", "xml_document", "json_document", "answer", "errors"]
