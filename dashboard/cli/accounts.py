"""``citygrid users …`` and ``citygrid tokens …``: people, their passwords and their tokens.

Tokens are printed once, when issued, and stored hashed; ``tokens list`` shows everything
but the secret.  Disabling a user, changing its password or revoking a token takes effect on
the next request of every open session and wall (:mod:`dashboard.web.sessions`).
"""
from __future__ import annotations

import click

from dashboard.cli.errors import fail_cleanly
from dashboard.domain.permissions import ROLES


def _engine(ctx):
    from datasource.system import System
    return System(ctx.obj).start(redis=False).engine


def _when(at) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


@click.group()
def users():
    """Manage users (hashed passwords in the reporting database)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password", default=None, help="At least 8 characters; prompted for when omitted (not for wall).")
@click.option("--department", default=None, help="Department code, for role department.")
@click.option("--scope", default=None, help="Sub-centre: a street (9 digits) or community (12 digits) code; "
                                            "omitted = the whole district.")
@click.pass_context
@fail_cleanly
def users_add(ctx, name, role, password, department, scope):
    """Create user NAME with ROLE."""
    from datasource.services import accounts
    from datasource.system import System
    system = System(ctx.obj).start(redis=False)
    if password is None and role != "wall":
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    user = accounts.add_user(system.engine, name, role, password, department, system.scenario.departments,
                             scope=scope, streets=system.scenario.streets, communities=system.scenario.communities)
    click.echo(f"user {user.name} ({user.role}{', scope ' + user.scope if user.scope else ''}) created")


@users.command("list")
@click.pass_context
@fail_cleanly
def users_list(ctx):
    """List users (disabled ones are marked)."""
    from datasource.services import accounts
    for user in accounts.list_users(_engine(ctx)):
        click.echo(f"{user['name']:<20} {user['role']:<12} {user['department_code'] or '':<24} "
                   f"{user['scope'] or '':<12} {'' if user['active'] else 'disabled'}".rstrip())


def _set_active(ctx, name: str, active: bool) -> None:
    from datasource.services import accounts
    word = "enabled" if active else "disabled"
    changed = accounts.set_active(_engine(ctx), name, active)
    click.echo(f"user {name} {word}" if changed else f"user {name} was already {word}")


@users.command("disable")
@click.argument("name")
@click.pass_context
@fail_cleanly
def users_disable(ctx, name):
    """Disable user NAME: its sessions end and its tokens are refused, from the next request."""
    _set_active(ctx, name, False)


@users.command("enable")
@click.argument("name")
@click.pass_context
@fail_cleanly
def users_enable(ctx, name):
    """Enable user NAME again (its unrevoked, unexpired tokens work again; it logs in anew)."""
    _set_active(ctx, name, True)


@users.command("password")
@click.argument("name")
@click.option("--password", default=None, help="The new password (at least 8 characters); prompted for when omitted.")
@click.pass_context
@fail_cleanly
def users_password(ctx, name, password):
    """Change NAME's password; every session of NAME ends."""
    from datasource.services import accounts
    if password is None:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    accounts.set_password(_engine(ctx), name, password)
    click.echo(f"password of {name} changed; its sessions have ended")


@click.group()
def tokens():
    """API and wall display tokens: create (shown once), list, revoke."""


@tokens.command("create")
@click.argument("name")
@click.option("--expires", default=None, metavar="DURATION",
              help="Life of the token: 30m, 12h, 90d, 2w (default: no expiry).")
@click.option("--label", default=None, help="What the token is for (a wall's place, a client), shown in the list.")
@click.option("--replace", is_flag=True, help="Revoke NAME's other tokens at the same time.")
@click.pass_context
@fail_cleanly
def tokens_create(ctx, name, expires, label, replace):
    """Print a new token for user NAME, once (Authorization: Bearer TOKEN; for a wall user,
    /wall?token=TOKEN).  Only its hash is stored: it cannot be shown again."""
    from datasource.services import tokens as service
    life = service.parse_duration(expires)
    issued = service.create(_engine(ctx), name, expires=life, label=label, replace=replace)
    click.echo(issued.token)
    note = f"token {issued.id} for {issued.user}, expires {_when(issued.expires_at) if issued.expires_at else 'never'}"
    click.echo(note, err=True)   # stdout stays the bare token, for scripts


@tokens.command("list")
@click.option("--user", "name", default=None, help="Only this user's tokens.")
@click.pass_context
@fail_cleanly
def tokens_list(ctx, name):
    """List tokens (never their secret), newest first."""
    from datasource.services import tokens as service
    rows = service.list_tokens(_engine(ctx), name)
    click.echo(f"{'ID':>5}  {'USER':<16} {'ROLE':<12} {'STATE':<9} {'ISSUED':<21} {'EXPIRES':<21} "
               f"{'LAST USED':<21} LABEL")
    for r in rows:
        click.echo(f"{r['id']:>5}  {r['user']:<16} {r['role']:<12} {r['state']:<9} {_when(r['created_at']):<21} "
                   f"{_when(r['expires_at']) if r['expires_at'] else 'never':<21} {_when(r['last_used_at']):<21} "
                   f"{r['label'] or ''}".rstrip())


@tokens.command("revoke")
@click.argument("token_id", required=False, type=int)
@click.option("--user", "name", default=None, help="Revoke every live token of this user instead.")
@click.pass_context
@fail_cleanly
def tokens_revoke(ctx, token_id, name):
    """Revoke token TOKEN_ID (see tokens list), or all of --user's: refused from the next request."""
    from datasource.services import tokens as service
    if (token_id is None) == (name is None):
        raise click.UsageError("give a TOKEN_ID or --user NAME (one of them)")
    if name is not None:
        click.echo(f"revoked {service.revoke_user(_engine(ctx), name)} token(s) of {name}")
        return
    row = service.revoke(_engine(ctx), token_id)
    click.echo(f"token {row['id']} of {row['user']} revoked")
