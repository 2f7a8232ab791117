"""One event loop per process for the KIS calls of sync code (views, actions).

``async_to_sync`` starts a thread and an event loop for every call, so nothing that lives on
a loop (kept-alive connections, cached tokens, a Redis client) outlives a call. Instead,
``run`` hands the coroutine to a daemon thread that runs one loop for the life of the
process, and waits for it.

While it waits, the calling thread runs the database work the coroutine asks for through
``on_caller_thread``: Django connections belong to a thread, and the view's connection (and
its transaction) is the one that must read and write, never a connection of the loop
thread. A forked child starts a loop of its own on first use; ``stop`` ends the loop and
the clean-ups registered with ``on_stop``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from asgiref.current_thread_executor import CurrentThreadExecutor
from asgiref.sync import sync_to_async

log = logging.getLogger(__name__)

T = TypeVar("T")

_STOP_WAIT_S = 10.0  # clean-ups close sockets; a peer that never answers must not hang exit

_caller: contextvars.ContextVar[CurrentThreadExecutor] = contextvars.ContextVar("kis_caller")


async def on_caller_thread(work: Callable[[], T]) -> T:
    """Run blocking ``work`` (database access) on the thread that ``run`` is serving, or,
    for a coroutine of an async caller, in Django's thread-sensitive executor."""
    caller = _caller.get(None)
    if caller is None:
        return await sync_to_async(work)()
    return await asyncio.wrap_future(caller.submit(work))


class ProcessLoop:
    """The loop thread of this process, started on first use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._cleanups: list[Callable[[], Awaitable[None]]] = []

    def run(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """``work()`` on the process loop; its result or exception. Not from a loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("ProcessLoop.run blocks: await the coroutine on this loop")
        caller = CurrentThreadExecutor(None)

        async def served() -> T:
            _caller.set(caller)
            return await work()

        done = asyncio.run_coroutine_threadsafe(served(), self._running_loop())
        caller.run_until_future(done)
        return done.result()

    def on_stop(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Await ``cleanup()`` on the loop when it stops (close pooled clients, Redis)."""
        self._cleanups.append(cleanup)

    def stop(self) -> None:
        """Run the clean-ups, then end the loop and its thread; the next ``run`` starts a
        new one. Tests call this before their simulator goes away."""
        with self._guard:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._clean_up(), loop).result(_STOP_WAIT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_STOP_WAIT_S)
        if not thread.is_alive():
            loop.close()

    def forget_after_fork(self) -> None:
        """In a forked child: the parent's loop thread does not exist here, and its sockets
        are the parent's. Drop them unclosed (closing would end the parent's TLS sessions)."""
        self._guard = threading.Lock()
        self._loop = self._thread = None

    async def _clean_up(self) -> None:
        for cleanup in self._cleanups:
            try:
                await cleanup()
            except Exception:
                log.exception("closing the KIS loop: a clean-up failed")

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=f"kisweb-kis-loop-{os.getpid()}", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop


process_loop = ProcessLoop()
os.register_at_fork(after_in_child=process_loop.forget_after_fork)
atexit.register(process_loop.stop)
