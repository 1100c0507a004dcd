"""A plotext chart that draws only when its data, size or theme changed.

``PlotextPlot.render`` rebuilds the whole figure on every repaint (10-40 ms in
plotext for a few hundred points), and Textual repaints a widget for many reasons
besides new data. Here the built text is kept under a key the subclass gives
(``signature``), so a repaint with the same data costs a dictionary look-up.

Only our own labels and numbers reach plotext: its output is parsed as ANSI
(``Text.from_ansi``), so device text must never be drawn through it.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from typing import Any

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

# Line colours per series as RGB, so plotext and the outlet rows (Rich) draw the same.
SERIES_COLORS: tuple[tuple[int, int, int], ...] = (
    (80, 200, 120),  # green
    (80, 180, 255),  # blue
    (240, 110, 200),  # pink
    (250, 200, 60),  # yellow
    (170, 130, 255),  # violet
    (255, 120, 80),  # orange
    (90, 220, 220),  # teal
    (200, 200, 200),  # grey
)


def rich_color(rgb: tuple[int, int, int]) -> str:
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


MIN_INTERVAL = 2.0  # s between two builds for new data (a size or theme change: at once)


class CachedPlot(PlotextPlot):
    """Subclasses implement ``draw`` (plotext calls) and ``signature`` (what it depends on).

    Building runs on a thread (plotext is pure Python: 10-40 ms for a strip), so a
    key press is never stuck behind a chart; until it is done the previous picture
    stays. One build at a time (one plotext figure per widget), and new data is
    drawn at most every ``MIN_INTERVAL`` (a 5-minute chart needs no 1 Hz redraw).
    The thread draws ``data()`` as it was when the key was taken: reading the widget
    from the thread drew another device's curve under this one's key when the
    selection moved on and back during a build (it then stayed, as the key matched).
    """

    DEFAULT_CSS = """
    CachedPlot { width: 1fr; height: 1fr; min-height: 4; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._built: tuple[tuple[object, ...], Text] | None = None
        self._wanted: tuple[object, ...] | None = None  # the key a build is running for
        self._lock = threading.Lock()
        self._last_build = -1e9  # monotonic s when the last build was asked for
        self._later = False  # a repaint is scheduled after MIN_INTERVAL
        self.builds = 0  # how many times plotext ran (tests and the benchmark read it)
        self.build_seconds = 0.0

    def signature(self) -> tuple[object, ...]:
        raise NotImplementedError

    def subject(self) -> object:
        """What is shown (a device and range): new data for the same subject is throttled.

        None: never throttled (a new picture is always a new subject).
        """
        return None

    def data(self) -> object:
        """What ``draw`` draws, taken on the event loop with the key (never changed later)."""
        raise NotImplementedError

    def draw(self, width: int, height: int, data: Any) -> None:
        """Make the plotext calls for a ``width`` x ``height`` chart (cleared before)."""
        raise NotImplementedError

    def changed(self) -> None:
        """The data may have changed: repaint only if what it depends on did.

        New data for the picture drawn moments ago is drawn later, and not
        repainted now: a repaint turns the picture into lines again (~10 ms).
        """
        key = self._key()
        if self._built is not None and self._built[0] == key:
            return
        wait = self._throttle(key)
        if wait > 0:
            self._draw_later(wait)
        else:
            self.refresh()

    def _throttle(self, key: tuple[object, ...]) -> float:
        """Seconds to wait before drawing ``key``: > 0 when only the data moved, lately."""
        built = self._built
        if built is None or built[0][1:] != key[1:] or key[1] is None:
            return 0.0
        return self._last_build + MIN_INTERVAL - time.monotonic()

    def _draw_later(self, wait: float) -> None:
        if not self._later:
            self._later = True
            self.set_timer(wait, self._build_later)

    @property
    def built(self) -> bool:
        """The picture shown is the one for the current data and size."""
        return self._built is not None and self._built[0] == self._key()

    def _key(self) -> tuple[object, ...]:
        size = self.size
        return (
            self.signature(),
            self.subject(),
            size.width,
            size.height,
            self.app.theme,
            self.theme,
        )

    def render(self) -> RenderResult:
        key = self._key()
        if self._built is not None and self._built[0] == key:
            return self._built[1]
        wait = self._throttle(key)
        if wait > 0 and self._built is not None:
            # Only the data moved, and a picture was drawn moments ago: draw it later.
            self._draw_later(wait)
            return self._built[1]
        if self._wanted != key:
            self._wanted = key
            self._last_build = time.monotonic()
            theme = self._get_plotext_theme_name(self.app.theme)
            width, height, data = self.size.width, self.size.height, self.data()
            self.run_worker(
                lambda: self._build(key, theme, width, height, data), thread=True, group="plot"
            )
        return self._built[1] if self._built is not None else Text("")

    def _build_later(self) -> None:
        self._later = False
        self.refresh()

    def _build(
        self, key: tuple[object, ...], theme: str, width: int, height: int, data: object
    ) -> None:
        """On a worker thread: plotext's figure as Text, then handed to the event loop."""
        with self._lock:
            if self._wanted != key:
                return  # newer data came while waiting: that build runs instead
            start = time.perf_counter()
            if width < 8 or height < 3:
                text = Text("")
            else:
                plt = self.plt
                plt.clear_data()
                plt.clear_figure()
                plt.theme(theme)
                plt.plotsize(width, height)
                plt._set_size(width, height)  # as PlotextPlot.render does (plotext issue 5)
                self.draw(width, height, data)
                text = Text.from_ansi(plt.build(), no_wrap=True, end="")
            seconds = time.perf_counter() - start
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._take, key, text, seconds)

    def _take(self, key: tuple[object, ...], text: Text, seconds: float) -> None:
        self.builds += 1
        self.build_seconds += seconds
        self._built = (key, text)
        self.refresh()


def nice_top(top: float) -> float:
    """A round upper bound for an axis (1, 1.5, 2, 2.5, 5 ... times a power of ten), >= 1."""
    if top <= 1:
        return 1.0
    step = 10 ** (len(str(int(top))) - 1)
    for factor in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if factor * step >= top:
            return factor * step
    return 10.0 * step


def axis_levels(top: float, height: int) -> list[float]:
    """Ticks from 0 to ``top`` in round steps (0.5, 1, 2, 2.5, 5 ...), as the height allows."""
    room = max(1, (height - 3) // 2)
    for steps in (4, 5, 2, 3, 1):
        if steps > room:
            continue
        step = top / steps
        scale = 10 ** math.floor(math.log10(step)) if step > 0 else 1.0
        if round(step / scale, 6) in (1.0, 2.0, 2.5, 5.0) or steps == 1:
            return [step * i for i in range(steps + 1)]
    return [0.0, top]
