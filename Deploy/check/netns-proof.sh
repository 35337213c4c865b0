#!/usr/bin/env bash
# Proof that the nftables rules rendered from the allow-list lock services down at the network
# layer, with real hosts: Linux network namespaces joined by veth pairs to a bridge, each its
# own "host" with its own address and firewall. Run by NetworkNamespaceTests (`make test`, root).
#
#   gateway host  10.77.0.10  runs the real rampart-gateway (internal mutual-TLS listener, :9100)
#                             and loads Deploy/systemd/nftables/rampart.nft with the hosts below
#   status host   10.77.0.15  the allow-list lets status read every service's /healthz
#   tickets host  10.77.0.12  the allow-list lets tickets call audit and identity, never the gateway
#
# It shows: without the rules, the tickets host reaches the listener and only the application
# (the allow-list, 403) refuses it; with the rules, the status host's call still succeeds while
# the tickets host's packets are dropped before any process sees them, even when it presents a
# certificate the application would accept (the application check bypassed). Every namespace
# and process it made is removed on exit, whatever happens. Names are unique per run.
#
#   Deploy/check/netns-proof.sh <bin-dir> <scratch-dir>
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
deploy="$(dirname "$here")"
bin_dir="${1:?usage: netns-proof.sh <bin-dir> <scratch-dir>}"
scratch="${2:?usage: netns-proof.sh <bin-dir> <scratch-dir>}"
run="rp$(printf '%04x' $$)$(printf '%02x' $((RANDOM % 256)))"
lan="$run-lan" gateway="$run-gw" status="$run-st" tickets="$run-tk"
gateway_address=10.77.0.10 status_address=10.77.0.15 tickets_address=10.77.0.12
port=9100
gateway_pid=""

fail() { echo "netns: FAIL: $*" >&2; exit 1; }
for tool in ip nft curl timeout; do command -v "$tool" >/dev/null || fail "$tool is missing (run Deploy/local/install-deps.sh)"; done
[ "$(id -u)" = 0 ] || fail "network namespaces need root"

# Signals may arrive blocked from whoever started this script (a test runner's threads block
# SIGTERM): timeouts and the last resort below use SIGKILL, which cannot be blocked.
cleanup() {
    if [ -n "$gateway_pid" ]; then
        kill "$gateway_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$gateway_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$gateway_pid" 2>/dev/null || true
        wait "$gateway_pid" 2>/dev/null || true
    fi
    for namespace in "$gateway" "$status" "$tickets" "$lan"; do ip netns del "$namespace" 2>/dev/null || true; done
}
trap cleanup EXIT

# The hosts and the switch between them.
echo "netns: run $run"
ip netns add "$lan"
ip -n "$lan" link add br0 type bridge
ip -n "$lan" link set br0 up
host() { # namespace address index
    ip netns add "$1"
    ip link add "$run-h$3" netns "$1" type veth peer name "$run-p$3" netns "$lan"
    ip -n "$1" link set "$run-h$3" name eth0
    ip -n "$1" addr add "$2/24" dev eth0
    ip -n "$1" link set eth0 up
    ip -n "$1" link set lo up
    ip -n "$lan" link set "$run-p$3" master br0 up
}
host "$gateway" "$gateway_address" 0
host "$status" "$status_address" 1
host "$tickets" "$tickets_address" 2

# The installation: a CA with service certificates (naming localhost, reached with --resolve),
# the principal keys, and the real gateway on its host.
rm -rf "$scratch"
mkdir -p "$scratch"
"$bin_dir/rampartctl" pki init --dir "$scratch/pki" --regions eu >/dev/null
"$bin_dir/rampartctl" keys init --dir "$scratch/keys" >/dev/null
ip netns exec "$gateway" env -i \
    RAMPART_REGION=eu RAMPART_LISTEN_HOST="$gateway_address" RAMPART_LISTEN_PORT="$port" \
    RAMPART_TLS_CA="$scratch/pki/ca.crt" RAMPART_TLS_CERT="$scratch/pki/gateway-eu.crt" RAMPART_TLS_KEY="$scratch/pki/gateway-eu.key" \
    RAMPART_ALLOWLIST="$deploy/policy/allowlist.yaml" RAMPART_PRINCIPAL_KEYS="$scratch/keys/principal-jwks.json" \
    RAMPART_LOG_LEVEL=warning \
    "$bin_dir/rampart-gateway" >"$scratch/gateway.log" 2>&1 &
gateway_pid=$!
for _ in $(seq 1 200); do
    ip netns exec "$gateway" timeout -s KILL 1 bash -c "exec 3<>/dev/tcp/$gateway_address/$port" 2>/dev/null && break
    kill -0 "$gateway_pid" 2>/dev/null || { cat "$scratch/gateway.log" >&2; fail "rampart-gateway stopped"; }
    sleep 0.1
done

# A raw TCP connection from a host (no TLS, no certificate: the application never gets a say).
connects() { ip netns exec "$1" timeout -s KILL 3 bash -c "exec 3<>/dev/tcp/$gateway_address/$port" 2>/dev/null; }
# GET /healthz from a host with a service's certificate; prints the HTTP status (000: no answer).
healthz() { # namespace certificate-name
    ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 6 \
        --cacert "$scratch/pki/ca.crt" --cert "$scratch/pki/$2.crt" --key "$scratch/pki/$2.key" \
        --resolve "localhost:$port:$gateway_address" "https://localhost:$port/healthz" || true
}

# Without the rules only the application refuses the tickets host.
connects "$tickets" || fail "without rules the tickets host should reach the listener"
[ "$(healthz "$tickets" tickets-eu)" = 403 ] || fail "without rules the application should refuse tickets with 403"
echo "netns: without rules, tickets host reaches the gateway's port; the application answers 403"

# The rendered rules and this installation's hosts, in one transaction, on the gateway host.
cat >"$scratch/hosts.nft" <<HOSTS
add element inet rampart status { $status_address }
add element inet rampart tickets { $tickets_address }
HOSTS
printf 'include "%s"\ninclude "%s"\n' "$deploy/systemd/nftables/rampart.nft" "$scratch/hosts.nft" >"$scratch/firewall.nft"
ip netns exec "$gateway" nft -f "$scratch/firewall.nft"

[ "$(healthz "$status" status-eu)" = 200 ] || fail "status host's /healthz over mutual TLS should answer 200"
echo "netns: with rules, status host -> gateway /healthz over mutual TLS: 200"
connects "$status" || fail "status host should still connect"

started=$SECONDS
if connects "$tickets"; then fail "tickets host connected to the gateway's internal port"; fi
((SECONDS - started >= 2)) || fail "tickets host's connection failed fast: refused, not dropped"
echo "netns: with rules, tickets host -> gateway raw TCP connect: no answer (dropped)"
# The certificate the application would accept does not help: the packets never reach it.
[ "$(healthz "$tickets" status-eu)" = 000 ] || fail "tickets host with status's certificate got an answer"
echo "netns: with rules, tickets host with status's certificate: no answer (dropped)"
dropped="$(ip netns exec "$gateway" nft list chain inet rampart input | sed -n 's/.*counter packets \([0-9]*\) .*not in the allow-list.*/\1/p')"
[ "${dropped:-0}" -gt 0 ] || fail "the drop rule counted no packets"
echo "netns: gateway host's drop rule counted $dropped packet(s)"
kill -0 "$gateway_pid" 2>/dev/null || fail "rampart-gateway stopped during the proof"
echo "netns: proof passed"
