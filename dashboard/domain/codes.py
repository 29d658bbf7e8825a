"""Codes of the field: grid, community and street codes, and case ids.

Grid code (Beijing local standard, like GB/T 30428.1): 15 digits = 6-digit district
(GB/T 2260, Dongcheng 110101) + 3-digit street + 3-digit community + 3-digit sequence.
Case id: district prefix ``DC`` + date ``YYYYMMDD`` + 6-digit daily serial, e.g.
``DC20261124000123``.
"""
from __future__ import annotations

import re
from datetime import date

DISTRICT_CODE = "110101"
CASE_PREFIX = "DC"
CASE_ID_RE = re.compile(r"^[A-Z]{2}\d{8}\d{6}$")
_DIGITS = re.compile(r"^\d+$")


def is_street_code(code: str) -> bool:
    return isinstance(code, str) and len(code) == 9 and bool(_DIGITS.match(code))


def is_community_code(code: str) -> bool:
    return isinstance(code, str) and len(code) == 12 and bool(_DIGITS.match(code))


def is_grid_code(code: str) -> bool:
    return isinstance(code, str) and len(code) == 15 and bool(_DIGITS.match(code))


def street_of(code: str) -> str:
    """The street code a community or grid code belongs to."""
    return code[:9]


def community_of(grid_code: str) -> str:
    return grid_code[:12]


def case_id(day: date, serial: int, prefix: str = CASE_PREFIX) -> str:
    """A case id like real ones: district prefix + date + daily serial."""
    if not 0 < serial < 1_000_000:
        raise ValueError(f"case serial {serial} out of range 1..999999")
    return f"{prefix}{day:%Y%m%d}{serial:06d}"


def is_case_id(text: str) -> bool:
    return isinstance(text, str) and bool(CASE_ID_RE.match(text))
