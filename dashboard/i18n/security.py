"""Strings of sessions, tokens and browser hardening (issue 12): the "session ended" and
"display token revoked" screens, the 403/429 answers and the admin page's token section."""

STRINGS = {
    # /session-ended (dashboard/web/sessions.py)
    "sec.ended.token_revoked": ("此大屏的显示令牌已被吊销", "This display token has been revoked"),
    "sec.ended.token_expired": ("此大屏的显示令牌已过期", "This display token has expired"),
    "sec.ended.disabled": ("此账号已被停用", "This account has been disabled"),
    "sec.ended.other": ("会话已结束", "The session has ended"),
    "sec.ended.advice": ("请联系系统管理员获取新的大屏链接，或重新登录。",
                         "Ask the administrator for a new wall link, or log in again."),
    # dashboard/web/security.py
    "sec.origin": ("请求来自其他网站，已拒绝", "Refused: the request comes from another site"),
    "sec.limit.login": ("登录尝试过于频繁，请一分钟后再试", "Too many log-in attempts; try again in a minute"),
    "sec.limit.token": ("令牌尝试失败次数过多，请稍后再试", "Too many failed token attempts; try again later"),
    # /admin, token section (layouts/admin_tokens.py)
    "sec.tokens.title": ("API 与大屏令牌", "API and display tokens"),
    "sec.tokens.hint": ("令牌只在签发时显示一次（citygrid tokens create），此处仅列出与吊销；吊销在下一次请求时生效，包括已打开的大屏。",
                        "A token is shown once, when issued (citygrid tokens create); here they are listed and "
                        "revoked. A revocation takes effect on the next request, open walls included."),
    "sec.tokens.id": ("编号", "Id"),
    "sec.tokens.user": ("用户", "User"),
    "sec.tokens.role": ("角色", "Role"),
    "sec.tokens.label": ("用途", "Label"),
    "sec.tokens.created": ("签发时间", "Issued"),
    "sec.tokens.expires": ("到期时间", "Expires"),
    "sec.tokens.last_used": ("最近使用", "Last used"),
    "sec.tokens.state": ("状态", "State"),
    "sec.tokens.never": ("永不", "never"),
    "sec.tokens.revoke": ("吊销", "Revoke"),
    "sec.tokens.revoked_msg": ("令牌 {id} 已吊销", "Token {id} revoked"),
    "sec.tokens.revoke_failed": ("令牌 {id} 无法吊销（不存在或已吊销）", "Token {id} could not be revoked (unknown or already revoked)"),
    "sec.tokens.none": ("尚无令牌", "No tokens yet"),
    "sec.tokens.state.active": ("有效", "active"),
    "sec.tokens.state.expired": ("已过期", "expired"),
    "sec.tokens.state.revoked": ("已吊销", "revoked"),
    "sec.tokens.state.disabled": ("用户已停用", "user disabled"),
}
