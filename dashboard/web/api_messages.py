"""Pydantic's refusals of a request as the API's one-line messages (``api.*`` and ``cmd.*`` keys
in :mod:`dashboard.i18n.dispatch`), in the order a person fixes them: unknown fields, wrong
types, missing fields, bad values, and last a missing reason or handling note (which the
command service would refuse with the same words).  Used by :mod:`dashboard.web.api_models`
(``parse_body`` / ``parse_query``) and by the other doors' own body models."""
from __future__ import annotations

from functools import cache

from pydantic import BaseModel

from datasource.services.command_types import Msg

_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (type(None), "null"),
               (list, "array"), (dict, "object"))


def _json_type(value) -> str:
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "object")


@cache
def _properties(model: type[BaseModel]) -> dict[str, dict]:
    """field → its JSON schema, as documented (built once per model)."""
    return model.model_json_schema()["properties"]


@cache
def _field_types(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """field → the JSON types its schema allows (first = the one to name in a message)."""
    out = {}
    for name, prop in _properties(model).items():
        options = prop.get("anyOf", [prop])
        out[name] = tuple(o["type"] for o in options if "type" in o) or ("object",)
    return out


def _wrong_type(types: tuple[str, ...], value) -> bool:
    kind = _json_type(value)
    return not (kind in types or (kind == "integer" and "number" in types))


#: required texts that the command service, too, refuses in its own words when missing or blank
#: (the door answers the same words): field → the catalogue key and its values
OWN_WORDS: dict[str, tuple[str, dict]] = {"reason": ("cmd.reason_missing", {}),
                                          "note": ("evidence.input_missing", {"field": "note"})}


def _own_words(name: str) -> Msg:
    key, values = OWN_WORDS[name]
    return Msg(key, **values)


def message_for(model: type[BaseModel], errors: list[dict]) -> Msg:
    """The one message for pydantic's ``errors``: the thing to fix first."""
    types = _field_types(model)
    unknown = sorted(str(e["loc"][0])[:40] for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return Msg("api.unknown_fields", fields=", ".join(unknown[:10]))
    field_errors = [e for e in errors if e["loc"] and e["loc"][0] in types]
    for e in field_errors:
        name = e["loc"][0]
        if e["type"] != "missing" and (e["type"].endswith("_type") or
                                       (len(e["loc"]) == 1 and _wrong_type(types[name], e["input"]))):
            return Msg("api.wrong_type", field=name, expected=types[name][0])
    required = {n for n, f in model.model_fields.items() if f.is_required()}
    missing = [e["loc"][0] for e in field_errors if e["loc"][0] not in OWN_WORDS and
               (e["type"] == "missing" or (e["loc"][0] in required and e["input"] == ""))]
    if missing:
        return Msg("api.required", fields=", ".join(dict.fromkeys(missing)))
    for e in field_errors:
        if e["type"] != "missing":
            return _value_message(model, e)
    if field_errors:  # what is left: a missing reason or note, in the command service's own words
        return _own_words(field_errors[0]["loc"][0])
    return Msg("api.bad_json", reason=str(errors[0].get("msg", "?"))[:120])


def _value_message(model: type[BaseModel], error: dict) -> Msg:
    """The message for a value of the right JSON type that the model still refuses."""
    name, kind, ctx = error["loc"][0], error["type"], error.get("ctx") or {}
    if kind.startswith(("cmd.", "inputs.")):  # raised by our own validators with the catalogue's key
        return Msg(kind, **{**ctx, "field": name})
    if kind == "literal_error":
        prop = _properties(model)[name]
        prop = prop.get("items", prop)  # a list of choices (?stage=…&stage=…)
        choices = next(o["enum"] for o in prop.get("anyOf", [prop]) if "enum" in o)
        return Msg("cmd.bad_choice", field=name, choices=", ".join(choices))
    if name in OWN_WORDS and kind in ("string_too_short", "string_pattern_mismatch") and "\x00" not in error["input"]:
        return _own_words(name)   # blank: the command service's own words
    if kind == "string_too_long":
        return Msg("cmd.too_long", field=name, limit=ctx.get("max_length"))
    if kind in ("string_pattern_mismatch", "string_unicode"):
        return Msg("cmd.not_text", field=name)
    if kind == "finite_number":
        return Msg("cmd.not_number", field=name)
    if name == "version":
        return Msg("cmd.bad_version")
    return Msg("api.wrong_type", field=name, expected=_field_types(model)[name][0])
