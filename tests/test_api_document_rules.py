"""The rules the OpenAPI document states so that generated requests reach the logic (issue 12,
item 8 — what made the Schemathesis run warning-free), each checked against the code that
enforces it: a rule stated twice must say the same thing twice."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from dashboard.domain.components import is_component_code
from dashboard.domain.lifecycle import REQUIRED_INPUT
from dashboard.domain.permissions import EVENT_OF
from dashboard.web import api_models as m
from dashboard.web.api_messages import OWN_WORDS
from dashboard.web.openapi import build_spec
from tests.test_api import client, filed_case, tokens  # noqa: F401 - fixtures: the document-checking client


def test_required_inputs_of_the_domain_are_required_in_the_document():
    """``REQUIRED_INPUT`` (a handling note) is required, with a visible character, in the body
    of the command that appends that event — and refused at the door in the service's words."""
    schemas = build_spec()["components"]["schemas"]
    found = 0
    for action, event in EVENT_OF.items():
        for name in REQUIRED_INPUT.get(event, ()):
            schema = schemas[m.BODIES[action].__name__]
            assert name in schema["required"] and schema["properties"][name]["pattern"] == m.SOME_TEXT, action
            for blank in ({}, {name: ""}, {name: " \t"}):
                with pytest.raises(m.InvalidInput) as refused:
                    m.parse_body(action, blank)
                assert refused.value.msg.key == OWN_WORDS[name][0], (action, blank)
            found += 1
    assert found >= 1


def test_the_component_code_pattern_is_the_domains_rule():
    pattern = re.compile(m.COMPONENT_CODE)
    codes = [m.EXAMPLE_COMPONENT, "1101010118000001", "1101010699999999", "1101010118000000", "1101010018000001",
             "1101010718000001", "1101010100000001", "110101011800004", "11010101180000421", "x101010118000042",
             "9999990101100000"]
    codes += [f"1101010{major}{minor:02d}{serial:06d}" for major in range(0, 8) for minor in (0, 1, 10, 99)
              for serial in (0, 1, 100000, 999999)]
    for code in codes:
        assert bool(pattern.match(code)) == is_component_code(code), code


def test_a_version_is_a_json_integer():
    """JSON has one number type: 3.0 is the integer 3 (as JSON Schema's ``integer`` says);
    3.5, "3", true and 0 stay refused with their one-line messages."""
    assert m.parse_body("file", {"version": 3.0})["version"] == 3
    for bad, words in ((3.5, "must be integer"), ("3", "must be integer"), (True, "must be integer"),
                       (0.0, "positive integer")):
        with pytest.raises(m.InvalidInput) as refused:
            m.parse_body("file", {"version": bad})
        assert words in str(refused.value), bad


def test_a_blank_optional_time_is_documented_and_accepted(system, client, tokens):  # noqa: F811
    """``deadline: ""`` means the default deadline (as before) — and the document now says so."""
    deadline = build_spec()["components"]["schemas"]["DispatchBody"]["properties"]["deadline"]
    assert {"maxLength": 0} in deadline["anyOf"][0]["anyOf"]
    case_id = filed_case(client, tokens)
    answer = client.post(f"/api/v1/cases/{case_id}/dispatch", json={"department": "sanitation", "deadline": ""},
                         headers=tokens["operator"])
    assert answer.status_code == 200, answer.json
    assert client.problems == []


def test_a_photo_form_with_a_non_ascii_digit_as_version_is_a_400(system, client, tokens):  # noqa: F811
    """``version=²`` passed ``str.isdigit`` and then failed ``int()``: a 500 before."""
    case_id = filed_case(client, tokens)
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 60, 40)).save(out, "JPEG")
    answer = client.post(f"/api/v1/cases/{case_id}/photos", headers=tokens["supervision"],
                         data={"photo": [(io.BytesIO(out.getvalue()), "a.jpg")], "version": "²"},
                         content_type="multipart/form-data")
    assert answer.status_code == 400 and "version" in answer.json["message"], answer.json
