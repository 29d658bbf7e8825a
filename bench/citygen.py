"""A synthetic city for the city-scale benchmarks (issue 15 item 5): 16 districts, ~59,000 grids.

    python -m bench.citygen OUTDIR        # writes a scenario folder (~90 MB, a few seconds)

The territory is 16 shifted copies of the bundled Dongcheng scenario (17 streets, 205
communities, 3,692 unit grids each), laid out on a 4 × 4 lattice without overlap, each copy
given one of Beijing's 16 real district codes (GB/T 2260).  Every code is rewritten
consistently: a street code is the district code + 3 digits, a community code the street
code + 3, a grid code the community code + 3 (so ``dashboard.domain.codes.street_of`` and
``community_of`` hold); names carry the district's short name (朝阳东华门街道).

Departments: the eleven professional departments are city-wide (one routing table,
``routing.json``, routes a category to one department: the product has no per-district
routing), and every district has its own 17 street offices (``street-<street code>``,
routed by the case's street) — 283 departments.  Inspectors: Dongcheng's 430 per district
(6,880), ids rewritten.  The city-component inventory (``components.csv.gz``, 168,000 rows
per district) is not generated: the scenario loads without it.

The folder is not committed: it is generated on demand (``CITYGRID_SCENARIO=OUTDIR``).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from dashboard.domain.scenario import DEFAULT_SCENARIO

#: Beijing's 16 districts: GB/T 2260 code, name, short name.
DISTRICTS = (
    ("110101", "东城区", "东城"), ("110102", "西城区", "西城"), ("110105", "朝阳区", "朝阳"),
    ("110106", "丰台区", "丰台"), ("110107", "石景山区", "石景山"), ("110108", "海淀区", "海淀"),
    ("110109", "门头沟区", "门头沟"), ("110111", "房山区", "房山"), ("110112", "通州区", "通州"),
    ("110113", "顺义区", "顺义"), ("110114", "昌平区", "昌平"), ("110115", "大兴区", "大兴"),
    ("110116", "怀柔区", "怀柔"), ("110117", "平谷区", "平谷"), ("110118", "密云区", "密云"),
    ("110119", "延庆区", "延庆"),
)
SOURCE_CODE = "110101"
SOURCE_SHORT = "东城"
#: Lattice step in degrees: Dongcheng spans 0.0753° of longitude and 0.1154° of latitude.
STEP = (0.08, 0.12)
COPIED = ("categories.json", "routing.json", "time_limits.json", "calendar.json")
SOURCE_LAYERS = ("roads", "facilities", "green_spaces")


def offset(index: int) -> tuple[float, float]:
    """The shift of district ``index`` (row-major on the 4 × 4 lattice, centred on Dongcheng)."""
    row, column = divmod(index, 4)
    return (column - 1.5) * STEP[0], (1.5 - row) * STEP[1]


def _shift(coordinates, dx: float, dy: float):
    if isinstance(coordinates[0], (int, float)):
        return [round(coordinates[0] + dx, 6), round(coordinates[1] + dy, 6), *coordinates[2:]]
    return [_shift(c, dx, dy) for c in coordinates]


def _recode(value, code: str):
    """A code or id of the source district rewritten for district ``code``."""
    if isinstance(value, str) and SOURCE_CODE in value:
        return value.replace(SOURCE_CODE, code)
    return value


def _rename(name: str, short: str) -> str:
    if not name:
        return name
    return name.replace(SOURCE_SHORT, short) if SOURCE_SHORT in name else short + name


def _features(collection: dict, index: int, code: str, short: str, keys=("code", "street_code", "community_code"),
              names=("name",)) -> list[dict]:
    dx, dy = offset(index)
    out = []
    for feature in collection["features"]:
        properties = dict(feature["properties"])
        for key in keys:
            if key in properties:
                properties[key] = _recode(properties[key], code)
        for key in names:
            if properties.get(key):
                properties[key] = _rename(properties[key], short)
        geometry = dict(feature["geometry"], coordinates=_shift(feature["geometry"]["coordinates"], dx, dy))
        out.append({"type": "Feature", "properties": properties, "geometry": geometry})
    return out


def _write_json(path: Path, data) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))


def _write_collection(path: Path, features: list[dict], extra: dict | None = None) -> None:
    """A FeatureCollection written one feature a line (as the bundled files are)."""
    with path.open("w", encoding="utf-8") as handle:
        head = {"type": "FeatureCollection", **(extra or {})}
        handle.write(json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"features":[\n')
        handle.write(",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features))
        handle.write("\n]}\n")


def _departments(source: list[dict]) -> list[dict]:
    city = []
    for department in source:
        if department["kind"] == "street":
            continue
        city.append(dict(department, name_zh=_city_name(department["name_zh"]),
                         short_name=_city_name(department.get("short_name", ""))))
    streets = []
    for code, _, short in DISTRICTS:
        for department in source:
            if department["kind"] == "street":
                streets.append(dict(department, code=_recode(department["code"], code),
                                    name_zh=_rename(department["name_zh"], short),
                                    name_en=f"{department['name_en']} ({code})",
                                    short_name=_rename(department.get("short_name", ""), short)))
    return city + streets


def _city_name(name: str) -> str:
    """A district department's name made city-wide: 区… → 市…, 东城 → 北京."""
    if name.startswith("区"):
        return "市" + name[1:]
    return name.replace("北京自来水集团东城分公司", "北京自来水集团").replace(SOURCE_SHORT, "北京")


