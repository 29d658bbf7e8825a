"""The briefing's PDF and its archive: a ``briefings`` row and a file under the data folder
(``DATA_DIR/briefings/briefing-YYYY-MM-DD-zh.pdf``) per day, language and area — a
sub-centre's briefing (its street or community, :mod:`dashboard.domain.scope`) is archived
beside the district's as ``briefing-YYYY-MM-DD-zh-110101001.pdf`` (``briefings.scope``).

:meth:`Briefings.ensure_pdf` is what ``citygrid briefing`` (cron) and the page's download
link both call: a day that is over and already archived is served from the archive;
otherwise the PDF is made, written atomically (temporary file + rename) and recorded with
an upsert — so running it twice, or twice at once, leaves one entry and one file.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import select

from datasource.services.briefing import BriefingService
from datasource.store import schema

FOLDER = "briefings"
TABLE = schema.briefings


class NoData(Exception):
    """The date has no case data (one-line message)."""


def _area(scope: str | None) -> str:
    """The archive's key for an area: '' for the district, else the scope code."""
    return scope or ""


@dataclass(frozen=True)
class Pdf:
    day: date
    lang: str
    content: bytes
    archived: bool            # the entry is in the archive (now or before)
    made: bool                # made by this call (False: served from the archive)
    path: Path | None


class Briefings:
    """The briefing's data (:class:`BriefingService`), its PDF and its archive."""

    def __init__(self, system, keep_browser: bool = True):
        from datasource.tools.chart_images import ChartRenderer
        self.system = system
        self.service = BriefingService(system)
        self.renderer = ChartRenderer(keep=keep_browser)
        self.folder = Path(system.settings.data_dir) / FOLDER

    # ------------------------------------------------------------------ archive
    def entries(self, limit: int = 60, scope: str | None = None) -> list[dict]:
        """Archived briefings of one area (the district by default), newest first (day,
        lang, size, generated_at, as_of)."""
        columns = (TABLE.c.day, TABLE.c.lang, TABLE.c.size, TABLE.c.generated_at, TABLE.c.as_of, TABLE.c.path)
        with self.system.engine.connect() as c:
            rows = c.execute(select(*columns).where(TABLE.c.scope == _area(scope))
                             .order_by(TABLE.c.day.desc(), TABLE.c.lang).limit(limit)).mappings()
            return [dict(r) for r in rows]

    def entry(self, day: date, lang: str, scope: str | None = None) -> dict | None:
        with self.system.engine.connect() as c:
            row = c.execute(select(TABLE).where(TABLE.c.day == day, TABLE.c.lang == lang,
                                                TABLE.c.scope == _area(scope))).mappings().first()
        return dict(row) if row else None

    def archived_file(self, day: date, lang: str, scope: str | None = None) -> bytes | None:
        """The archived PDF, if its entry exists and the file is intact (same SHA-256)."""
        row = self.entry(day, lang, scope)
        if row is None:
            return None
        path = Path(self.system.settings.data_dir) / row["path"]
        try:
            content = path.read_bytes()
        except OSError:
            return None
        return content if hashlib.sha256(content).hexdigest() == row["sha256"] else None

    def _store(self, day: date, lang: str, content: bytes, data: dict, scope: str | None = None) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / file_name(day, lang, scope)
        write_atomically(path, content)
        row = {"day": day, "lang": lang, "scope": _area(scope), "path": str(Path(FOLDER) / path.name), "size": len(content),
               "sha256": hashlib.sha256(content).hexdigest(), "generated_at": datetime.now(timezone.utc),
               "as_of": datetime.fromisoformat(data["as_of"]),
               "figures": json.dumps(data, ensure_ascii=False, default=str)}
        engine = self.system.engine
        if engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(TABLE).values(row)
        key = ("day", "lang", "scope")
        statement = statement.on_conflict_do_update(index_elements=list(key),
                                                    set_={k: statement.excluded[k] for k in row if k not in key})
        with engine.begin() as c:
            c.execute(statement)
        return path

    # ------------------------------------------------------------------ the document
    def ensure_pdf(self, day: date, lang: str, force: bool = False, now: datetime | None = None,
                   scope: str | None = None) -> Pdf:
        """The PDF of ``day`` over ``scope`` (None = the district): from the archive when
        there (and not ``force``), else made — and archived when the day is over.  NoData
        for a day without any case event."""
        from datasource.services.briefing_pdf import render_pdf
        scope = scope or None
        if not force:
            content = self.archived_file(day, lang, scope)
            if content is not None:
                row = self.entry(day, lang, scope)
                return Pdf(day, lang, content, True, False, Path(self.system.settings.data_dir) / row["path"])
        data = self.service.build(day, now=now, cache=not force, scope=scope)   # the page's copy, if just built
        if data.get("empty"):
            raise NoData(_no_data_message(data))
        content = render_pdf(data, self.scenario, lang, renderer=self.renderer)
        if not data["complete"]:
            return Pdf(day, lang, content, False, True, None)
        return Pdf(day, lang, content, True, True, self._store(day, lang, content, data, scope))

    @property
    def scenario(self):
        return self.system.scenario

    def close(self) -> None:
        self.renderer.close()


def file_name(day: date, lang: str, scope: str | None = None) -> str:
    """The PDF's file name: the district's ``briefing-2026-11-24-zh.pdf``, a sub-centre's
    ``briefing-2026-11-24-zh-110101001.pdf``."""
    tail = f"-{scope}" if scope else ""
    return f"briefing-{day.isoformat()}-{lang}{tail}.pdf"


def _no_data_message(data: dict) -> str:
    if data.get("reason") == "future":
        return f"{data['day']} has not begun yet"
    return f"no case data for {data['day']}: the system recorded no case event that day"


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` so that a reader sees the old file or the new one,
    never a half-written one (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
