#!/usr/bin/env bash
# `make run` / `make stop`: the whole platform on this machine.
#
#   run.sh start   PostgreSQL, region databases, PKI, keys, build, every service of every region
#   run.sh stop    stops every service it started (by pid) and the local PostgreSQL
#
# Re-running `start` is idempotent: existing keys, certificates and passwords are kept and
# services already running are left alone.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run="$root/.run"
regions=${RAMPART_REGIONS:-us,eu,uk}
pg_port=${RUN_PG_PORT:-55433}
# debug for development; `make bench` runs the platform as a release build.
build_config=${RAMPART_BUILD:-debug}
base_port=${RUN_BASE_PORT:-9100}
public_port=${RUN_PUBLIC_PORT:-8443}
redirect_port=${RUN_REDIRECT_PORT:-8080}
offsite_port=${RUN_OFFSITE_S3_PORT:-55490}
services=(gateway identity tickets audit backup status)

stop_services() {
    shopt -s nullglob
    for pidfile in "$run"/pids/*.pid; do
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    for pidfile in "$run"/pids/*.pid; do
        pid=$(cat "$pidfile")
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$pidfile"
    done
}

case "${1:-start}" in
stop)
    [ -d "$run" ] || exit 0
    stop_services
    # PostgreSQL first: its shutdown archives the last WAL segment to both repositories, and the
    # off-site store keeps objects in memory only while it runs. The other way round the archive
    # command fails, the shutdown outlasts pg_ctl's wait and the next start finds it half down.
    "$root/Deploy/local/postgres.sh" stop "$run/pg" || true
    "$root/Deploy/local/offsite-s3.sh" stop "$run/offsite-s3" || true
    echo "rampart: stopped"
    ;;
start)
    mkdir -p "$run"/{logs,pids,secrets} && chmod 700 "$run/secrets"
    "$root/Deploy/local/postgres.sh" start "$run/pg" "$pg_port" "$run/secrets"
    # Backups: WAL archiving into repo1 (in-region directory) and repo2 (a local S3 store standing
    # in for off-site object storage), both encrypted; rampart-backup schedules the backups.
    "$root/Deploy/local/offsite-s3.sh" start "$run/offsite-s3" "$offsite_port"
    pgbackrest_config=$("$root/Deploy/local/pgbackrest.sh" configure "$run/pg" "$run/secrets" local "$run/offsite-s3/s3.env" | tail -1)

    echo "rampart: building (first build takes several minutes)"
    swift build --package-path "$root" -c "$build_config" >"$run/logs/build.log" 2>&1 || { tail -30 "$run/logs/build.log"; exit 1; }
    bin=$(swift build --package-path "$root" -c "$build_config" --show-bin-path)

    "$bin/rampartctl" local init --run-dir "$run" --allowlist "$root/Deploy/policy/allowlist.yaml" \
        --edge-policy "$root/Deploy/gateway/edge.yaml" --base-port "$base_port" --public-port "$public_port" --redirect-port "$redirect_port" \
        --superuser-url-file "$run/secrets/pg-superuser.url" --regions "$regions" \
        --pgbackrest-config "$pgbackrest_config" --pgbackrest-stanza local

    IFS=, read -r -a region_list <<<"$regions"
    for region in "${region_list[@]}"; do
        for service in "${services[@]}"; do
            name="$service-$region"
            pidfile="$run/pids/$name.pid"
            if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then continue; fi
            RAMPART_CONFIG_FILE="$run/config/$name.env" nohup "$bin/rampart-$service" \
                >>"$run/logs/$name.log" 2>&1 </dev/null &
            echo $! >"$pidfile"
        done
    done

    "$bin/rampartctl" health --endpoints "$run/endpoints.json" --ca "$run/pki/ca.crt" \
        --cert "$run/pki/operator-local.crt" --key "$run/pki/operator-local.key" --wait 60 \
        || { echo "rampart: some services did not start; see $run/logs/" >&2; exit 1; }
    # The public edge (run by the first region's gateway): answering once security.txt is served.
    for _ in $(seq 1 100); do
        curl -sf --cacert "$run/pki/ca.crt" "https://status.localhost:$public_port/.well-known/security.txt" >/dev/null 2>&1 && break
        sleep 0.2
    done
    "$bin/rampartctl" local seed --run-dir "$run"

    cat <<INFO

Rampart is running (regions: $regions).
  Public edge:          https://{tenant}.{region}.localhost:$public_port  (TLS; CA $run/pki/ca.crt; http://…:$redirect_port redirects)
                        e.g. https://acme.eu.localhost:$public_port/api/v1/me   https://status.localhost:$public_port/
  Internal endpoints:   $run/endpoints.json   (mutual TLS; CA $run/pki/ca.crt)
  Operator certificate: $run/pki/operator-local.crt / .key
  Demo tenants:         acme (eu), globex (us), initech (uk); generated passwords in $run/credentials.json (0600)
  Backups:              $bin/rampartctl backup status --region ${region_list[0]}   (restore: rampartctl backup restore --region eu --to <time> --scratch <dir> --port <port>)
  Logs:                 $run/logs/
  Check health:         $bin/rampartctl health --endpoints $run/endpoints.json --ca $run/pki/ca.crt --cert $run/pki/operator-local.crt --key $run/pki/operator-local.key
  Stop:                 make stop

Example (through the public edge: sign in as a demo user, then ask who you are):
  curl --cacert $run/pki/ca.crt -c /tmp/rampart.cookies -H 'Content-Type: application/json' \\
       -d '{"email":"<from credentials.json>","password":"<from credentials.json>"}' https://acme.eu.localhost:$public_port/auth/password
  curl --cacert $run/pki/ca.crt -b /tmp/rampart.cookies https://acme.eu.localhost:$public_port/api/v1/me

Example (operator certificate, eu tickets health over mutual TLS):
  curl --cacert $run/pki/ca.crt --cert $run/pki/operator-local.crt --key $run/pki/operator-local.key $(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["regions"]["eu"]["tickets"])' "$run/endpoints.json" 2>/dev/null || echo https://127.0.0.1:PORT)/healthz
INFO
    ;;
*)
    echo "usage: run.sh start|stop" >&2
    exit 2
    ;;
esac
