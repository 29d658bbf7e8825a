"""Strings of outages (issue 15): Redis or the database unreachable, Redis restarted without
its data — what a command, a page or the API answers then."""

STRINGS = {
    "outage.redis_down": ("事件库（Redis）暂时无法连接，本次操作未执行，请稍后重试",
                          "the event store (Redis) cannot be reached: nothing was done; try again in a moment"),
    "outage.database_down": ("报表数据库暂时无法连接，请稍后重试",
                             "the reporting database cannot be reached; try again in a moment"),
    "outage.stream_lost": ("事件库（Redis）重启后丢失了事件流：在用其数据（AOF 文件或副本）恢复 Redis 之前，不能办理任何案件",
                           "the event store (Redis) lost the event stream when it restarted: no command can be carried "
                           "out until Redis is restored with its data (append-only file or replica)"),
}
