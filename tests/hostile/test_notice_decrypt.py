"""Generated hostile execution notices (AES-256-CBC with the subscribe ack's key/iv,
docs/kis-protocol.md §7.4): random bytes, a wrong key or iv, bad padding, text that is not
base64, truncated ciphertext, keys of the wrong length. Each is ``MalformedFrame`` or a
notice, never another exception, and the log line names no key, iv or plaintext. A notice
that decrypts with this session's key but names another HTS ID is never delivered.

``KISWEB_HOSTILE_EXAMPLES`` sets how many notices per property (``make soak``: thousands).
"""

from __future__ import annotations

import base64
import logging
import os
from collections import Counter
from decimal import Decimal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kisweb.kis.realtime import ExecutionNotice, FrameParser, MalformedFrame
from kisweb.kissim.realtime import encrypt_notice
from tests.figures import record
from tests.kis.conftest import make_client  # noqa: F401  (fixtures for the session test)
from tests.kis.frame_builders import NOTICE_IV, NOTICE_KEY, encrypt, notice_record
from tests.kis.realtime.conftest import DEADLINE_S, next_event, open_session, sim  # noqa: F401

EXAMPLES = int(os.environ.get("KISWEB_HOSTILE_EXAMPLES", "200"))
HOSTILE = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PLAIN = "^".join(notice_record())
outcomes: Counter[str] = Counter()


def parse_notice(payload: str, key: str = NOTICE_KEY, iv: str = NOTICE_IV) -> object:
    parser = FrameParser()
    parser.set_notice_key("H0STCNI9", key, iv)
    try:
        [event] = parser.parse(f"1|H0STCNI9|001|{payload}")
    except MalformedFrame as exc:
        outcomes["dropped"] += 1
        for secret in {key, iv, PLAIN, "50000001"} - {""}:
            if len(secret) < 8:  # a short generated key ("load") is a word of the message
                continue
            assert secret not in str(exc)
        return exc
    outcomes["parsed"] += 1
    assert isinstance(event, ExecutionNotice)
    return event


def raw_cbc(data: bytes, key: str = NOTICE_KEY, iv: str = NOTICE_IV) -> str:
    """Encrypt ``data`` as given: no padding added, so the padding is whatever it holds."""
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


@HOSTILE
@given(st.binary(min_size=0, max_size=300))
def test_random_ciphertext_is_malformed_or_a_notice(data):
    parse_notice(base64.b64encode(data).decode())


@HOSTILE
@given(st.text(max_size=200))
def test_text_that_is_not_base64_is_malformed(text):
    parse_notice(text)


@HOSTILE
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=32, max_size=32),
    st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
)
def test_a_wrong_key_or_iv_never_yields_the_notice(key, iv):
    result = parse_notice(encrypt(PLAIN, key=key, iv=iv))
    if (key, iv) != (NOTICE_KEY, NOTICE_IV):
        assert not isinstance(result, ExecutionNotice) or result.order_no != "0000012345"


@HOSTILE
@given(st.integers(min_value=0, max_value=400))
def test_truncated_ciphertext_is_malformed(cut):
    whole = encrypt(PLAIN)
    result = parse_notice(whole[: cut % len(whole)])
    assert isinstance(result, MalformedFrame)


@HOSTILE
@given(st.binary(min_size=1, max_size=15), st.integers(min_value=0, max_value=255))
def test_bad_padding_is_malformed(tail, pad):
    data = PLAIN.encode() + tail
    data += bytes([pad]) * (-len(data) % 16 or 16)
    parse_notice(raw_cbc(data[: len(data) - len(data) % 16]))


@HOSTILE
@given(st.text(max_size=40), st.text(max_size=20))
def test_an_ack_key_or_iv_of_any_shape_is_malformed_not_an_error(key, iv):
    parse_notice(encrypt(PLAIN), key=key, iv=iv)


def test_zz_figures():
    record(
        "hostile input",
        "generated encrypted notices: dropped / decrypted",
        f"{outcomes['dropped']} / {outcomes['parsed']}",
        note="random ciphertext, not base64, wrong key or iv, truncated, bad padding",
    )
    assert outcomes["dropped"] > 0


async def test_a_notice_for_another_hts_id_is_never_delivered(sim, open_session, caplog):  # noqa: F811
    """It decrypts with this connection's key (KIS encrypts per connection), but names
    someone else: the session drops it with a log line naming neither ID nor key."""
    caplog.set_level(logging.INFO, logger="kisweb.kis.realtime")
    account, kis, session = await open_session()
    events = session.events()
    await session.subscribe_notices()
    [server] = [s for s in sim.hub.sessions if s.appkey == account.appkey]
    foreign = notice_record()
    foreign[0], foreign[1], foreign[2] = "someoneelse", account.account_no, "0000099999"
    for hts_id in ("someoneelse", "", f"{account.hts_id}x"):
        foreign[0] = hts_id
        server.send(f"1|H0STCNI9|001|{encrypt_notice('^'.join(foreign), server.key, server.iv)}")
    ack = await kis.buy("005930", 1, Decimal(60000))
    notice = await next_event(events, ExecutionNotice)
    assert notice.order_no.lstrip("0") == ack.order_no.lstrip("0")
    assert notice.hts_id == account.hts_id
    assert caplog.text.count("notice for an HTS ID this session did not register") == 3
    for secret in ("someoneelse", server.key, server.iv, account.account_no):
        assert secret not in caplog.text
    record(
        "hostile input",
        "notices for another HTS ID decrypted with the session's key: delivered",
        "0 / 3",
    )
