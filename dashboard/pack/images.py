"""PNG export for the review pack: Plotly figures through kaleido 1.x and a local Chromium.

Kaleido drives a headless Chromium. Its convenience functions (`write_fig_sync`, `fig.write_image`)
start one browser per image, several seconds each; here one browser renders the whole batch. The
browser is the system's (`NORTHSTAR_CHROMIUM`, `BROWSER_PATH`, then /usr/bin/chromium or one on the
PATH): kaleido is never asked to download one, and MathJax (which kaleido would load from a CDN)
is switched off, so rendering works with the network down.

The dashboard renders every review pack on one browser per server process (`SharedRenderer`):
packs asked for at the same time wait their turn instead of each starting a Chromium (five clicks
used to start 30 browser processes, ~6.4 GB). That browser closes after `SHARED_IDLE_SECONDS`
without work and when the server stops (`close_shared_renderer`).

kaleido is imported inside the functions: importing the dashboard stays fast.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import threading
import time
import zlib
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import plotly.graph_objects as go

from dashboard.pack.model import PackError

if TYPE_CHECKING:
    from kaleido import Kaleido

T = TypeVar("T")
DEFAULT_BROWSERS = (
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
RENDER_TIMEOUT = 90.0  # seconds for one image before kaleido gives up
SHARED_IDLE_SECONDS = 600.0  # the shared browser closes after this long without a pack to render


@dataclass(frozen=True)
class Image:
    """One figure to write as PNG: `width` x `height` CSS pixels, `scale` device pixels per pixel.

    `text` goes into the PNG as tEXt chunks (as-of date, source URL...), readable by any image tool.
    """

    figure: go.Figure
    path: Path
    width: int
    height: int
    scale: float = 2
    text: Mapping[str, str] = field(default_factory=dict)

    @property
    def pixels(self) -> tuple[int, int]:
        return round(self.width * self.scale), round(self.height * self.scale)


@dataclass(frozen=True)
class RenderStats:
    """`seconds` from the call to the last image written; `startup_seconds` of them spent waiting
    for browsers to start (near 0 when the browser was started early and is up already)."""

    images: int
    browsers: int
    seconds: float
    startup_seconds: float


def _executable(candidate: str) -> str | None:
    path = candidate if os.sep in candidate else shutil.which(candidate)
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def find_browser(explicit: str | os.PathLike[str] | None = None) -> str:
    """The Chromium to render with: `explicit`, else $NORTHSTAR_CHROMIUM, else $BROWSER_PATH, else
    /usr/bin/chromium or a Chromium or Chrome on the PATH. A PackError naming the fix otherwise."""
    chosen = str(explicit) if explicit else os.environ.get("NORTHSTAR_CHROMIUM", "").strip()
    if chosen:
        found = _executable(chosen)
        if found is None:
            raise PackError(
                f"no browser at {chosen}; point NORTHSTAR_CHROMIUM at a Chromium or Chrome executable "
                "(on Debian: apt-get install chromium)"
            )
        return found
    for candidate in (os.environ.get("BROWSER_PATH", "").strip(), *DEFAULT_BROWSERS):
        found = _executable(candidate) if candidate else None
        if found:
            return found
    raise PackError(
        "the review pack's images need Chromium and none was found; install it (apt-get install chromium) "
        "or set NORTHSTAR_CHROMIUM to a Chromium or Chrome executable"
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def with_text(png: bytes, text: Mapping[str, str]) -> bytes:
    """The PNG with `text` added as iTXt chunks (UTF-8) right after the header chunk."""
    if not text:
        return png
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise PackError("the renderer returned something that is not a PNG image")
    ihdr_end = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4
    chunks = b"".join(
        _chunk(
            b"iTXt", key.encode("latin-1", "replace")[:79] + b"\x00\x00\x00\x00\x00" + value.encode("utf-8")
        )
        for key, value in text.items()
    )
    return png[:ihdr_end] + chunks + png[ihdr_end:]


def _options(image: Image) -> dict[str, str | float]:
    return {"format": "png", "width": image.width, "height": image.height, "scale": image.scale}


def _kaleido(browser: str, tabs: int) -> Kaleido:
    try:
        import kaleido
    except ImportError:
        raise PackError(
            "the review pack's images need kaleido; install it with `pip install kaleido`"
        ) from None
    # mathjax=False: kaleido would otherwise load MathJax from a CDN for every page.
    return kaleido.Kaleido(path=browser, n=tabs, mathjax=False, timeout=RENDER_TIMEOUT)


def _write(image: Image, png: bytes) -> None:
    image.path.parent.mkdir(parents=True, exist_ok=True)
    image.path.write_bytes(with_text(png, image.text))


class Renderer:
    """One headless Chromium, opened in a thread of its own, that renders any number of batches.

    `start()` returns at once, so the browser starts up while the caller computes the figures;
    `render()` waits for it. Use it as a context manager, or call `close()`.
    """

    def __init__(self, browser: str | None = None, *, tabs: int = 1) -> None:
        self.path = find_browser(browser)
        self.tabs = max(1, tabs)
        self.startup_seconds = 0.0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: Kaleido | None = None
        self._error: BaseException | None = None

    def start(self) -> Renderer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="northstar-pack-browser", daemon=True)
            self._thread.start()
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        began = time.perf_counter()
        try:
            kaleido = _kaleido(self.path, self.tabs)
            loop.run_until_complete(kaleido.open())
            self._kaleido = kaleido
        except BaseException as exc:  # handed to the thread that calls render()
            self._error = exc
        finally:
            self.startup_seconds = time.perf_counter() - began
            self._ready.set()
        if self._kaleido is not None:
            loop.run_forever()  # until close() stops it
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def render(self, images: Sequence[Image]) -> RenderStats:
        """Write every image (in order; several at once with `tabs` > 1)."""
        began = time.perf_counter()
        self.start()
        self._ready.wait()
        if self._error is not None:
            raise _failure(self.path, self._error)
        kaleido = self._kaleido
        assert kaleido is not None  # the browser is up: started without an error
        waited = time.perf_counter() - began

        async def batch() -> None:
            async def one(image: Image) -> None:
                _write(image, await kaleido.calc_fig(image.figure, opts=_options(image)))

            if self.tabs == 1:
                for image in images:
                    await one(image)
            else:
                await asyncio.gather(*(one(image) for image in images))

        try:
            self._call(batch())
        except PackError:
            raise
        except Exception as exc:
            raise _failure(self.path, exc) from exc
        return RenderStats(len(images), 1, time.perf_counter() - began, waited)

    def close(self) -> None:
        if self._thread is None:
            return
        self._ready.wait()
        if self._kaleido is not None and self._loop is not None:
            try:
                self._call(self._kaleido.close())
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> Renderer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _failure(path: str, exc: BaseException) -> PackError:
    if isinstance(exc, PackError):
        return exc
    if isinstance(exc, OSError):
        return PackError(f"could not write the pack's images: {exc}")
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return PackError(f"rendering the pack's images with {path} failed: {reason}")


async def _browser_per_image(images: Sequence[Image], browser: str) -> float:
    startup = 0.0
    for image in images:
        began = time.perf_counter()
        async with _kaleido(browser, 1) as renderer:
            startup += time.perf_counter() - began
            _write(image, await renderer.calc_fig(image.figure, opts=_options(image)))
    return startup


def render_pngs(
    images: Sequence[Image],
    *,
    browser: str | None = None,
    tabs: int = 1,
    one_browser: bool = True,
) -> RenderStats:
    """Write every image as PNG with one browser for the batch (default), or, for comparison in
    the benchmark, a browser per image as kaleido's convenience functions do without a server."""
    if not images:
        return RenderStats(0, 0, 0.0, 0.0)
    if one_browser:
        with Renderer(browser, tabs=tabs) as renderer:
            return renderer.render(images)
    path = find_browser(browser)
    began = time.perf_counter()
    try:
        startup = asyncio.run(_browser_per_image(images, path))
    except Exception as exc:
        raise _failure(path, exc) from exc
    return RenderStats(len(images), len(images), time.perf_counter() - began, startup)


