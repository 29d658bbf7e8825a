"""A hostile CSV through ``citygrid import``: quoted newlines, blank coordinates, mixed date
formats, rows closed before they were opened, duplicate ids, NUL bytes, bad UTF-8, short
records … each row is imported or skipped with its reason, never a crash; a later export
that closes an open case completes it; the mapping and file errors are one line."""
from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from sqlalchemy import select

from datasource.store import schema
from tests.import_helpers import city_settings, citygrid, import_json

ZONE = "America/Los_Angeles"
MAPPING = """
source = "hostile"
timezone = "America/Los_Angeles"
crs = "WGS84"
[columns]
id = "id"
opened = "created"
closed = "closed"
due = "due"
status = "status"
department = "dept"
category = "category"
lat = "lat"
lon = "lon"
description = "descr"
[status]
closed = ["Closed", "CLOSED"]
"""
HEADER = b"id,created,closed,due,status,dept,category,lat,lon,descr\n"
IN = b"37.75,-122.45"   # lat,lon inside the test city
# id → (the record's bytes after the id, what must become of it)
ROWS = [
    (b"1", b"2019-10-06 00:05:55 UTC,2019-10-07 01:00:00 UTC,,Closed,DPW Ops,Graffiti," + IN + b",plain", "imported"),
    (b"2", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graffiti," + IN + b",\"two\nlines, and a comma\"", "imported"),
    (b"3", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graffiti,,,no position", "missing_position"),
    (b"4", b"10/06/2019 12:05:55 AM,10/08/2019 09:00 AM,10/09/2019,Closed,DPW Ops,Graffiti," + IN + b",us dates",
     "imported"),
    (b"5", b"2019-10-06T00:05:55+02:00,2019-10-06T09:00:00Z,,CLOSED,DPW Ops,Graffiti," + IN + b",offsets", "imported"),
    (b"6", b"2019-10-06 08:00:00,2019-10-05 08:00:00,,Closed,DPW Ops,Graffiti," + IN + b",closed first",
     "closed_before_opened"),
    (b"1", b"2019-11-06 00:05:55 UTC,,,Open,DPW Ops,Graffiti," + IN + b",same id again", "duplicate_id"),
    (b"8", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graffiti," + IN + b",nul\x00byte", "bad_text"),
    (b"9", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graf\xfe\xffiti," + IN + b",bad utf-8", "bad_text"),
    (b"10", b"yesterday,,,Open,DPW Ops,Graffiti," + IN + b",bad date", "bad_date"),
    (b"11", b"2019-10-06 08:00:00,,,Open,DPW Ops", "malformed"),
    (b"12", b"2019-10-06 08:00:00,,,Closed,DPW Ops,Graffiti," + IN + b",closed no date", "closed_without_date"),
    (b"13", b"2099-10-06 08:00:00,,,Open,DPW Ops,Graffiti," + IN + b",future", "in_future"),
    (b"14", b"2019-10-06 08:00:00,,2019-10-01 08:00:00,Open,DPW Ops,Graffiti," + IN + b",due first", "bad_due"),
    (b"15", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graffiti,abc,-122.45,letters", "bad_position"),
    (b"16", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graffiti,40.0,-100.0,elsewhere", "outside_grids"),
    (b"17", b"2019-10-06 08:00:00,,,Open,DPW Ops,," + IN + b",no category", "missing_category"),
    (b"", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graffiti," + IN + b",no id", "missing_id"),
    (b"19", b"2019-10-06 08:00:00,,,Open,,Graffiti," + IN + b",\"nobody; new category\"", "missing_department"),
    (b"20", b"2019-10-06 08:00:00,,,Open,,Exposed rubbish," + IN + b",routed by the scenario", "imported"),
    (b"21", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graffiti,1e400,-122.45,huge", "bad_position"),
    (b"22", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graffiti," + IN + b",\"ctrl\x07 and\r\ncrlf\"", "imported"),
    (b"23", b"0001-01-01 00:00:00,,,Open,DPW Ops,Graffiti," + IN + b",year one", "bad_date"),
    (b"24", b"2019-10-06 08:00:00,,,Open,DPW Ops,Graffiti,0,0,null island", "missing_position"),
]


def hostile_bytes(rows=ROWS) -> bytes:
    return b"\xef\xbb\xbf" + HEADER + b"".join(i + b"," + rest + b"\n" for i, rest, _ in rows) + b"\n"


@pytest.fixture
def city(tmp_path, stream_key, redis_server_url):
    points = pd.DataFrame({"lon": [-122.5, -122.4], "lat": [37.7, 37.8]})
    settings = city_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", stream_key, redis_server_url, points, ZONE)
    (tmp_path / "hostile.toml").write_text(MAPPING, encoding="utf-8")
    return settings


def test_every_hostile_row_is_imported_or_skipped_with_its_reason(city, tmp_path):
    from datasource.system import System
    source = tmp_path / "hostile.csv"
    source.write_bytes(hostile_bytes())
    summary = import_json(city, str(source), "--mapping", str(tmp_path / "hostile.toml"),
                          "--skipped", str(tmp_path / "skipped.csv"))
    want = pd.Series([fate for *_, fate in ROWS]).value_counts().to_dict()
    assert summary["read"] == len(ROWS) == summary["imported"] + summary["skipped"]
    assert {"imported": summary["imported"], **summary["skipped_by_reason"]} == want
    assert summary["drained"]["dead"] == 0
    # The file of skipped rows: each with its line, reason and the original bytes.
    with open(tmp_path / "skipped.csv", encoding="utf-8", errors="surrogateescape", newline="") as f:
        skipped = list(csv.reader(f))[1:]
    fates = {(r[3], r[1]) for r in skipped}
    for ident, _, fate in ROWS:
        if fate != "imported":
            assert (ident.decode(), fate) in fates, (ident, fate)
    raw = (tmp_path / "skipped.csv").read_bytes()
    assert b"Graf\xfe\xffiti" in raw and b"nul\x00byte" in raw   # written back byte for byte
    assert any(r[1] == "duplicate_id" and "line 2" in r[2] for r in skipped)
    # What was imported, and how.
    system = System(city).start()
    try:
        with system.engine.connect() as c:
            cases = {r.description.split(" ·")[0]: r for r in c.execute(select(schema.cases))}
        assert set(cases) == {"plain", "two\nlines, and a comma", "us dates", "offsets", "routed by the scenario",
                              "ctrl and\ncrlf"}
        assert cases["plain"].stage == "closed" and cases["two\nlines, and a comma"].stage == "dispatched"
        assert cases["routed by the scenario"].department_code == "sanitation"   # the scenario's routing
        assert cases["routed by the scenario"].category_code == "E0102"          # an existing category by name
        assert cases["us dates"].source == "import" and cases["us dates"].reporter == "hostile"
        # 10/09/2019 (midnight, Los Angeles) is the deadline it was given; handled before it: on time.
        assert cases["us dates"].handled_on_time is True
        assert str(cases["us dates"].handle_deadline_at).startswith("2019-10-09 07:00:00")
        assert str(cases["offsets"].reported_at).startswith("2019-10-05 22:05:55")
    finally:
        system.close()

    # A later export closes case 2 and adds a row: only what is new is appended.
    later = [(b"2", b"2019-10-06 08:00:00,2019-10-09 08:00:00,,Closed,DPW Ops,Graffiti," + IN + b",two", "completed"),
             (b"1", ROWS[0][1], "already_imported"),
             (b"30", b"2019-10-07 08:00:00,,,Open,DPW Ops,Graffiti," + IN + b",new one", "imported")]
    source.write_bytes(hostile_bytes(later))
    again = import_json(city, str(source), "--mapping", str(tmp_path / "hostile.toml"),
                        "--skipped", str(tmp_path / "skipped2.csv"))
    assert (again["imported"], again["completed"], again["skipped_by_reason"]) == (2, 1, {"already_imported": 1})
    assert again["events"] == 3 + 3 and again["drained"]["dead"] == 0
    system = System(city).start()
    try:
        with system.engine.connect() as c:
            stages = dict(c.execute(select(schema.cases.c.description, schema.cases.c.stage)).all())
        assert stages["two\nlines, and a comma"] == "closed" and stages["new one"] == "dispatched"
        assert len(stages) == 7
    finally:
        system.close()


def test_unusable_files_and_mappings_end_in_one_line_and_append_nothing(city, tmp_path):
    import redis
    source = tmp_path / "ok.csv"
    source.write_bytes(hostile_bytes(ROWS[:1]))
    bad = tmp_path / "bad.toml"
    cases = [
        (["import", str(tmp_path / "missing.csv"), "--mapping", str(tmp_path / "hostile.toml")], "cannot read"),
        (["import", str(source)], "--mapping is required"),
        (["import", str(source), "--mapping", "no-such-mapping"], "shipped mappings"),
        (["import", str(source), "--mapping", str(bad)], "unknown key"),
        (["import", str(source), "--mapping", "nyc311"], "has no column"),
        (["import", str(source), "--mapping", str(tmp_path / "hostile.toml"), "--skipped",
          str(tmp_path / "no" / "dir" / "s.csv")], "give --skipped PATH"),
    ]
    bad.write_text("surprise = 1\n" + MAPPING, encoding="utf-8")
    for args, words in cases:
        result = citygrid(city, *args)
        assert result.exit_code == 1, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, result.output)
    for text, words in (('timezone = "Mars/Base"\n[columns]\nid="a"', "unknown timezone"),
                        ('timezone = "UTC"\n[columns]\nid = "id"', "must name opened"),
                        ('timezone = "UTC"\ncrs = "NAD27"\n[columns]\nid = "id"', "crs must be"),
                        ("not toml at all [", "not a valid TOML"),
                        (MAPPING.replace('closed = ["Closed", "CLOSED"]', 'open = ["x"]'), "[status] takes only")):
        bad.write_text(text, encoding="utf-8")
        result = citygrid(city, "import", str(source), "--mapping", str(bad))
        assert result.exit_code == 1 and words in result.output, (text, result.output)
    # The bundled Dongcheng scenario is never changed: an import needing new codes there is refused.
    from dashboard.domain.scenario import DEFAULT_SCENARIO
    dongcheng = city.model_copy(update={"scenario_dir": DEFAULT_SCENARIO})
    inside = tmp_path / "inside.csv"
    inside.write_bytes(b"id,created,closed,due,status,dept,category,lat,lon,descr\n"
                       b"1,2019-10-06 08:00:00,,,Open,New dept,Graffiti,39.9289,116.4160,in Dongcheng\n")
    result = citygrid(dongcheng, "import", str(inside), "--mapping", str(tmp_path / "hostile.toml"))
    assert result.exit_code == 1 and "city folder" in result.output, result.output
    client = redis.Redis.from_url(city.redis_url)
    assert client.xlen(city.stream) == 0


def test_new_departments_wait_for_a_running_worker_to_stop(city, tmp_path):
    import redis
    mapping = str(tmp_path / "hostile.toml")

    def file(name: str, department: str):
        path = tmp_path / f"{name}.csv"
        path.write_bytes(HEADER + name.encode() + b",2019-10-06 08:00:00,,,Open," + department.encode()
                         + b",Graffiti," + IN + b",x\n")
        return str(path)
    # Two imports in a row, each creating a department: the import's own drain is no worker.
    assert import_json(city, file("a", "A dept"), "--mapping", mapping)["departments_created"] == {"a-dept": "A dept"}
    assert import_json(city, file("b", "B dept"), "--mapping", mapping)["departments_created"] == {"b-dept": "B dept"}
    # A worker reading the stream loaded the scenario before "C dept": the import waits for it.
    client = redis.Redis.from_url(city.redis_url)
    client.xgroup_createconsumer(city.stream, city.group, "elsewhere-worker")   # a worker that just started
    length = client.xlen(city.stream)
    result = citygrid(city, "import", file("c", "C dept"), "--mapping", mapping)
    assert result.exit_code == 1 and "worker (elsewhere-worker) is running" in result.output, result.output
    assert client.xlen(city.stream) == length
    assert "C dept" not in (city.scenario_dir / "departments.json").read_text(encoding="utf-8")


def test_a_field_beyond_the_csv_limit_is_one_malformed_record_and_reading_goes_on(tmp_path):
    from datasource.importer.sources import FIELD_LIMIT, CsvSource
    path = tmp_path / "big.csv"
    path.write_text(f'id,a\n1,ok\n2,"{"x" * (FIELD_LIMIT + 1)}"\n3,after\n4,"two\nlines"\n', encoding="utf-8")
    source = CsvSource(path)
    chunks = list(source)
    source.close()
    assert [c.lines for c in chunks] == [[2, 4, 5]]
    assert chunks[0].records == [["1", "ok"], ["3", "after"], ["4", "two\nlines"]]
    (line, _, why), = chunks[0].malformed
    assert line == 3 and "field limit" in why
