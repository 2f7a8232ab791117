"""A standalone client in the style of KIS's official samples, pointed at the simulator.

Flow as in the samples: issue a token with tokenP (the body sent as a JSON string with the
samples' base headers), read a price, place a cash buy, take a WebSocket approval key,
subscribe to trades and to the execution notice on `/tryitout`, answer PINGPONG with a pong
frame, and decrypt the notice with the key/iv from its subscribe ack.

Configuration comes from environment variables (the samples read a YAML file):
KIS_URL, KIS_WS_URL, KIS_APPKEY, KIS_APPSECRET, KIS_CANO, KIS_ACNT_PRDT_CD, KIS_HTS_ID,
KIS_PAPER ("1" for paper TR IDs). Prints one `RESULT key value` line per step.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys

import httpx
import websockets
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

cfg = {
    "url": os.environ["KIS_URL"],
    "url_ws": os.environ["KIS_WS_URL"],
    "app": os.environ["KIS_APPKEY"],
    "sec": os.environ["KIS_APPSECRET"],
    "acct": os.environ["KIS_CANO"],
    "prod": os.environ["KIS_ACNT_PRDT_CD"],
    "htsid": os.environ["KIS_HTS_ID"],
    "paper": os.environ.get("KIS_PAPER") == "1",
}

base_headers = {
    "Content-Type": "application/json",
    "Accept": "text/plain",
    "charset": "UTF-8",
    "User-Agent": "Mozilla/5.0",
}


def result(key: str, value: object) -> None:
    print(f"RESULT {key} {value}", flush=True)


def issue_token() -> str:
    body = {"grant_type": "client_credentials", "appkey": cfg["app"], "appsecret": cfg["sec"]}
    res = httpx.post(f"{cfg['url']}/oauth2/tokenP", content=json.dumps(body), headers=base_headers)
    if res.status_code != 200:
        sys.exit(f"token failed: {res.status_code} {res.text}")
    data = res.json()
    result("token_expires", data["access_token_token_expired"].replace(" ", "T"))
    return data["access_token"]


def fetch(token: str, api_url: str, tr_id: str, params: dict, post: bool = False) -> dict:
    headers = dict(base_headers)
    headers.update(
        authorization=f"Bearer {token}",
        appkey=cfg["app"],
        appsecret=cfg["sec"],
        tr_id=tr_id,
        custtype="P",
        tr_cont="",
    )
    url = f"{cfg['url']}{api_url}"
    if post:
        res = httpx.post(url, headers=headers, content=json.dumps(params))
    else:
        res = httpx.get(url, headers=headers, params=params)
    body = res.json()
    if res.status_code != 200 or body.get("rt_cd") != "0":
        sys.exit(f"{tr_id} failed: {res.status_code} {body}")
    result(f"{tr_id}_tr_id_header", res.headers.get("tr_id"))
    return body


def approval_key() -> str:
    body = {"grant_type": "client_credentials", "appkey": cfg["app"], "secretkey": cfg["sec"]}
    res = httpx.post(
        f"{cfg['url']}/oauth2/Approval", content=json.dumps(body), headers=base_headers
    )
    return res.json()["approval_key"]


def aes_cbc_base64_dec(key: str, iv: str, cipher_text: str) -> str:
    decryptor = Cipher(
        algorithms.AES(key.encode("utf-8")), modes.CBC(iv.encode("utf-8"))
    ).decryptor()
    raw = decryptor.update(base64.b64decode(cipher_text)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(raw) + unpadder.finalize()).decode("utf-8")


def ws_request(key: str, tr_id: str, tr_key: str) -> str:
    header = {"content-type": "utf-8", "approval_key": key, "tr_type": "1", "custtype": "P"}
    return json.dumps({"header": header, "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}}})


async def stream(token: str, key: str) -> None:
    notice_tr = "H0STCNI9" if cfg["paper"] else "H0STCNI0"
    data_map: dict[str, dict] = {}
    seen_trade = seen_fill = False
    async with websockets.connect(f"{cfg['url_ws']}/tryitout", ping_interval=None) as ws:
        await ws.send(ws_request(key, "H0STCNT0", "005930"))
        await ws.send(ws_request(key, notice_tr, cfg["htsid"]))
        async for raw in ws:
            if raw[0] in ("0", "1"):
                parts = raw.split("|")
                tr_id, payload = parts[1], parts[3]
                info = data_map[tr_id]
                if info["encrypt"] == "Y":
                    payload = aes_cbc_base64_dec(info["key"], info["iv"], payload)
                fields = payload.split("^")
                if tr_id == "H0STCNT0" and not seen_trade:
                    seen_trade = True
                    result("trade_fields", len(fields) // int(parts[2]))
                if tr_id == notice_tr and fields[13] == "2":
                    seen_fill = True
                    result("notice_fields", len(fields))
                    result("notice_hts_id", fields[0])
                    result("notice_fill_qty", fields[9])
                if seen_trade and seen_fill:
                    return
                continue
            message = json.loads(raw)
            tr_id = message["header"]["tr_id"]
            if tr_id == "PINGPONG":
                await ws.pong(raw.encode())
                continue
            body = message["body"]
            data_map[tr_id] = {
                "encrypt": message["header"]["encrypt"],
                "key": body.get("output", {}).get("key"),
                "iv": body.get("output", {}).get("iv"),
            }
            result(f"subscribed_{tr_id}", body["msg1"])
            if tr_id == notice_tr:
                order = {
                    "CANO": cfg["acct"],
                    "ACNT_PRDT_CD": cfg["prod"],
                    "PDNO": "005930",
                    "ORD_DVSN": "01",
                    "ORD_QTY": "2",
                    "ORD_UNPR": "0",
                    "EXCG_ID_DVSN_CD": "KRX",
                    "SLL_TYPE": "",
                    "CNDT_PRIC": "",
                }
                buy_tr = "VTTC0012U" if cfg["paper"] else "TTTC0012U"
                answer = await asyncio.to_thread(
                    fetch, token, "/uapi/domestic-stock/v1/trading/order-cash", buy_tr, order, True
                )
                result("order_no", answer["output"]["ODNO"])


def main() -> None:
    token = issue_token()
    price = fetch(
        token,
        "/uapi/domestic-stock/v1/quotations/inquire-price",
        "FHKST01010100",
        {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
    )
    result("price", price["output"]["stck_prpr"])
    asyncio.run(asyncio.wait_for(stream(token, approval_key()), timeout=20))


if __name__ == "__main__":
    main()
