"""Callbacks: one module per page, each with ``register(app, services)``."""
import importlib

PAGE_MODULES = ("shell", "wall", "dispatch", "intake", "department", "admin")


def register_all(app, services) -> None:
    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(f"callbacks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"callbacks.{name}":
                raise
            continue
        module.register(app, services)