class ImageRenderer(Protocol):
    def render(self, images: Sequence[Image]) -> RenderStats: ...


_queue = threading.Lock()  # held while a batch renders on the shared browser: one pack at a time
_slot = threading.Lock()  # guards the reference below
_shared: Renderer | None = None
_idle: threading.Timer | None = None


class SharedRenderer:
    """The server process's one browser: `render` waits for any other batch to finish, then renders
    on the browser (started on first use, again after a failure or an idle close)."""

    def render(self, images: Sequence[Image]) -> RenderStats:
        global _shared, _idle
        with _queue:
            with _slot:
                if _idle is not None:
                    _idle.cancel()
                    _idle = None
                if _shared is None:
                    _shared = Renderer().start()
                renderer = _shared
            try:
                return renderer.render(images)
            except BaseException:
                _drop(renderer)  # a crashed browser is not reused
                raise
            finally:
                with _slot:
                    if _shared is renderer:
                        _idle = threading.Timer(SHARED_IDLE_SECONDS, _close_when_idle)
                        _idle.daemon = True
                        _idle.start()


def _drop(renderer: Renderer) -> None:
    global _shared
    with _slot:
        if _shared is renderer:
            _shared = None
    renderer.close()


def _close_when_idle() -> None:
    if _queue.acquire(blocking=False):  # a batch is rendering: it restarts the timer when done
        try:
            with _slot:
                renderer = _shared
            if renderer is not None:
                _drop(renderer)
        finally:
            _queue.release()


def shared_renderer() -> SharedRenderer:
    return SharedRenderer()


def shared_browser_running() -> bool:
    return _shared is not None


def close_shared_renderer() -> None:
    """Close the shared browser now (the server is stopping); a batch still rendering fails."""
    global _shared, _idle
    with _slot:
        renderer, _shared = _shared, None
        if _idle is not None:
            _idle.cancel()
            _idle = None
    if renderer is not None:
        renderer.close()
