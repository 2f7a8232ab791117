"""A fresh simulator per test, plus a tiny KIS client written here (not kisweb.kis).

The simulator runs on the test's own loop with the random walk stopped (speed=0): tests move
prices with `sim.market.set_price` / `step()` and so stay deterministic. Rate limits are
lifted except in the tests about them.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
import websockets
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from kisweb.kissim import SimAccount, Simulator, make_account

NO_LIMITS = {"real": 10_000, "paper": 10_000}
DQ = "/uapi/domestic-stock/v1/quotations"
DT = "/uapi/domestic-stock/v1/trading"
OQ = "/uapi/overseas-price/v1/quotations"
OT = "/uapi/overseas-stock/v1/trading"


@pytest.fixture
async def sim():
    simulator = Simulator(
        accounts=[],
        seed=7,
        speed=0,
        pingpong_interval_s=60,
        pingpong_timeout_s=60,
        rate_limits=NO_LIMITS,
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


class Kis:
    """Just enough of a KIS client to drive the simulator over real sockets."""

    def __init__(self, sim: Simulator, account: SimAccount):
        self.sim = sim
        self.account = account
        self.base_url = sim.paper_url if account.env == "paper" else sim.real_url
        self.ws_url = sim.paper_ws_url if account.env == "paper" else sim.real_ws_url
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=5)
        self.token = ""

    @property
    def paper(self) -> bool:
        return self.account.env == "paper"

    def tr(self, real_tr: str) -> str:
        """Paper TR IDs replace the first letter with V (§3.5)."""
        return "V" + real_tr[1:] if self.paper else real_tr

    async def login(self) -> Kis:
        response = await self.http.post(
            "/oauth2/tokenP",
            json={
                "grant_type": "client_credentials",
                "appkey": self.account.appkey,
                "appsecret": self.account.appsecret,
            },
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        return self

    async def approval(self) -> str:
        response = await self.http.post(
            "/oauth2/Approval",
            json={
                "grant_type": "client_credentials",
                "appkey": self.account.appkey,
                "secretkey": self.account.appsecret,
            },
        )
        assert response.status_code == 200, response.text
        return response.json()["approval_key"]

    def headers(self, tr_id: str, tr_cont: str = "") -> dict[str, str]:
        return {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {self.token}",
            "appkey": self.account.appkey,
            "appsecret": self.account.appsecret,
            "tr_id": tr_id,
            "tr_cont": tr_cont,
            "custtype": "P",
        }

    async def get(self, path: str, tr_id: str, params: dict, tr_cont: str = "") -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.headers(tr_id, tr_cont))

    async def post(self, path: str, tr_id: str, body: dict) -> httpx.Response:
        return await self.http.post(
            path, content=json.dumps(body).encode(), headers=self.headers(tr_id)
        )

    def acct(self) -> dict[str, str]:
        return {"CANO": self.account.cano, "ACNT_PRDT_CD": self.account.acnt_prdt_cd}

    async def order(
        self, side: str, code: str, qty: int, price: int | str = 0, ord_dvsn: str = "00", tr=None
    ) -> httpx.Response:
        tr_id = tr or self.tr("TTTC0012U" if side == "buy" else "TTTC0011U")
        body = {
            **self.acct(),
            "PDNO": code,
            "ORD_DVSN": ord_dvsn,
            "ORD_QTY": str(qty),
            "ORD_UNPR": str(price),
            "EXCG_ID_DVSN_CD": "KRX",
            "SLL_TYPE": "01" if side == "sell" else "",
            "CNDT_PRIC": "",
        }
        return await self.post(f"{DT}/order-cash", tr_id, body)

    async def rvsecncl(
        self,
        odno: str,
        kind: str,
        qty: int = 0,
        price: int | str = 0,
        all_qty: bool = True,
        tr=None,
    ) -> httpx.Response:
        body = {
            **self.acct(),
            "KRX_FWDG_ORD_ORGNO": "",
            "ORGN_ODNO": odno,
            "ORD_DVSN": "00",
            "RVSE_CNCL_DVSN_CD": kind,
            "ORD_QTY": str(qty),
            "ORD_UNPR": str(price),
            "QTY_ALL_ORD_YN": "Y" if all_qty else "N",
            "EXCG_ID_DVSN_CD": "KRX",
        }
        return await self.post(f"{DT}/order-rvsecncl", tr or self.tr("TTTC0013U"), body)

    async def balance(self, tr_cont: str = "", fk: str = "", nk: str = "") -> httpx.Response:
        params = {
            **self.acct(),
            "AFHR_FLPR_YN": "N",
            "OFL_YN": "",
            "INQR_DVSN": "02",
            "UNPR_DVSN": "01",
            "FUND_STTL_ICLD_YN": "N",
            "FNCG_AMT_AUTO_RDPT_YN": "N",
            "PRCS_DVSN": "00",
            "CTX_AREA_FK100": fk,
            "CTX_AREA_NK100": nk,
        }
        return await self.get(f"{DT}/inquire-balance", self.tr("TTTC8434R"), params, tr_cont)

    async def daily_ccld(
        self, tr_cont: str = "", fk: str = "", nk: str = "", tr=None, **filters: str
    ) -> httpx.Response:
        params = {
            **self.acct(),
            "INQR_STRT_DT": "20000101",
            "INQR_END_DT": "20991231",
            "SLL_BUY_DVSN_CD": "00",
            "INQR_DVSN": "00",
            "PDNO": "",
            "CCLD_DVSN": "00",
            "ORD_GNO_BRNO": "",
            "ODNO": "",
            "INQR_DVSN_3": "00",
            "INQR_DVSN_1": "",
            "CTX_AREA_FK100": fk,
            "CTX_AREA_NK100": nk,
            **filters,
        }
        return await self.get(
            f"{DT}/inquire-daily-ccld", tr or self.tr("TTTC0081R"), params, tr_cont
        )

    async def price(self, code: str) -> httpx.Response:
        return await self.get(
            f"{DQ}/inquire-price",
            "FHKST01010100",
            {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code},
        )

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def make_kis(sim):
    clients: list[Kis] = []

    async def factory(env: str = "paper", **overrides) -> Kis:
        overrides.setdefault("cash_krw", 10_000_000)
        overrides.setdefault("cash_usd", 10_000)
        account = sim.add_account(make_account(env, **overrides))
        kis = Kis(sim, account)
        clients.append(kis)
        return await kis.login()

    yield factory
    for kis in clients:
        await kis.aclose()


@pytest.fixture
async def paper(make_kis) -> Kis:
    return await make_kis("paper", hts_id="alice01")


@pytest.fixture
async def real(make_kis) -> Kis:
    return await make_kis("real", hts_id="realbob")


# -- WebSocket helpers ---------------------------------------------------------------------


def subscribe_message(approval_key: str, tr_id: str, tr_key: str, tr_type: str = "1") -> str:
    return json.dumps(
        {
            "header": {
                "approval_key": approval_key,
                "custtype": "P",
                "tr_type": tr_type,
                "content-type": "utf-8",
            },
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        }
    )


async def connect(kis: Kis, path: str = "/tryitout"):
    return await websockets.connect(kis.ws_url + path, ping_interval=None, open_timeout=5)


async def recv_until(ws, predicate: Callable[[str], bool], timeout: float = 3.0) -> str:
    """The first message matching `predicate`, answering PINGPONG on the way."""
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.recv()
            if predicate(message):
                return message


async def recv_json(ws, timeout: float = 3.0) -> dict:
    return json.loads(await recv_until(ws, lambda m: m.startswith("{"), timeout))


async def subscribe(ws, approval_key: str, tr_id: str, tr_key: str, tr_type: str = "1") -> dict:
    await ws.send(subscribe_message(approval_key, tr_id, tr_key, tr_type))
    return await recv_json(ws)


async def receive_nothing(ws, predicate: Callable[[str], bool], within: float = 0.3) -> None:
    """Assert no matching message arrives within `within` seconds."""
    try:
        message = await recv_until(ws, predicate, within)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected message: {message[:120]}")


def decrypt(payload: str, key: str, iv: str) -> str:
    decryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).decryptor()
    data = decryptor.update(base64.b64decode(payload)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(data) + unpadder.finalize()).decode("utf-8")


def frame_parts(message: str) -> tuple[str, str, int, list[str]]:
    enc, tr_id, count, payload = message.split("|", 3)
    return enc, tr_id, int(count), payload.split("^")


def price(sim: Simulator, code: str) -> Decimal:
    return sim.market.quote(code).price


def all_strings(value) -> bool:
    """Every leaf of a KIS body is a string (§3.3)."""
    if isinstance(value, dict):
        return all(all_strings(v) for v in value.values())
    if isinstance(value, list):
        return all(all_strings(v) for v in value)
    return isinstance(value, str)
