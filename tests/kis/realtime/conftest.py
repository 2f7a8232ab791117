"""Realtime sessions against a simulator with a fast heartbeat, and the waits they share."""

from __future__ import annotations

import asyncio

import pytest

from kisweb.kis.realtime import RealtimeSession
from kisweb.kissim import Simulator

from ..conftest import FAST

DEADLINE_S = 10


@pytest.fixture
async def sim():
    """Heartbeats every 0.2 s; a client that does not answer within 0.6 s is dropped."""
    simulator = Simulator(
        accounts=[], speed=0, rate_limits=FAST, pingpong_interval_s=0.2, pingpong_timeout_s=0.6
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def open_session(make_client):
    """open_session(env, session_options=..., **account_kwargs) -> (account, client, session),
    the session open; every session is closed after the test."""
    sessions: list[RealtimeSession] = []

    async def factory(env="paper", session_options=None, **account_kwargs):
        account, kis = make_client(env, **account_kwargs)
        options = {"reconnect_min_s": 0.05, "reconnect_max_s": 0.2, **(session_options or {})}
        session = RealtimeSession(kis, **options)
        sessions.append(session)
        await session.start()
        await session.wait_open(DEADLINE_S)
        return account, kis, session

    yield factory
    for session in sessions:
        await session.aclose()


async def next_event(events, kind, predicate=lambda event: True):
    async def find():
        async for event in events:
            if isinstance(event, kind) and predicate(event):
                return event
        raise AssertionError("session closed")

    return await asyncio.wait_for(find(), DEADLINE_S)


async def wait_until(condition, what: str):
    async def poll():
        while not condition():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), DEADLINE_S)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
