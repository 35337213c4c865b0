#!/usr/bin/env bash
# A local PostgreSQL cluster for Rampart, run by a non-root OS user (PostgreSQL refuses root).
#
#   postgres.sh start <cluster-dir> <port> <secrets-dir>   initialize if needed, start, write the superuser URL
#   postgres.sh stop  <cluster-dir>                        stop it
#   postgres.sh restart <cluster-dir>                      restart it (settings that need a restart)
#   postgres.sh location <cluster-dir>                     print where the cluster really lives
#
# The superuser password is generated on first start; the URL is written to
# <secrets-dir>/pg-superuser.url (mode 0600). No default password exists.
set -euo pipefail

action=${1:?usage: postgres.sh start|stop|restart|location <cluster-dir> [port] [secrets-dir]}
requested_dir=${2:?cluster directory required}

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$candidate/initdb" ] && bindir=$candidate && break
done
[ -n "$bindir" ] || bindir=$(dirname "$(command -v initdb)")

# Runs a PostgreSQL tool as the cluster's owner, from / (the caller's folder may be private).
as_owner() {
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# The cluster's OS user must be able to reach its directory; under a private home folder it
# cannot, so the cluster then lives in a folder of its own under /var/tmp instead.
# The choice is remembered in <cluster-dir>/LOCATION so start and stop always agree.
resolve_dir() {
    local dir=$1
    mkdir -p "$dir"
    if [ -f "$dir/LOCATION" ]; then
        cat "$dir/LOCATION"
        return
    fi
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir"; then
        dir="/var/tmp/rampart-pg-$(printf '%s' "$requested_dir" | sha1sum | cut -c1-12)"
        mkdir -p "$dir"
        printf '%s' "$dir" > "$1/LOCATION"
    fi
    printf '%s' "$dir"
}

cluster_dir=$(resolve_dir "$requested_dir")
data="$cluster_dir/data"

case "$action" in
start)
    port=${3:?port required}
    secrets=${4:?secrets directory required}
    mkdir -p "$secrets" && chmod 700 "$secrets"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$cluster_dir"; fi
    chmod 700 "$cluster_dir"
    if [ -f "$data/PG_VERSION" ] && [ ! -f "$secrets/pg-superuser.url" ]; then
        # A cluster whose superuser password is lost cannot be used; start it over.
        echo "postgres: $data has no known superuser password; re-initializing it" >&2
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$data"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        password=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | cut -c1-40)
        pwfile="$cluster_dir/initdb.pw"
        ( umask 077; printf '%s\n' "$password" > "$pwfile" )
        if [ "$(id -u)" = 0 ]; then chown postgres: "$pwfile"; fi
        as_owner "$bindir/initdb" -D "$data" -U postgres --pwfile="$pwfile" \
            --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        rm -f "$pwfile"
        ( umask 077; printf 'postgres://postgres:%s@127.0.0.1:%s/postgres?sslmode=disable\n' "$password" "$port" > "$secrets/pg-superuser.url" )
        cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$cluster_dir'
max_connections = 400
shared_buffers = 128MB
password_encryption = scram-sha-256
log_min_messages = warning
CONF
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$data" -l "$cluster_dir/postgresql.log" -w -t 60 start >/dev/null || {
            echo "postgres: could not start on port $port; last log lines:" >&2
            tail -5 "$cluster_dir/postgresql.log" >&2
            exit 1
        }
    fi
    echo "postgres: running on 127.0.0.1:$port ($data)"
    ;;
stop)
    if [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
        echo "postgres: stopped"
    fi
    ;;
restart)
    as_owner "$bindir/pg_ctl" -D "$data" -l "$cluster_dir/postgresql.log" -m fast -w -t 60 restart >/dev/null
    ;;
location)
    printf '%s\n' "$cluster_dir"
    ;;
*)
    echo "usage: postgres.sh start|stop|restart|location <cluster-dir> [port] [secrets-dir]" >&2
    exit 2
    ;;
esac
