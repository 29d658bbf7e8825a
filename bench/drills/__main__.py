"""``python -m bench.drills [--only NAME ...] [--scale S]``: run the fault drills (issue 15).

Every module of the package :mod:`bench.drills` whose name does not start with ``_`` is a
drill: it defines ``TITLE`` (one line), ``NEEDS`` (executables it requires) and
``run(say, scale=1.0)``, which calls ``say("…")`` for every step done and every check made
and raises ``AssertionError`` when a check fails.  The runner runs them one after the other,
prints each drill's lines as they come, then one table — drill · PASSED/FAILED · seconds ·
why — and exits 1 if any drill failed (2 for a bad option).  A missing executable of
``NEEDS`` fails the drill with the reason instead of running it.

``--scale`` below 1 shrinks every drill's sizes and durations proportionally (the tests use
0.02–0.05); 1.0 is the issue's full size (see docs/drills.md for how long that takes).
``--from PACKAGE`` runs the drills of another package (the runner's own tests).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import shutil
import sys
import time
import traceback
from dataclasses import dataclass

PACKAGE = "bench.drills"


@dataclass
class Outcome:
    name: str
    title: str
    passed: bool
    seconds: float
    why: str = ""


def discover(package: str = PACKAGE) -> dict[str, object]:
    """Drill name → its module, in name order (modules named ``_…`` are helpers, not drills)."""
    root = importlib.import_module(package)
    names = sorted(m.name for m in pkgutil.iter_modules(root.__path__)
                   if not m.name.startswith("_") and not m.ispkg)
    return {name: importlib.import_module(f"{package}.{name}") for name in names}


def run_one(name: str, module, scale: float, out=print) -> Outcome:
    """Run one drill, its lines prefixed with its name; never raises."""
    title = getattr(module, "TITLE", name)
    out(f"== {name}: {title} (scale {scale:g})")
    started = time.monotonic()

    def say(line: str) -> None:
        out(f"   [{name} {time.monotonic() - started:6.1f}s] {line}")

    missing = [exe for exe in getattr(module, "NEEDS", ()) if shutil.which(exe) is None and not _pg_binary(exe)]
    if missing:
        why = "missing executable: " + ", ".join(missing)
        say(why)
        return Outcome(name, title, False, 0.0, why)
    try:
        module.run(say, scale=scale)
    except AssertionError as exc:
        why = str(exc).splitlines()[0] if str(exc) else "a check failed"
        say(f"FAILED: {why}")
        return Outcome(name, title, False, time.monotonic() - started, why)
    except Exception as exc:  # noqa: BLE001 - a broken drill is a failed drill, and the others still run
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        say(f"FAILED with an error: {why}")
        for line in traceback.format_exc().rstrip().splitlines()[-12:]:
            out("   | " + line)
        return Outcome(name, title, False, time.monotonic() - started, why)
    return Outcome(name, title, True, time.monotonic() - started)


def _pg_binary(exe: str) -> bool:
    """PostgreSQL's server binaries live outside PATH on Debian (/usr/lib/postgresql/*/bin)."""
    import glob
    return bool(glob.glob(f"/usr/lib/postgresql/*/bin/{exe}"))


def table(outcomes: list[Outcome]) -> str:
    """The final table: drill, result, seconds, and why a drill failed."""
    width = max([len(o.name) for o in outcomes] + [5])
    lines = [f"{'drill':<{width}}  result  seconds  why", f"{'-' * width}  ------  -------  ---"]
    for o in outcomes:
        lines.append(f"{o.name:<{width}}  {'PASSED' if o.passed else 'FAILED'}  {o.seconds:7.1f}  {o.why}".rstrip())
    failed = sum(not o.passed for o in outcomes)
    total = sum(o.seconds for o in outcomes)
    lines.append(f"{len(outcomes) - failed} passed, {failed} failed in {total:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drills", description="Run the fault drills (issue 15).")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these drills")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink sizes and durations (0 < S ≤ 1; default 1)")
    parser.add_argument("--from", dest="package", default=PACKAGE, help=argparse.SUPPRESS)
    parser.add_argument("--list", action="store_true", help="list the drills and exit")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must lie in (0, 1], not {args.scale:g}")
    drills = discover(args.package)
    if args.list:
        for name, module in drills.items():
            print(f"{name}: {getattr(module, 'TITLE', '')}")
        return 0
    unknown = sorted(set(args.only or ()) - set(drills))
    if unknown:
        parser.error(f"no such drill: {', '.join(unknown)} (there are: {', '.join(drills)})")
    chosen = [name for name in drills if not args.only or name in args.only]
    outcomes = []
    for name in chosen:
        outcomes.append(run_one(name, drills[name], args.scale, out=_flush_print))
    print()
    print(table(outcomes))
    return 0 if all(o.passed for o in outcomes) else 1


def _flush_print(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
