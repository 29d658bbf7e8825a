"""Plotly figures as SVG, drawn by kaleido in the system's Chromium — nothing downloaded.

Kaleido drives a headless Chromium: here it is pointed at Debian's ``/usr/bin/chromium``
(or ``BROWSER_PATH``) and at the plotly.js inside the plotly package, with MathJax off
(its default is a CDN).  SVG keeps the PDF's charts sharp and small, and WeasyPrint
draws it with the same fontconfig CJK fonts as the text.

Starting Chromium is most of the cost (~3 s on the project machine; each figure then
~0.3 s).  :class:`ChartRenderer` keeps one browser open for a long-lived process (the web
server) and serialises documents through it; ``keep=False`` (the CLI) opens and closes it
per document.
"""
from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import threading
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 90
WIDTH = 760


class ChartError(RuntimeError):
    """The charts could not be drawn (one-line message: what is missing, what to do)."""


def browser_path() -> str:
    """The Chromium to draw with: ``BROWSER_PATH``, else Debian's, else one on ``PATH``."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        if not Path(explicit).exists():
            raise ChartError(f"BROWSER_PATH={explicit} does not exist; install Debian's chromium or fix the path")
        return explicit
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ChartError("no Chromium to draw the charts with: apt-get install chromium (or set BROWSER_PATH)")


def _plotly_js() -> Path:
    import plotly
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():   # kaleido would fall back to a CDN: never
        raise ChartError(f"plotly.js is missing from the plotly package ({path})")
    return path


class ChartRenderer:
    """Draws documents' figures in one Chromium, opened on first use (kept when ``keep``)."""

    def __init__(self, keep: bool = True, width: int = WIDTH):
        self.keep, self.width = keep, width
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kaleido = None

    def render(self, figures: dict) -> dict[str, bytes]:
        """name → SVG bytes of each plotly figure (a dict or a ``go.Figure``; its layout's
        height, :data:`WIDTH` wide)."""
        if not figures:
            return {}
        with self._lock:
            try:
                if self._kaleido is None:
                    self._open()
                return self._call(self._draw(figures))
            except ChartError:
                self._close()
                raise
            except Exception as exc:  # noqa: BLE001 - kaleido/choreographer raise many kinds
                self._close()
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ChartError(f"drawing the charts with Chromium failed: {reason}") from None
            finally:
                if not self.keep:
                    self._close()

    def close(self) -> None:
        with self._lock:
            self._close()

    # ------------------------------------------------------------------ the browser's own loop
    def _open(self) -> None:
        import kaleido
        path, plotly_js = browser_path(), _plotly_js()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="chart-renderer", daemon=True).start()

        async def start():
            k = kaleido.Kaleido(n=1, mathjax=False, plotlyjs=plotly_js, timeout=TIMEOUT_S, path=path)
            await k.open()
            return k
        self._kaleido = self._call(start())
        if self.keep and not getattr(self, "_exit_hook", False):
            atexit.register(self.close)   # never leave a Chromium behind the process
            self._exit_hook = True

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(TIMEOUT_S)

    async def _draw(self, figures: dict) -> dict[str, bytes]:
        out = {}
        for name, fig in figures.items():
            layout = fig["layout"] if isinstance(fig, dict) else fig.layout.to_plotly_json()
            opts = {"format": "svg", "width": self.width, "height": int(layout.get("height") or 320)}
            out[name] = await self._kaleido.calc_fig(fig, opts=opts)
        return out

    def _close(self) -> None:
        loop, k = self._loop, self._kaleido
        self._loop = self._kaleido = None
        if loop is None:
            return
        if k is not None:
            try:
                asyncio.run_coroutine_threadsafe(k.close(), loop).result(20)
            except Exception:  # noqa: BLE001 - closing a broken browser: nothing more to do
                pass
        loop.call_soon_threadsafe(loop.stop)
