#!/usr/bin/env bash
# A local S3-compatible object store standing in for the off-site backup bucket (pgBackRest repo2):
# moto's S3 server on loopback behind a TLS terminator (pgBackRest speaks S3 over HTTPS only, and
# needs a peer that closes TLS cleanly, which moto's own TLS mode does not).
#
#   offsite-s3.sh start <dir> <port>   start it (HTTPS on 127.0.0.1:<port>; 0 picks a free port),
#                                      create the bucket, write <dir>/s3.env (endpoint, port,
#                                      bucket, credentials, CA file)
#   offsite-s3.sh stop  <dir>          stop it
#
# The store keeps objects in memory: stopping it empties the bucket. The access key and secret
# are generated per start (moto accepts any); they are written to s3.env with mode 0600.
set -euo pipefail

action=${1:?usage: offsite-s3.sh start|stop <dir> [port]}
dir=${2:?directory required}

stop_pid() {
    local pidfile=$1
    [ -f "$pidfile" ] || return 0
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
}

# A port nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$action" in
start)
    port=${3:?port required}
    mkdir -p "$dir" && chmod 755 "$dir"
    if [ -f "$dir/moto.pid" ] && kill -0 "$(cat "$dir/moto.pid")" 2>/dev/null; then
        echo "offsite-s3: already running on 127.0.0.1:$port"
        exit 0
    fi
    command -v moto_server >/dev/null || { echo "offsite-s3: moto_server is missing (make deps installs it)" >&2; exit 1; }
    command -v socat >/dev/null || { echo "offsite-s3: socat is missing (make deps installs it)" >&2; exit 1; }
    if [ ! -f "$dir/tls.crt" ]; then
        ( umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -keyout "$dir/tls.key" -out "$dir/tls.crt" -subj "/CN=localhost" \
            -addext "subjectAltName=DNS:localhost" 2>/dev/null )
        ( umask 077; cat "$dir/tls.crt" "$dir/tls.key" > "$dir/tls.pem" )
        chmod 644 "$dir/tls.crt"
    fi
    key="rampart$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
    # A port another program took between choosing and binding makes that server exit at once:
    # then both start again on other ports (a fixed HTTPS port is kept), a few times at most.
    started=""
    for _ in 1 2 3 4 5; do
        [ "$port" = 0 ] && https_port=$(free_port) || https_port=$port
        plain_port=$(free_port)
        nohup moto_server -H 127.0.0.1 -p "$plain_port" >"$dir/moto.log" 2>&1 </dev/null &
        echo $! >"$dir/moto.pid"
        nohup socat "OPENSSL-LISTEN:$https_port,bind=127.0.0.1,reuseaddr,fork,cert=$dir/tls.pem,verify=0" \
            "TCP:127.0.0.1:$plain_port" >"$dir/socat.log" 2>&1 </dev/null &
        echo $! >"$dir/socat.pid"
        # Ready when the bucket can be created through the TLS side; given up when either exits.
        if python3 - "$https_port" "$key" "$secret" "$dir/tls.crt" "$(cat "$dir/moto.pid")" "$(cat "$dir/socat.pid")" <<'PY'
import os, sys, time, boto3, botocore.config
port, key, secret, ca, *pids = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=f"https://localhost:{port}", region_name="us-east-1", verify=ca,
                  aws_access_key_id=key, aws_secret_access_key=secret,
                  config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        s3.create_bucket(Bucket="rampart-offsite")
        sys.exit(0)
    except Exception:
        for pid in pids:
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                sys.exit(1)
        time.sleep(0.2)
sys.exit(1)
PY
        then
            started=yes
            break
        fi
        stop_pid "$dir/socat.pid"
        stop_pid "$dir/moto.pid"
    done
    if [ -z "$started" ]; then
        echo "offsite-s3: the store did not start:" >&2
        tail -n 3 "$dir/moto.log" "$dir/socat.log" >&2
        exit 1
    fi
    port=$https_port
    ( umask 077; cat >"$dir/s3.env" <<ENV
endpoint=localhost
port=$port
bucket=rampart-offsite
region=us-east-1
key=$key
secret=$secret
ca_file=$dir/tls.crt
ENV
    )
    echo "offsite-s3: running on https://localhost:$port (bucket rampart-offsite)"
    ;;
stop)
    stop_pid "$dir/socat.pid"
    stop_pid "$dir/moto.pid"
    ;;
*)
    echo "usage: offsite-s3.sh start|stop <dir> [port]" >&2
    exit 2
    ;;
esac
