#!/usr/bin/env bash
# The hosted test pass needs PostgreSQL and Redis answering on loopback. This makes it so:
# it starts a stopped PostgreSQL cluster, creates one when none listens on the port, lets the
# `postgres` role in over loopback without a password, and starts Redis without persistence.
# Run as root it installs the missing packages with apt-get; otherwise it says what to
# install and fails. When both already answer it changes nothing: one query to each.
#
# usage: tools/services.sh [postgresql] [redis]        (both when none is named)
# KISWEB_PG_PORT (5432) and KISWEB_REDIS_PORT (6379): where they must answer, on 127.0.0.1.
# KISWEB_PG_CLUSTER (kisweb): the name of the cluster created when there is none.
set -euo pipefail

host=127.0.0.1
pg_port=${KISWEB_PG_PORT:-5432}
redis_port=${KISWEB_REDIS_PORT:-6379}
pg_cluster=${KISWEB_PG_CLUSTER:-kisweb}
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(postgresql redis)

say() { echo "services: $*"; }
fail() {
    echo "services: $*" >&2
    exit 1
}
is_root() { [ "$(id -u)" = 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

postgres_answers() {
    have psql && psql -h "$host" -p "$pg_port" -U postgres -d postgres -w -Atqc 'select 1' \
        >/dev/null 2>&1
}

redis_answers() {
    have redis-cli && [ "$(redis-cli -h "$host" -p "$redis_port" ping 2>/dev/null)" = PONG ]
}

# Debian's server package brings postgresql-common (clusters) and the client (psql).
postgres_tools_present() {
    local tool
    for tool in pg_lsclusters pg_ctlcluster pg_createcluster psql runuser perl; do
        have "$tool" || return 1
    done
    [ -n "$(perl -MPgCommon -e 'print get_newest_version() // ""' 2>/dev/null)" ]
}

# -- what is missing, installed in one go or named in one message --------------------------

packages=()
for service in "${wanted[@]}"; do
    case $service in
        postgresql) postgres_answers || postgres_tools_present || packages+=(postgresql) ;;
        redis) redis_answers || { have redis-server && have redis-cli; } || packages+=(redis-server) ;;
        *) fail "unknown service '$service' (postgresql, redis)" ;;
    esac
done
if [ ${#packages[@]} -gt 0 ]; then
    if ! is_root || ! have apt-get; then
        fail "missing packages: ${packages[*]}. As root: apt-get install ${packages[*]}"
    fi
    say "installing ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# -- PostgreSQL ----------------------------------------------------------------------------

# The cluster listening on our port, whatever its version and name: "version name status owner".
cluster_on_port() {
    pg_lsclusters -h | awk -v port="$pg_port" '$3 == port { print $1, $2, $4, $5; exit }'
}

# Tests connect as postgres@127.0.0.1 without a password; Debian's default asks for one
# (scram) on host lines. These lines go first, so they win.
trust_loopback() {
    local version=$1 name=$2 owner=$3 hba
    hba=$(runuser -u "$owner" -- psql --cluster "$version/$name" -d postgres -Atqc 'show hba_file')
    say "letting postgres in over loopback without a password ($hba)"
    {
        echo "# kisweb tests: the postgres role connects over loopback without a password."
        echo "host all postgres 127.0.0.1/32 trust"
        echo "host all postgres ::1/128 trust"
        cat "$hba"
    } >"$hba.kisweb"
    cat "$hba.kisweb" >"$hba" # in place: the file keeps its owner and mode
    rm "$hba.kisweb"
    runuser -u "$owner" -- psql --cluster "$version/$name" -d postgres -Atqc \
        'select pg_reload_conf()' >/dev/null
}

ensure_postgres() {
    postgres_answers && return 0
    local version name status owner
    read -r version name status owner <<<"$(cluster_on_port)" || true
    if [ -z "${version:-}" ]; then
        is_root || fail "no PostgreSQL cluster on port $pg_port: as root," \
            "pg_createcluster --port $pg_port <version> $pg_cluster, then run this again"
        version=$(perl -MPgCommon -e 'print get_newest_version()')
        say "creating PostgreSQL $version cluster '$pg_cluster' on port $pg_port"
        pg_createcluster --port "$pg_port" "$version" "$pg_cluster" >/dev/null
        read -r version name status owner <<<"$(cluster_on_port)"
    fi
    if [ "$status" != online ]; then
        say "starting PostgreSQL cluster $version/$name"
        pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start ||
            fail "could not start PostgreSQL cluster $version/$name (as root or $owner:" \
                "pg_ctlcluster $version $name start)"
    fi
    postgres_answers && return 0
    is_root || fail "PostgreSQL on $host:$pg_port refuses postgres without a password: as" \
        "root, trust it on loopback in that cluster's pg_hba.conf"
    trust_loopback "$version" "$name" "$owner"
    postgres_answers || fail "PostgreSQL on $host:$pg_port still refuses postgres"
}

# -- Redis ---------------------------------------------------------------------------------

ensure_redis() {
    redis_answers && return 0
    local dir=${TMPDIR:-/tmp}/kisweb-redis-$redis_port
    mkdir -p "$dir"
    say "starting Redis on $host:$redis_port (no persistence, log in $dir)"
    redis-server --daemonize yes --bind "$host" --port "$redis_port" --save "" \
        --appendonly no --dir "$dir" --logfile "$dir/redis.log"
    # A daemonized redis-server returns before it listens: wait for its answer, 10 s at most.
    for _ in $(seq 100); do
        redis_answers && return 0
        sleep 0.1
    done
    fail "Redis did not answer on $host:$redis_port within 10 s; see $dir/redis.log"
}

for service in "${wanted[@]}"; do
    case $service in
        postgresql)
            ensure_postgres
            say "PostgreSQL answers on $host:$pg_port"
            ;;
        redis)
            ensure_redis
            say "Redis answers on $host:$redis_port"
            ;;
    esac
done
