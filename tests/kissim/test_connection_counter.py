"""The simulator numbers the TCP connections its requests arrive on, so tests can tell a
client that keeps its connection alive from one that opens a new one per call."""

from __future__ import annotations

import httpx


async def test_requests_on_one_kept_alive_client_count_one_connection(paper):
    for _ in range(3):
        assert (await paper.price("005930")).status_code == 200
    assert paper.sim.stats.connections(paper.account.appkey) == 1


async def test_a_new_client_per_request_counts_a_connection_each(paper):
    for _ in range(3):
        async with httpx.AsyncClient(base_url=paper.base_url, timeout=5) as fresh:
            response = await fresh.get(
                "/uapi/domestic-stock/v1/quotations/inquire-price",
                params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
                headers=paper.headers("FHKST01010100"),
            )
        assert response.status_code == 200
    assert paper.sim.stats.connections(paper.account.appkey) == 3
    numbers = {r.connection for r in paper.sim.stats.requests(appkey=paper.account.appkey)}
    assert 0 not in numbers
