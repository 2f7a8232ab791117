"""The KIS rules across processes: four separate Python processes with hosted settings
(PostgreSQL, Redis), one real-money credential, no token stored yet. Called at once, they
issue one token between them; then 200 concurrent price reads spread over the four never
put more than KIS's 20 in any one-second window at the simulator, and none is refused.
Counted at the simulator, which records every request's arrival."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from accounts.models import KisToken
from tests.helpers import ROOT, max_in_any_window, wait_for_line

pytestmark = [pytest.mark.hosted, pytest.mark.django_db(transaction=True)]

PROCESSES = 4
READS_PER_PROCESS = 50
KIS_REAL_PER_S = 20  # the simulator's limit for a real app key, as KIS's
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
STARTUP_S = 90


def _env(sim) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "KISWEB_KIS_REAL_REST_URL": sim.real_url,
        "KISWEB_KIS_REAL_WS_URL": sim.real_ws_url,
        "KISWEB_KIS_PAPER_REST_URL": sim.paper_url,
        "KISWEB_KIS_PAPER_WS_URL": sim.paper_ws_url,
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def callers(sim, django_user_model, make_credential):
    """Four caller processes, ready, for one real credential that has no token yet."""
    owner = django_user_model.objects.create_user("carol", password="carol-pass-phrase")
    credential = make_credential(owner, environment="real")
    assert not KisToken.objects.filter(credential=credential).exists()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.ops.kis_caller", str(credential.pk)],
            cwd=ROOT,
            env=_env(sim),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for process in processes:
            wait_for_line(process, r"^kis_caller ready", STARTUP_S)
        yield credential, processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)


def _read_everywhere(processes, count: int) -> list[dict]:
    """Every process reads ``count`` prices at once; their answers."""
    for process in processes:  # back to back, so the processes call KIS together
        assert process.stdin is not None
        process.stdin.write(f"{count}\n")
        process.stdin.flush()
    return [
        json.loads(wait_for_line(process, r"^kis_caller (\{.*\})$", STARTUP_S)[1])
        for process in processes
    ]


def test_four_processes_share_one_token_and_one_rate_budget(sim, callers):
    credential, processes = callers
    app_key = credential.app_key

    first = _read_everywhere(processes, 1)
    assert first == [{"ok": 1, "errors": []}] * PROCESSES
    # One issue request reached KIS, not one per process (KIS would refuse a second within
    # the minute, or notify the user of each).
    assert sim.stats.token_requests(app_key) == 1
    assert sim.stats.token_issues(app_key) == 1
    assert KisToken.objects.filter(credential=credential, kind="access").count() == 1

    answers = _read_everywhere(processes, READS_PER_PROCESS)
    assert answers == [{"ok": READS_PER_PROCESS, "errors": []}] * PROCESSES
    reads = sim.stats.requests(appkey=app_key, path=PRICE_PATH)
    assert [r.msg_cd for r in reads if r.msg_cd == "EGW00201"] == []
    assert len(reads) == PROCESSES * (1 + READS_PER_PROCESS)  # none refused and sent again
    assert max_in_any_window([r.t for r in reads]) <= KIS_REAL_PER_S
    assert sim.stats.token_requests(app_key) == 1
