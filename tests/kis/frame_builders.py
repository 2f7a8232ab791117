"""Realtime frames as KIS sends them, built for tests: trades, books, encrypted notices."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

NOTICE_KEY = "abcdefghijklmnopqrstuvwxyzabcdef"  # 32 ASCII letters, as KIS sends (§7.2)
NOTICE_IV = "0123456789abcdef"


def trade_record(symbol="005930", price=71500, qty=10, volume=1234567, hhmmss="093015"):
    fields = ["0"] * 46
    fields[0], fields[1], fields[2] = symbol, hhmmss, str(price)
    fields[4], fields[5] = "-500", "-0.69"
    fields[7], fields[8], fields[9] = "71000", "72000", "70900"
    fields[10], fields[11] = str(price + 100), str(price)
    fields[12], fields[13] = str(qty), str(volume)
    fields[44] = ""  # MRKT_TRTM_CLS_CODE is often empty
    return fields


def book_record(symbol="005930", length=62):
    fields = ["0"] * length
    fields[0], fields[1], fields[2] = symbol, "093016", "0"
    for i in range(10):
        fields[3 + i] = str(71600 + 100 * i)  # asks, best first
        fields[13 + i] = str(71500 - 100 * i)  # bids, best first
        fields[23 + i] = str(100 + i)
        fields[33 + i] = str(200 + i)
    fields[43], fields[44] = "1045", "2045"
    return fields


def notice_record(length=26):
    fields = [""] * length
    fields[0:17] = [
        "demo", "50000001", "0000012345", "", "02", "0", "00", "0", "005930",
        "10", "71500", "093017", "0", "2", "2", "00950", "10",
    ]  # fmt: skip
    if length >= 26:
        fields[17], fields[24], fields[25] = "홍길동", "삼성전자", "71500"
    else:
        fields[17], fields[21], fields[22] = "홍길동", "삼성전자", "71500"
    return fields


def frame(tr_id, records, enc="0"):
    payload = "^".join(field for record in records for field in record)
    return f"{enc}|{tr_id}|{len(records):03d}|{payload}"


def encrypt(plain: str, key=NOTICE_KEY, iv=NOTICE_IV) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()