def generate(out: Path, source: Path = DEFAULT_SCENARIO) -> dict:
    """Write the city scenario into ``out`` (created; must be empty or absent); its summary."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty")
    (out / "source").mkdir(parents=True, exist_ok=True)
    read = lambda name: json.loads((source / name).read_text(encoding="utf-8"))  # noqa: E731
    for name in COPIED:
        shutil.copyfile(source / name, out / name)
    grids, communities, shapes = read("grids.geojson"), read("communities.geojson"), read("source/streets.geojson")
    district_shape = read("source/district.geojson")
    streets, inspectors = read("streets.json"), read("inspectors.json")
    layers = {name: read(f"source/{name}.geojson") for name in SOURCE_LAYERS}
    out_grids, out_communities, out_shapes, out_district, out_streets, out_inspectors = [], [], [], [], [], []
    out_layers: dict[str, list] = {name: [] for name in SOURCE_LAYERS}
    for index, (code, name, short) in enumerate(DISTRICTS):
        out_grids += _features(grids, index, code, short)
        out_communities += _features(communities, index, code, short)
        out_shapes += _features(shapes, index, code, short)
        district = _features(district_shape, index, code, short)
        for feature in district:
            feature["properties"].update(code=code, name=name)
        out_district += district
        out_streets += [{"code": _recode(s["code"], code), "name": _rename(s["name"], short)} for s in streets]
        out_inspectors += [{**i, "id": _recode(i["id"], code), "street_code": _recode(i["street_code"], code),
                            "community_code": _recode(i["community_code"], code),
                            "grids": [_recode(g, code) for g in i["grids"]]} for i in inspectors]
        for layer in SOURCE_LAYERS:
            out_layers[layer] += _features(layers[layer], index, code, short, keys=(), names=())
    note = {"crs_note": "GCJ-02 (AMap) longitude/latitude",
            "generated": "bench/citygen.py: 16 shifted copies of the Dongcheng scenario"}
    _write_collection(out / "grids.geojson", out_grids)
    _write_collection(out / "communities.geojson", out_communities)
    _write_json(out / "streets.json", out_streets)
    _write_json(out / "inspectors.json", out_inspectors)
    _write_json(out / "departments.json", _departments(read("departments.json")))
    _write_collection(out / "source" / "district.geojson", out_district, note)
    _write_collection(out / "source" / "streets.geojson", out_shapes, note)
    for layer in SOURCE_LAYERS:
        _write_collection(out / "source" / f"{layer}.geojson", out_layers[layer], note)
    (out / "source" / "PROVENANCE.md").write_text(
        "Generated by `python -m bench.citygen`: 16 shifted copies of the Dongcheng scenario's territory "
        "(see dashboard/scenarios/dongcheng/source/PROVENANCE.md), district codes of Beijing (GB/T 2260). "
        "A benchmark city, not a map of Beijing.\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"districts": len(DISTRICTS), "streets": len(out_streets), "communities": len(out_communities),
            "grids": len(out_grids), "inspectors": len(out_inspectors), "megabytes": round(size / 2**20, 1)}


def ensure(out: Path) -> Path:
    """The city scenario at ``out``, generated if the folder is absent (benchmarks share one)."""
    out = Path(out)
    if not (out / "grids.geojson").exists():
        if out.exists():
            shutil.rmtree(out)
        partial = out.with_name(out.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        generate(partial)
        partial.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="folder to write (absent or empty)")
    args = parser.parse_args(argv)
    try:
        summary = generate(args.outdir)
    except (ValueError, OSError) as exc:
        print(f"citygen: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
