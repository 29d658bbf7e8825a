"""``citygrid components import`` (issue 16): a census export in CSV or GeoJSON; every row is
imported, replaced or skipped with one reason, and the skipped rows are written out."""
from __future__ import annotations

import csv
import json

from sqlalchemy import func, select

from datasource.store import schema
from tests.components_data import load, pick

HEADER = ["部件编码", "小类", "名称", "经度", "纬度", "养护单位", "状态", "设置日期"]
MAPPING = "code=部件编码,kind=小类,name=名称,lon=经度,lat=纬度,maintainer_department=养护单位,status=状态,installed_on=设置日期"


def census_rows(existing: tuple) -> list[tuple[list, str | None]]:
    """(CSV row, the reason it must be skipped or None) — one of each kind of trouble."""
    lon, lat = 116.4105, 39.9168
    return [
        (["1101010118900001", "C0118", "测试路灯", lon, lat, "国网北京东城供电公司", "完好", "2019-05-01"], None),
        (["1101010305900001", "0305", "垃圾箱", lon + 0.001, lat, "sanitation", "损坏", "2020/01/02"], None),
        (["1101010402900001", "", "行道树", lon, lat + 0.001, "", "", ""], None),
        (["110101011890000", "C0118", "短码", lon, lat, "", "", ""], "bad_code"),
        (["1101010199900001", "", "未知小类", lon, lat, "", "", ""], "unknown_kind"),
        (["1101010118900002", "C0305", "小类不符", lon, lat, "", "", ""], "kind_mismatch"),
        (["1101010118900003", "C0118", "无坐标", "", lat, "", "", ""], "bad_position"),
        (["1101010118900004", "C0118", "区外", 116.2, 39.8, "", "", ""], "outside_grids"),
        (["1101010118900005", "C0118", "单位不明", lon, lat, "某某公司", "", ""], "unknown_department"),
        (["1101010118900006", "C0118", "状态不明", lon, lat, "", "失踪", ""], "bad_status"),
        (["1101010118900007", "C0118", "日期错", lon, lat, "", "", "去年"], "bad_date"),
        (["1101010118900001", "C0118", "重复", lon, lat, "", "", ""], "duplicate_in_file"),
        ([existing[0], existing[1], "已有", existing[3], existing[4], "", "", ""], "exists"),
    ]


def write_csv(path, rows) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows([r for r, _ in rows])


def test_csv_census_every_row_accounted_for(system, runner, tmp_path):
    existing = pick("C0118")[0]
    load(system.engine, [existing])
    rows = census_rows(existing)
    path = tmp_path / "普查.csv"
    write_csv(path, rows)
    result = runner.invoke("components", "import", str(path), "--mapping", MAPPING, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    expected = {}
    for _, reason in rows:
        if reason:
            expected[reason] = expected.get(reason, 0) + 1
    assert summary["rows"] == len(rows) == summary["imported"] + summary["replaced"] + summary["skipped"]
    assert summary["imported"] == 3 and summary["skipped_by_reason"] == expected
    with open(summary["skipped_file"], encoding="utf-8-sig", newline="") as f:
        skipped = list(csv.DictReader(f))
    assert sorted(r["reason"] for r in skipped) == sorted(r for _, r in rows if r)
    assert {r["名称"] for r in skipped} == {row[2] for row, reason in rows if reason}
    with system.engine.connect() as c:
        got = {r.code: r for r in c.execute(select(schema.components).where(schema.components.c.origin == "import"))}
    assert set(got) == {"1101010118900001", "1101010305900001", "1101010402900001"}
    lamp, bin_, tree = got["1101010118900001"], got["1101010305900001"], got["1101010402900001"]
    assert lamp.maintainer_department == "power" and lamp.status == "in_service" and str(lamp.installed_on) == "2019-05-01"
    assert bin_.status == "damaged" and bin_.maintainer_department == "sanitation"
    assert tree.maintainer_department == "landscaping"        # none given: the routing table's department
    assert (lamp.grid_code, lamp.street_code) == system.locator.locate(116.4105, 39.9168)[::2]
    # --replace: the existing component is updated instead of skipped
    again = runner.invoke("components", "import", str(path), "--mapping", MAPPING, "--replace", "--json")
    second = json.loads(again.output)
    assert second["replaced"] == 4 and second["imported"] == 0
    assert second["rows"] == second["replaced"] + second["skipped"]


def test_geojson_census_and_bad_input(system, runner, tmp_path):
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.4105, 39.9168]},
                 "properties": {"编码": "1101010123900001", "名称": "邮筒"}},
                {"type": "Feature", "geometry": None, "properties": {"编码": "1101010123900002"}}]
    path = tmp_path / "census.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    result = runner.invoke("components", "import", str(path), "--mapping", "code=编码,name=名称")
    assert result.exit_code == 0, result.output
    assert "rows 2: imported 1, replaced 0, skipped 1" in result.output and "bad_position: 1" in result.output
    with system.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(schema.components)).scalar() == 1
    for args, message in ((["--mapping", "colour=x"], "unknown field"), (["--mapping", "code"], "field=column")):
        bad = runner.invoke("components", "import", str(path), *args)
        assert bad.exit_code == 1 and message in bad.output and "Traceback" not in bad.output
    missing = runner.invoke("components", "import", str(tmp_path / "none.csv"))
    assert missing.exit_code != 0 and "does not exist" in missing.output
