"""Inputs at the edge: the one set of rules every door applies to what people and programs send.

Every door — the API, the pages' command callbacks, the stream gateway (the inbox), and later
Open311 and the importer — passes what it receives through these functions *before* anything
is allocated, appended or written, so that nothing reaches Redis or the database that the
database cannot store, and no input ends in a 500.

Per kind of value:

- **Free text** (a case's description, a note, a reason — :func:`clean_text`):
  *refused* (400) when it holds a NUL character or a lone surrogate (``"\\ud800"`` in JSON):
  PostgreSQL cannot store the first, no UTF-8 store the second, and a client that sends them
  is broken, not a person typing.  *Cleaned* otherwise: ``\\r\\n``/``\\r`` become ``\\n``, other
  control characters (C0 except tab and newline, DEL, C1) are removed, the text is put in
  Unicode NFC and stripped; the length limit applies to the cleaned text (400 when over).
  Markup is kept as typed (every page shows text as text; the CSV export neutralises formulas).
- **Codes** (category, department, kind …): must be one of the known values, compared exactly;
  anything else is refused (the doors check membership; :func:`clean_code` checks the form).
- **Numbers** (:func:`finite_number`): JSON numbers only (not booleans, not strings), finite,
  representable as a float (a 400-digit integer is refused, not an OverflowError) and in range.
- **Instants** (:func:`parse_instant`): ISO 8601 *with* an offset, inside
  [:data:`EARLIEST`, :data:`LATEST`) — ``0001-01-01T00:00:00+01:00`` is refused, never an
  OverflowError — and, when asked, inside a window around ``now``.
- **JSON bodies** (:func:`check_json`): bounded depth, finite numbers only (no ``NaN``,
  ``Infinity``), storable strings and keys.

For the audit log and messages that echo what was sent, :func:`loggable` makes any string
storable and printable (replacing, never refusing), so a hostile value can always be recorded.

Refusals are :class:`InputRefused` carrying an i18n key of the command messages (``cmd.*``) and
its values; the doors turn it into their own message (a 400, a line on a page, a dead letter).
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, timedelta, timezone

#: no instant the product accepts lies outside [EARLIEST, LATEST)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)
#: limits of the kinds of text (characters, after cleaning)
DESCRIPTION_MAX = 2000
TEXT_MAX = 1000
CODE_MAX = 64
#: how deep a JSON body may nest (objects and arrays)
MAX_DEPTH = 16
#: the district's coordinates are GCJ-02 degrees: anything outside the globe is no position
LON_RANGE = (-180.0, 180.0)
LAT_RANGE = (-90.0, 90.0)

# C0 controls except tab and newline, DEL, C1 controls: removed from free text
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputRefused(ValueError):
    """A value refused at the edge: ``key`` is a ``cmd.*`` message key, ``values`` its values;
    ``str()`` is the English one-liner (for dead letters and logs)."""

    def __init__(self, key: str, reason: str, **values):
        self.key, self.values = key, values
        super().__init__(reason)


# ---------------------------------------------------------------------------- text
def storable_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored by every database (None when it can)."""
    if "\x00" in text:
        return "contains a NUL character"
    if not text.isascii() and _SURROGATE.search(text):
        return "contains a lone surrogate (not encodable as UTF-8)"
    return None


def clean_text(value, field: str, limit: int = TEXT_MAX, required: bool = False) -> str:
    """Free text as stored: refused (NUL, lone surrogate, not a string, too long, missing
    when ``required``) or cleaned (line ends, control characters, NFC, outer blanks)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputRefused("cmd.not_text", f"{field} is not text", field=field)
    if storable_problem(value):
        raise InputRefused("cmd.not_text", f"{field} {storable_problem(value)}", field=field)
    if len(value) > 4 * limit:   # do not normalise megabytes only to refuse them
        raise InputRefused("cmd.too_long", f"{field} is longer than {limit} characters", field=field, limit=limit)
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.strip()
    if required and not text:
        raise InputRefused("cmd.reason_missing" if field == "reason" else "cmd.missing", f"{field} is missing",
                           field=field)
    if len(text) > limit:
        raise InputRefused("cmd.too_long", f"{field} is longer than {limit} characters", field=field, limit=limit)
    return text


def clean_code(value, field: str, limit: int = CODE_MAX) -> str:
    """A code (category, department …) in form: a non-empty printable string without blanks;
    membership is the caller's question."""
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable() \
            or value != value.strip() or storable_problem(value):
        raise InputRefused("inputs.bad_code", f"{field} is not a code", field=field, value=quote(value, 40))
    return value


