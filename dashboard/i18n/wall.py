"""Strings of the wall display (``/wall``).  Templates use ``{n}``-style fields; the ones the
browser fills in itself (clock, freshness, banners) are handed to it by the layout."""

STRINGS = {
    "wall.title": ("东城区城市网格化管理指挥中心", "Dongcheng Grid Management Command Centre"),
    "wall.subtitle": ("实时运行大屏", "Live operations wall"),
    "wall.view.district": ("全区", "Whole district"),
    # Stage strip
    "wall.strip.now": ("在办", "now"),
    "wall.strip.closed_today": ("今日结案", "closed today"),
    "wall.strip.today": ("今日流入", "today"),
    "wall.strip.total": ("累计", "total"),
    "wall.strip.overdue": ("超期", "overdue"),
    "wall.side.title": ("其他流转", "Side paths"),
    "wall.side.rejected": ("今日不予立案", "rejected today"),
    "wall.side.returned": ("今日退回", "returned today"),
    "wall.side.rework": ("今日返工", "rework today"),
    "wall.side.suspended": ("挂账在办", "suspended now"),
    # Map
    "wall.map.open": ("在办案件", "Open cases"),
    "wall.map.overdue": ("超期案件", "Overdue cases"),
    "wall.map.per_grid": ("每网格", "per grid"),
    "wall.map.markers": ("案件点位", "Case markers"),
    "wall.map.cluster": ("聚合（红色含超期）", "cluster (red: holds overdue)"),
    "wall.map.newest": ("最新上报", "Newest report"),
    # Department board
    "wall.board.title": ("专业部门绩效 · 近30天", "Departments · rolling 30 days"),
    "wall.board.dept": ("部门", "Department"),
    "wall.board.open": ("在办", "Open"),
    "wall.board.overdue": ("超期", "Overdue"),
    "wall.board.on_time": ("按期处置率", "On-time"),
    "wall.board.rework": ("返工率", "Rework"),
    "wall.board.score": ("综合", "Score"),
    "wall.board.grade": ("等级", "Grade"),
    "wall.board.more": ("另有 {n} 个部门", "{n} more departments"),
    "wall.board.empty": ("暂无在办案件", "No open cases"),
    # Ticker
    "wall.ticker.title": ("实时动态", "Live events"),
    "wall.ticker.empty": ("等待事件…", "Waiting for events…"),
    # Freshness and banners (filled in by the browser: {n} is seconds)
    "wall.fresh.ok": ("数据更新于 {n} 秒前", "Data updated {n} s ago"),
    "wall.fresh.waiting": ("正在连接…", "Connecting…"),
    "wall.fresh.unknown": ("无法确认数据是否最新", "Freshness unknown"),
    "wall.banner.stale": ("数据已滞后 {n} 秒 · 以下数字不是实时数据", "Data is {n} s behind · figures are NOT live"),
    "wall.banner.redis": ("事件流（Redis）无法连接 · 以下数字不是实时数据",
                          "Event stream (Redis) unreachable · figures are NOT live"),
    "wall.banner.db": ("数据库无法连接 · 显示最后一次取得的数据", "Database unreachable · showing the last figures received"),
    "wall.banner.offline": ("与服务器的连接中断 · 显示最后一次取得的数据",
                            "Connection to the server lost · showing the last figures received"),
    "wall.none": ("—", "—"),
}
