"""The relay's Redis leases (market/lease.py) on the machine's Redis: one holder at a time,
lapses, fencing numbers, and a holder that learns at once that it lost its lease."""

from __future__ import annotations

import asyncio
import secrets
import subprocess

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from market.lease import PREFIX, Lease, RelayLeases
from tests.helpers import free_port, wait_until

pytestmark = pytest.mark.hosted


@pytest.fixture
async def redis():
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    yield client
    async for key in client.scan_iter(f"{PREFIX}:*"):
        await client.delete(key)
    await client.aclose()


def lease(redis, name: str, holder: str, ttl_s: float = 30.0) -> Lease:
    return Lease(redis, name, holder=holder, ttl_s=ttl_s)


def a_name() -> str:
    return f"test-{secrets.token_hex(4)}"


async def test_of_many_contenders_exactly_one_holds_the_lease(redis):
    name = a_name()
    contenders = [lease(redis, name, f"relay-{n}") for n in range(20)]
    won = await asyncio.gather(*(c.acquire() for c in contenders))
    assert won.count(True) == 1
    winner = contenders[won.index(True)]
    assert await redis.get(winner.key) == f"{winner.holder}#{winner.fence}".encode()
    assert [c.held for c in contenders] == won


async def test_fencing_numbers_grow_with_every_holder_and_failed_attempts_use_none(redis):
    name = a_name()
    first, second = lease(redis, name, "first"), lease(redis, name, "second")
    assert await first.acquire()
    one = first.fence
    assert not await second.acquire()
    assert not await second.acquire()
    await first.release()
    assert await second.acquire()
    assert second.fence == one + 1
    await second.release()
    assert await first.acquire()  # the same holder again: a new, larger number
    assert first.fence == one + 2


async def test_a_lapsed_lease_goes_to_the_next_holder_and_the_old_one_cannot_renew(redis):
    name = a_name()
    old, new = lease(redis, name, "old", ttl_s=0.2), lease(redis, name, "new")
    assert await old.acquire()
    assert not await new.acquire()
    stale_fence = old.fence
    while not await new.acquire():  # the old holder stopped renewing: its lease lapses
        await asyncio.sleep(0.05)
    assert new.fence > stale_fence
    assert not await old.renew()
    assert not old.held
    assert not await old.renew()  # lost stays lost
    await old.release()  # a former holder cannot delete the new holder's lease
    assert await new.renew()
    assert not await lease(redis, name, "third").acquire()


async def test_the_same_holder_with_an_old_fence_cannot_extend_the_new_lease(redis):
    name = a_name()
    stale, current = lease(redis, name, "relay-1", ttl_s=0.2), lease(redis, name, "relay-1")
    assert await stale.acquire()
    while not await current.acquire():
        await asyncio.sleep(0.05)
    assert not await stale.renew()
    assert await current.renew()


async def test_release_lets_the_next_holder_in_at_once(redis):
    name = a_name()
    first, second = lease(redis, name, "first"), lease(redis, name, "second")
    assert await first.acquire()
    assert not await second.acquire()
    await first.release()
    assert not first.held
    assert await second.acquire()


async def test_a_renewal_that_cannot_reach_redis_means_the_lease_is_lost():
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=1)
    try:
        for _ in range(200):
            try:
                await client.ping()
                break
            except aioredis.ConnectionError:
                await asyncio.sleep(0.05)
        held = lease(client, a_name(), "relay")
        assert await held.acquire()
        server.terminate()
        server.wait(timeout=10)
        assert not await held.renew()
        assert not held.held
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        await client.aclose()


async def test_renew_must_be_well_inside_the_ttl(redis):
    with pytest.raises(ValueError, match="under half"):
        RelayLeases(redis, ttl_s=3, renew_s=1.5)


async def test_a_standby_waits_until_the_active_relay_lets_go(redis):
    active = RelayLeases(redis, ttl_s=5, renew_s=0.1, holder="active")
    standby = RelayLeases(redis, ttl_s=5, renew_s=0.1, holder="standby")
    first = await active.wait_active()
    waiting = asyncio.create_task(standby.wait_active())
    await asyncio.sleep(0.3)  # a few of its attempts
    assert not waiting.done()
    await active.release_all()
    assert await asyncio.wait_for(waiting, 10) > first


async def test_keep_returns_as_soon_as_another_relay_holds_the_active_lease(redis):
    mine = RelayLeases(redis, ttl_s=1, renew_s=0.1, holder="mine")
    other = RelayLeases(redis, ttl_s=1, renew_s=0.1, holder="other")
    await mine.wait_active()
    lost: list[str] = []

    async def on_key_lost(name: str) -> None:
        lost.append(name)

    keeping = asyncio.create_task(mine.keep(on_key_lost))
    await asyncio.sleep(0.3)
    assert not keeping.done()  # renewed, still ours
    await redis.delete(mine.active.key)  # as if it lapsed while this relay was stalled
    await other.wait_active()
    await asyncio.wait_for(keeping, 10)
    assert not mine.active.held
    assert other.active.held and await other.active.renew()


async def test_a_lost_key_lease_is_reported_and_the_others_are_kept(redis):
    mine = RelayLeases(redis, ttl_s=1, renew_s=0.1, holder="mine")
    await mine.wait_active()
    assert await mine.hold_key("alpha") is not None
    assert await mine.hold_key("beta") is not None
    lost: list[str] = []

    async def on_key_lost(name: str) -> None:
        lost.append(name)

    keeping = asyncio.create_task(mine.keep(on_key_lost))
    await redis.delete(mine.keys["alpha"].key)
    thief = lease(redis, "key:alpha", "thief")
    assert await thief.acquire()
    await wait_until(lambda: lost, "the lost key to be reported")
    assert lost == ["alpha"]
    assert set(mine.keys) == {"beta"} and mine.active.held
    keeping.cancel()
    await mine.release_all()


async def test_hold_key_waits_out_a_lapsing_holder_but_not_a_live_one(redis):
    mine = RelayLeases(redis, ttl_s=1, renew_s=0.1, holder="mine")
    await mine.wait_active()
    lapsing = lease(redis, "key:lapsing", "dead-relay", ttl_s=0.3)
    assert await lapsing.acquire()
    fence = await mine.hold_key("lapsing")
    assert fence is not None and fence > lapsing.fence

    live = lease(redis, "key:live", "live-relay", ttl_s=0.3)
    assert await live.acquire()

    async def renew_forever() -> None:
        while await live.renew():
            await asyncio.sleep(0.05)

    renewing = asyncio.create_task(renew_forever())
    assert await mine.hold_key("live") is None
    assert "live" not in mine.keys
    renewing.cancel()
    await mine.release_all()