def loggable(value, limit: int = 2000) -> str | None:
    """Any value as text every store and terminal takes: lone surrogates → U+FFFD, NUL and
    other control characters (but tab and newline) removed, cut to ``limit``.  Never raises."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", text)[:limit]


def quote(value, limit: int = 40) -> str:
    """A value echoed in a message: :func:`loggable`, short, on one line."""
    return (loggable(value, limit * 2) or "").replace("\n", " ").replace("\t", " ")[:limit]


# ---------------------------------------------------------------------------- numbers
def finite_number(value, field: str, low: float | None = None, high: float | None = None) -> float:
    """A JSON number as a finite float inside [low, high]; InputRefused otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputRefused("cmd.not_number", f"{field} is not a number", field=field)
    try:
        number = float(value)
    except OverflowError:   # an integer of hundreds of digits
        raise InputRefused("cmd.not_number", f"{field} is not a finite number", field=field) from None
    if not math.isfinite(number):
        raise InputRefused("cmd.not_number", f"{field} is not a finite number", field=field)
    if (low is not None and number < low) or (high is not None and number > high):
        raise InputRefused("inputs.out_of_range", f"{field} is outside {low} … {high}", field=field, low=low, high=high)
    return number


def coordinates(lon, lat) -> tuple[float, float]:
    """A position's lon/lat as finite floats on the globe (the district check is the locator's)."""
    return finite_number(lon, "lon", *LON_RANGE), finite_number(lat, "lat", *LAT_RANGE)


# ---------------------------------------------------------------------------- instants
def parse_instant(value, field: str, now: datetime | None = None, past: timedelta | None = None,
                  future: timedelta | None = None) -> datetime:
    """An ISO 8601 instant *with* offset, as an aware datetime (its own offset kept), inside
    [EARLIEST, LATEST) and — given ``now`` — not more than ``past`` before / ``future`` after it.

    Every failure is an InputRefused: a malformed text, no offset, a year-1 date at +01:00
    (which overflows when converted), an absurd year."""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if len(text) > 64 or storable_problem(text):
            raise InputRefused("cmd.bad_time", f"{field} is not an ISO 8601 time", field=field, value=quote(text))
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise InputRefused("cmd.bad_time", f"{field} is not an ISO 8601 time", field=field,
                               value=quote(text)) from None
    else:
        raise InputRefused("cmd.missing", f"{field} is missing", field=field)
    if when.tzinfo is None or when.utcoffset() is None:
        raise InputRefused("cmd.no_offset", f"{field} has no UTC offset", field=field, value=quote(value))
    try:
        utc = when.astimezone(timezone.utc)
        absurd = utc < EARLIEST or utc >= LATEST
    except OverflowError:   # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        absurd = True
    if absurd:
        raise InputRefused("inputs.time_range", f"{field} lies outside 2000 … 2099", field=field, value=quote(value))
    if now is not None:
        if past is not None and utc < now - past:
            raise InputRefused("inputs.time_range", f"{field} lies too far in the past", field=field, value=quote(value))
        if future is not None and utc > now + future:
            raise InputRefused("cmd.too_far", f"{field} lies too far ahead", field=field)
    return when


# ---------------------------------------------------------------------------- JSON
def reject_constant(name: str):
    """``parse_constant`` for :func:`json.loads`: ``NaN``, ``Infinity`` and ``-Infinity`` are no JSON."""
    raise InputRefused("cmd.not_number", f"{name} is not a number JSON allows", field=name)


def check_json(value, what: str = "body", depth: int = 1) -> None:
    """A decoded JSON value every store can hold and every client parse: nesting at most
    :data:`MAX_DEPTH`, finite numbers, storable strings and keys; InputRefused otherwise."""
    if depth > MAX_DEPTH:
        raise InputRefused("inputs.too_deep", f"{what} nested deeper than {MAX_DEPTH} levels", field=what,
                           limit=MAX_DEPTH)
    if isinstance(value, str):
        problem = storable_problem(value)
        if problem:
            raise InputRefused("cmd.not_text", f"{what} {problem}", field=what)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputRefused("cmd.not_number", f"{what} holds a number that is not finite", field=what)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and storable_problem(key):
                raise InputRefused("cmd.not_text", f"{what} has a key that {storable_problem(key)}", field=what)
            check_json(item, what, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json(item, what, depth + 1)


def json_safe(value, depth: int = 0):
    """``value`` with every non-finite float as None and every string :func:`loggable` —
    for answers built from stored data that an older version may have let through."""
    if depth > 64:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value if value.isascii() and "\x00" not in value else _safe_str(value)
    if isinstance(value, dict):
        return {_safe_str(str(k)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, depth + 1) for v in value]
    return value


def _safe_str(text: str) -> str:
    if not text.isascii():
        text = _SURROGATE.sub("\ufffd", text)
    return text.replace("\x00", "")
