"""Callbacks: one module per page, each with ``register(app, services)``."""


def register_all(app, services) -> None:
    from callbacks import admin, briefing, department, department_report, departments, dispatch, intake, shell, wall
    from callbacks import admin_tokens, components, evidence, inspectors, regions, visits
    for module in (shell, wall, dispatch, intake, department, admin, departments, department_report, regions,
                   inspectors, briefing, components, evidence, visits, admin_tokens):
        module.register(app, services)
