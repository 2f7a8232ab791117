"""Run a Simulator on its own event loop in a daemon thread.

Sync Django tests, browser tests and async tests on other loops all talk to it over
loopback sockets; `call` runs a coroutine function on the simulator's loop when a test
needs to touch its state directly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .server import Simulator

T = TypeVar("T")
START_TIMEOUT_S = 10.0


class SimulatorThread:
    """A Simulator on its own loop and thread; `.sim` is the Simulator itself."""

    def __init__(self, **simulator_kwargs: Any):
        self.sim = Simulator(**simulator_kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def start(self) -> SimulatorThread:
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._stopped = asyncio.Event()
            try:
                await self.sim.start()
            except BaseException as error:
                failure.append(error)
                ready.set()
                return
            ready.set()
            await self._stopped.wait()
            await self.sim.stop()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(main())
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="kissim", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S):
            raise RuntimeError("simulator did not start")
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None or self._stopped is None:
            return
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(START_TIMEOUT_S)
        self._thread = None

    def call(self, fn: Callable[..., Awaitable[T] | T], *args: Any) -> T:
        """Run `fn(*args)` on the simulator's loop (awaiting it if it is a coroutine)."""
        if self._loop is None:
            raise RuntimeError("simulator thread is not running")

        async def run() -> T:
            result = fn(*args)
            if isinstance(result, Awaitable):
                return await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(START_TIMEOUT_S)

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def real_port(self) -> int:
        return self.sim.real_port

    @property
    def paper_port(self) -> int:
        return self.sim.paper_port

    @property
    def real_url(self) -> str:
        return self.sim.real_url

    @property
    def paper_url(self) -> str:
        return self.sim.paper_url

    @property
    def real_ws_url(self) -> str:
        return self.sim.real_ws_url

    @property
    def paper_ws_url(self) -> str:
        return self.sim.paper_ws_url
