"""Fault drills (issue 15): one module per drill; run them with `make drills`."""
