"""Callbacks: one module per page, each with ``register(app, services)``."""


def register_all(app, services) -> None:
    from callbacks import admin, briefing, department, dispatch, intake, shell, wall
    for module in (shell, wall, dispatch, intake, department, admin, briefing):
        module.register(app, services)
