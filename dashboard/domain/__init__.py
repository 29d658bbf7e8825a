"""The domain core: cases, stages, events, calendar, time limits, codes and indicators.

Nothing in this package imports Dash, Redis or SQLAlchemy (``tests/test_architecture.py``
checks it): it is plain Python over the standard library, so the worker, the web app,
the simulator and the tests all share one set of rules.
"""
