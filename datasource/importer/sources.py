"""Where records come from: a CSV export, or an Open311 GeoReport v2 request list (JSON or XML).

A source gives its ``header`` and yields :class:`Chunk` s of records, each record with the
number of the line (CSV) or request (Open311) it starts on, so a skipped row can be found
again.  Nothing is dropped here: a CSV record with the wrong number of fields, or one the
CSV parser cannot read, is passed on as *malformed* with the reason.

CSV: UTF-8 (a BOM is allowed), quoted fields may hold newlines; bytes that are not UTF-8 are
kept as lone surrogates (``surrogateescape``) so that the row is skipped with the reason
"bad UTF-8" instead of the whole file failing, and written back byte for byte to the file of
skipped rows.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import orjson

CHUNK = 50_000
#: the largest CSV field read (a field beyond it makes its record malformed, not the import fail)
FIELD_LIMIT = 1 << 20
ENCODING = "utf-8-sig"
ERRORS = "surrogateescape"


class SourceError(ValueError):
    """The file cannot be read at all (one line)."""


@dataclass
class Chunk:
    lines: list[int] = field(default_factory=list)     # line (CSV) or request number of each record
    records: list[list[str]] = field(default_factory=list)
    malformed: list[tuple[int, list[str], str]] = field(default_factory=list)   # (line, fields, why)

    def __len__(self) -> int:
        return len(self.records) + len(self.malformed)


class CsvSource:
    """Records of a CSV file with a header line."""

    format = "csv"

    def __init__(self, path: Path, chunk: int = CHUNK):
        self.path, self.chunk = Path(path), chunk
        try:
            self.size = self.path.stat().st_size
            self._raw = open(self.path, "rb")
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        self._text = io.TextIOWrapper(self._raw, encoding=ENCODING, errors=ERRORS, newline="")
        csv.field_size_limit(FIELD_LIMIT)
        self._reader = csv.reader(self._text)
        try:
            self.header = [name.strip() for name in next(self._reader)]
        except StopIteration:
            raise SourceError(f"{self.path} is empty (no header line)") from None
        except csv.Error as exc:
            raise SourceError(f"{self.path}: the header line is not CSV ({exc})") from None
        if len(set(self.header)) != len(self.header):
            raise SourceError(f"{self.path}: the header names a column twice")

    def position(self) -> int:
        """Bytes read so far (for a progress bar)."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.size

    def __iter__(self) -> Iterator[Chunk]:
        reader, width, chunk = self._reader, len(self.header), Chunk()
        line = reader.line_num
        while True:
            start = line + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                line = reader.line_num
                chunk.malformed.append((start, [], f"not readable as CSV ({exc})"))
                continue
            line = reader.line_num
            if not record:          # a blank line is no record
                continue
            if len(record) != width:
                chunk.malformed.append((start, record, f"{len(record)} fields, the header has {width}"))
            else:
                chunk.lines.append(start)
                chunk.records.append(record)
            if len(chunk) >= self.chunk:
                yield chunk
                chunk = Chunk()
        if len(chunk):
            yield chunk

    def close(self) -> None:
        self._text.close()


class Open311Source:
    """Requests of a GeoReport v2 request list: JSON (a list of objects) or XML
    (``<service_requests><request>…</request></service_requests>``), parsed with defusedxml
    (no entity expansion, no external references)."""

    format = "open311"

    def __init__(self, path: Path, chunk: int = CHUNK):
        self.path, self.chunk = Path(path), chunk
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        self.size = len(data)
        requests = _xml_requests(data, self.path) if data.lstrip()[:1] == b"<" else _json_requests(data, self.path)
        header: dict[str, None] = {}
        for request in requests:
            header.update(dict.fromkeys(request))
        self.header = list(header)
        self._rows = [[request.get(name, "") for name in self.header] for request in requests]
        self._done = 0

    def position(self) -> int:
        return self.size if not self._rows else round(self.size * self._done / len(self._rows))

    def __iter__(self) -> Iterator[Chunk]:
        for start in range(0, len(self._rows), self.chunk):
            rows = self._rows[start:start + self.chunk]
            self._done = start + len(rows)
            yield Chunk(list(range(start + 1, start + len(rows) + 1)), rows)

    def close(self) -> None:
        self._rows = []


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _json_requests(data: bytes, path: Path) -> list[dict[str, str]]:
    try:
        decoded = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(decoded, dict):   # some servers wrap the list
        decoded = decoded.get("service_requests", decoded.get("requests"))
    if not isinstance(decoded, list) or not all(isinstance(r, dict) for r in decoded):
        raise SourceError(f"{path}: an Open311 JSON request list is a list of request objects")
    return [{str(k): _value(v) for k, v in request.items()} for request in decoded]


def _xml_requests(data: bytes, path: Path) -> list[dict[str, str]]:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring
    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise SourceError(f"{path}: not acceptable XML ({exc})") from None
    if root.tag != "service_requests":
        raise SourceError(f"{path}: an Open311 XML request list has the root <service_requests>, not <{root.tag}>")
    return [{child.tag: (child.text or "").strip() for child in request} for request in root if request.tag == "request"]


def open_source(path: Path, kind: str = "csv", chunk: int = CHUNK):
    """The source of ``path`` in format ``kind`` (``csv`` or ``open311``)."""
    if kind == "open311":
        return Open311Source(path, chunk)
    if kind == "csv":
        return CsvSource(path, chunk)
    raise SourceError(f"unknown format {kind!r} (csv or open311)")
