"""Callbacks: one module per page, each with ``register(app, services)``."""


def register_all(app, services) -> None:
    from callbacks import admin, department, department_report, departments, dispatch, intake, shell, wall
    for module in (shell, wall, dispatch, intake, department, admin, departments, department_report):
        module.register(app, services)
