"""tools/services.sh, which `make services` runs before the hosted pass: on a machine without
PostgreSQL or Redis it installs them (root) or names them and fails; it creates a cluster
when none listens, starts what is stopped, and lets `postgres` in over loopback.

The machine's own PostgreSQL and Redis are never touched: each test works on free ports,
and the cluster test keeps its configuration and data in a temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from tests.helpers import ROOT, free_port

SCRIPT = ROOT / "tools" / "services.sh"
IS_ROOT = os.geteuid() == 0


def run(*services: str, env: dict[str, str], script: Path = SCRIPT, as_nobody: bool = False):
    command = ["/bin/bash", str(script), *services]
    if as_nobody:
        setpriv = shutil.which("setpriv") or "setpriv"
        command = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A temporary directory other users may enter (the postgres and nobody users)."""
    path = Path(tempfile.mkdtemp(prefix="kisweb-services-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("as_nobody", [False, True], ids=["this-user", "not-root"])
def test_without_the_packages_it_names_them_and_fails(open_dir, as_nobody):
    """A PATH without PostgreSQL, Redis or apt-get: as root it cannot install, and as another
    user it may not; either way it says what to install instead of skipping anything."""
    bin_dir = open_dir / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").symlink_to(shutil.which("id") or "/usr/bin/id")
    script = open_dir / "services.sh"
    shutil.copy(SCRIPT, script)
    script.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    env = {
        "PATH": str(bin_dir),
        "KISWEB_PG_PORT": str(free_port()),
        "KISWEB_REDIS_PORT": str(free_port()),
    }
    result = run(env=env, script=script, as_nobody=as_nobody and IS_ROOT)
    assert result.returncode == 1, result
    assert result.stderr == (
        "services: missing packages: postgresql redis-server."
        " As root: apt-get install postgresql redis-server\n"
    )
    assert result.stdout == ""


def test_an_unknown_service_is_refused():
    result = run("mysql", env=dict(os.environ))
    assert (result.returncode, result.stderr) == (
        1,
        "services: unknown service 'mysql' (postgresql, redis)\n",
    )


@pytest.mark.hosted
def test_redis_is_started_without_persistence_once(open_dir):
    port = free_port()
    env = {**os.environ, "KISWEB_REDIS_PORT": str(port), "TMPDIR": str(open_dir)}
    first = run("redis", env=env)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        assert first.returncode == 0, first
        assert first.stdout.splitlines() == [
            f"services: starting Redis on 127.0.0.1:{port} (no persistence, log in "
            f"{open_dir}/kisweb-redis-{port})",
            f"services: Redis answers on 127.0.0.1:{port}",
        ]
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        again = run("redis", env=env)
        assert (again.returncode, again.stdout) == (
            0,
            f"services: Redis answers on 127.0.0.1:{port}\n",
        )
    finally:
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(nosave=True)


@pytest.fixture
def cluster_env(open_dir) -> Iterator[dict[str, str]]:
    """postgresql-common pointed at a configuration root of our own, on a free port, so the
    clusters it lists, creates and starts are only this test's."""
    (open_dir / "etc").mkdir()
    (open_dir / "common").mkdir()
    (open_dir / "common" / "createcluster.conf").write_text(
        f"data_directory = '{open_dir}/data/%v/%c'\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "PG_CLUSTER_CONF_ROOT": str(open_dir / "etc"),
        "PGSYSCONFDIR": str(open_dir / "common"),
        "KISWEB_PG_PORT": str(port),
        "KISWEB_PG_CLUSTER": f"kisweb_test_{port}",
    }
    yield env
    listed = subprocess.run(["pg_lsclusters", "-h"], env=env, capture_output=True, text=True)
    for line in listed.stdout.splitlines():
        version, name = line.split()[:2]
        subprocess.run(["pg_dropcluster", "--stop", version, name], env=env, check=False)


def lines(result) -> list[str]:
    assert result.returncode == 0, result
    return [line.removeprefix("services: ") for line in result.stdout.splitlines()]


@pytest.mark.hosted
@pytest.mark.skipif(not IS_ROOT, reason="creating a PostgreSQL cluster takes root")
def test_a_missing_cluster_is_created_started_and_opened_to_postgres(cluster_env):
    port, name = cluster_env["KISWEB_PG_PORT"], cluster_env["KISWEB_PG_CLUSTER"]
    created = lines(run("postgresql", env=cluster_env))
    assert created[0].startswith("creating PostgreSQL ") and created[0].endswith(
        f" cluster '{name}' on port {port}"
    )
    version = created[0].split()[2]
    assert created[1:3] == [
        f"starting PostgreSQL cluster {version}/{name}",
        "letting postgres in over loopback without a password "
        f"({cluster_env['PG_CLUSTER_CONF_ROOT']}/{version}/{name}/pg_hba.conf)",
    ]
    assert created[3:] == [f"PostgreSQL answers on 127.0.0.1:{port}"]
    with psycopg.connect(host="127.0.0.1", port=int(port), user="postgres", dbname="postgres") as c:
        assert c.execute("select current_user").fetchone() == ("postgres",)

    subprocess.run(["pg_ctlcluster", version, name, "stop"], env=cluster_env, check=True)
    assert lines(run("postgresql", env=cluster_env)) == [
        f"starting PostgreSQL cluster {version}/{name}",
        f"PostgreSQL answers on 127.0.0.1:{port}",
    ]
    assert lines(run("postgresql", env=cluster_env)) == [f"PostgreSQL answers on 127.0.0.1:{port}"]
