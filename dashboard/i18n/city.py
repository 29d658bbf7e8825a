"""Strings of ``citygrid city init`` and of the place names a generated city shows instead of
Dongcheng's (the district's name comes from the scenario's ``source/district.geojson``)."""

STRINGS = {
    # ---- the zone the pages count days in (Beijing time for Dongcheng, the city's own elsewhere)
    "city.zone.beijing": ("北京时间", "Beijing time"),
    "city.zone.local": ("当地时间（{zone}）", "local time ({zone})"),
    "city.report.period_note": ("按{zone}自然日，含首尾两天", "dates in {zone}, both ends included"),
    "city.eval.subtitle": ("按首次派遣时间统计 · {zone}", "By first dispatch · {zone}"),
    "city.briefing.as_of": ("数据截至 {at}（{zone}；日界为 0 时）", "Data as of {at} ({zone}; days run from midnight)"),
    # ---- the district's own name in titles (every page, the wall, the briefing)
    "city.app.subtitle": ("{district} · 实时运行", "{district} · live operations"),
    "city.wall.title": ("{district}城市网格化管理指挥中心", "{district} Grid Management Command Centre"),
    "city.briefing.title": ("{district}城市网格化管理每日简报", "{district} Grid Management Daily Briefing"),
    "city.briefing.scope_title": ("{district}{area}每日简报", "{district} {area} Daily Briefing"),
    # ---- citygrid city init
    "city.one_source": ("请给出且只给出一个范围来源：--bbox、--from 或 --polygons",
                        "give exactly one extent: --bbox, --from or --polygons"),
    "city.not_empty": ("文件夹 {path} 已有文件：换一个文件夹，或加 --force 覆盖",
                       "folder {path} already has files: choose another or add --force"),
    "city.bad_bbox": ("--bbox 应为 最小经度,最小纬度,最大经度,最大纬度（如 -122.52,37.70,-122.35,37.83），收到「{value}」",
                      "--bbox must be MINLON,MINLAT,MAXLON,MAXLAT (like -122.52,37.70,-122.35,37.83), got '{value}'"),
    "city.bad_work_hours": ("--work-hours 应为 HH:MM-HH:MM（如 09:00-17:00），收到「{value}」",
                            "--work-hours must be HH:MM-HH:MM (like 09:00-17:00), got '{value}'"),
    "city.bad_timezone": ("「{value}」不是 IANA 时区（如 America/Los_Angeles）",
                          "'{value}' is not an IANA time zone (like America/Los_Angeles)"),
    "city.done": ("已生成 {path}：{streets} 个街道、{communities} 个社区、{grids} 个单元网格（{area_km2} 平方公里），"
                  "{inspectors} 名监督员",
                  "wrote {path}: {streets} streets, {communities} communities, {grids} unit grids ({area_km2} km²), "
                  "{inspectors} inspectors"),
    "city.points": ("坐标点：读入 {points_read} 行，使用 {points_used} 个，无效 {garbage} 个，离群 {outliers} 个",
                    "points: {points_read} rows read, {points_used} used, {garbage} unusable, {outliers} outliers"),
    "city.next": ("下一步：CITYGRID_SCENARIO={path} citygrid demo --data-dir 另一个数据文件夹",
                  "next: CITYGRID_SCENARIO={path} citygrid demo --data-dir ANOTHER_DATA_FOLDER"),
}


def zone_label(tz, lang: str) -> str:
    """How a page names the zone its days are counted in: "北京时间" for Asia/Shanghai (the
    bundled Dongcheng scenario), "当地时间（America/Los_Angeles）" for another city."""
    from dashboard.i18n import t
    zone = str(tz)
    return t("city.zone.beijing", lang) if zone == "Asia/Shanghai" else t("city.zone.local", lang, zone=zone)
