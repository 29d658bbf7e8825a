"""Timestamps of real exports, in several formats, parsed a column at a time.

Exports mix ISO 8601 (``2019-10-06 00:05:55``, with ``T`` or a blank), ISO with an offset or
a ``UTC``/``Z`` suffix (``2019-10-06 00:05:55 UTC``), US style (``10/06/2019 12:05:55 AM``)
and dates without a time.  A value with an offset or a UTC suffix is an instant; a value
without one is local time in the mapping's ``timezone`` (a time repeated by a DST change is
read as the second, standard-time one; a time skipped by it moves forward).  Formats are
tried in order (ISO 8601, the mapping's ``date_formats``, then :data:`FALLBACK`), each
vectorised over the values the previous ones left, so a million values cost about a second.
Instants are cut to whole seconds (the stream's times and its µs check must agree).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.domain.inputs import EARLIEST, LATEST

FALLBACK = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
            "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")
_AWARE = r"(?:[+-]\d\d:?\d\d|Z|\s*UTC|\s*GMT)$"
_UTC_SUFFIX = r"\s*(?:UTC|GMT|Z)$"
_LO, _HI = pd.Timestamp(EARLIEST), pd.Timestamp(LATEST)


def parse(values: pd.Series, tz, formats: tuple[str, ...] = ()) -> tuple[pd.Series, np.ndarray]:
    """(UTC instants, blank mask) of text ``values``; an instant is NaT where the value is
    blank or cannot be read (blank & NaT: missing; NaT & not blank: a bad date), and
    outside 2000 … 2099 (the product's range) it counts as unreadable."""
    text = values.astype("string").str.strip().fillna("")
    blank = (text == "").to_numpy()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    aware = text.str.contains(_AWARE, regex=True) & ~blank
    if aware.any():
        normal = text[aware].str.replace(_UTC_SUFFIX, "+00:00", regex=True)
        out[aware] = pd.to_datetime(normal, format="ISO8601", utc=True, errors="coerce")
    naive = ~aware.to_numpy() & ~blank
    if naive.any():
        local = pd.Series(pd.NaT, index=values.index[naive], dtype="datetime64[us]")
        todo = text[naive]
        for fmt in ("ISO8601", *formats, *FALLBACK):
            if todo.empty:
                break
            parsed = _naive(todo, fmt)
            hit = parsed.notna()
            local[parsed.index[hit]] = parsed[hit]
            todo = todo[~hit]
        ok = local.notna()
        if ok.any():
            stamps = local[ok].dt.tz_localize(tz, ambiguous=np.zeros(int(ok.sum()), dtype=bool),
                                              nonexistent="shift_forward")
            out[stamps.index] = stamps.dt.tz_convert("UTC")
    out = out.dt.floor("s")
    out[(out < _LO) | (out >= _HI)] = pd.NaT
    return out, blank


def _naive(text: pd.Series, fmt: str) -> pd.Series:
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    except (ValueError, TypeError):   # a format pandas cannot use at all
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if getattr(parsed.dt, "tz", None) is not None:   # an offset that slipped through: not naive
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    return parsed.astype("datetime64[us]")   # years 1 … 9999 fit (nanoseconds stop at 1677 … 2262)


def micros(instants: pd.Series) -> list[int]:
    """Microseconds since the epoch of UTC instants (the checked append's time argument)."""
    return instants.dt.as_unit("us").astype("int64").tolist()


def iso_texts(instants: pd.Series, tz) -> list[str]:
    """ISO 8601 texts with the offset of ``tz`` (``2019-10-05T17:05:55-07:00``) of UTC instants.

    numpy formats the local times in C; the offsets (a handful of distinct values) are
    formatted once each — pandas' ``strftime`` costs ~25 µs a value."""
    if instants.empty:
        return []
    utc = instants.dt.as_unit("s").dt.tz_localize(None)
    local = instants.dt.as_unit("s").dt.tz_convert(tz).dt.tz_localize(None)
    stamps = np.datetime_as_string(local.to_numpy(dtype="datetime64[s]"), unit="s").tolist()
    minutes = ((local - utc).dt.total_seconds() // 60).astype("int64").tolist()
    offsets = {m: f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in set(minutes)}
    return [stamp + offsets[m] for stamp, m in zip(stamps, minutes)]
