"""Strings of issue 11's localisation, administration and small-things work: role names in
the header, the audit log's values and messages, the admin page's filters and paging, the
404 page, and the map's drawing tools (leaflet-draw, whose own texts are English only).

A third element is an English singular: :func:`dashboard.i18n.t` uses it when ``n`` is 1.
"""
from __future__ import annotations

STRINGS: dict[str, tuple[str, ...]] = {
    # ---- roles (header, admin page)
    "role.wall": ("大屏", "Wall display"),
    "role.operator": ("派遣员", "Dispatcher"),
    "role.supervision": ("监督中心受理员", "Supervision centre"),
    "role.department": ("专业部门", "Department"),
    "role.supervisor": ("督查考核", "Supervisor"),
    "role.leader": ("领导", "Leader"),
    "role.admin": ("系统管理员", "Administrator"),
    "role.none": ("—", "—"),
    # ---- audit values (the log keeps codes; the page and the CSV show these)
    "audit.outcome.ok": ("成功", "done"),
    "audit.outcome.refused": ("被拒绝", "refused"),
    "audit.outcome.conflict": ("冲突（他人已先办理）", "conflict (someone else was first)"),
    "audit.outcome.error": ("出错", "error"),
    "audit.event.reported": ("已上报", "reported"),
    "audit.event.filed": ("已立案", "filed"),
    "audit.event.rejected": ("不予立案", "rejected"),
    "audit.event.dispatched": ("已派遣", "dispatched"),
    "audit.event.returned": ("已退回", "returned"),
    "audit.event.handled": ("已处置", "handled"),
    "audit.event.verified": ("核查通过", "verified"),
    "audit.event.rework": ("核查未通过，返工", "failed verification: rework"),
    "audit.event.closed": ("已结案", "closed"),
    "audit.event.extended": ("已延期", "extended"),
    "audit.event.suspended": ("已挂账", "suspended"),
    "audit.event.resumed": ("已恢复", "resumed"),
    "audit.department": ("处置部门 {name}", "department {name}"),
    "audit.deadline": ("时限 {at}", "deadline {at}"),
    "audit.action.login": ("登录", "log in"),
    "audit.action.logout": ("退出", "log out"),
    "audit.system": ("系统", "system"),
    # ---- the admin page
    "admin.filter_dates": ("日期", "Dates"),
    "admin.filter_action": ("操作", "Action"),
    "admin.case_hint": ("如 DC2026…", "e.g. DC2026…"),
    "admin.user_hint": ("用户名", "user name"),
    "admin.page": ("第 {page} / {pages} 页，共 {n} 条", "page {page} of {pages}, {n} rows", "page {page} of {pages}, {n} row"),
    "admin.prev": ("上一页", "Previous"),
    "admin.next": ("下一页", "Next"),
    "admin.bad_dates": ("日期无效：开始日期不能晚于结束日期", "Bad dates: the start is after the end"),
    "admin.none": ("没有符合条件的记录", "No rows match"),
    "admin.date_from": ("开始日期", "From"),
    "admin.date_to": ("结束日期", "To"),
    "admin.csv.at": ("时间（北京时间）", "Time (Beijing)"),
    "admin.csv.id": ("序号", "No."),
    "admin.csv.before": ("原阶段", "Stage before"),
    "admin.csv.after": ("新阶段", "Stage after"),
    "admin.csv.action_code": ("操作代码", "Action code"),
    "grid.loading": ("加载中…", "Loading…"),
    # ---- the 404 page (Flask, outside Dash)
    "notfound.title": ("页面不存在", "Page not found"),
    "notfound.text": ("地址 {path} 没有对应的页面。", "There is no page at {path}."),
    "notfound.home": ("返回首页", "Back to the home page"),
    # ---- the case panel and limits
    "cmd.no_category": ("请选择问题类别", "choose a category"),
    # ---- leaflet-draw on the dispatch map (assets/l10n_draw.js reads these through the page)
    "draw.polygon": ("画多边形选择案件", "Draw a polygon to select cases"),
    "draw.rectangle": ("画矩形选择案件", "Draw a rectangle to select cases"),
    "draw.finish": ("完成", "Finish"),
    "draw.undo": ("删除最后一个点", "Delete last point"),
    "draw.cancel": ("取消", "Cancel"),
    "draw.delete": ("删除选区", "Delete selection"),
    "draw.clear_all": ("全部清除", "Clear all"),
    "draw.save": ("保存", "Save"),
    "draw.polygon_start": ("单击开始画选区", "Click to start drawing the area"),
    "draw.polygon_cont": ("单击继续画选区", "Click to continue drawing the area"),
    "draw.polygon_end": ("单击第一个点闭合选区", "Click the first point to close the area"),
    "draw.rect_start": ("按住并拖动画矩形", "Click and drag to draw a rectangle"),
    "draw.release": ("松开鼠标完成", "Release the mouse to finish"),
    "draw.delete_hint": ("单击选区将其删除", "Click an area to delete it"),
    "draw.no_delete": ("没有可删除的选区", "No area to delete"),
    "draw.error": ("<strong>错误：</strong>边线不能相交！", "<strong>Error:</strong> edges cannot cross!"),
}
