#!/usr/bin/env bash
# `make bench-tickets`: the helpdesk API at 10,000 and at 1,000,000 tickets, in one run.
#
# A platform of its own (release build, region eu, its own PostgreSQL cluster, ports and run
# directory under .run/bench-tickets, removed when done; `make run`'s is not touched):
# identity, tickets, audit and the gateway. 1,000 tenants are created through identity's
# operator API (each with its data key); the first 10 get an admin with an API key and are the
# tenants measured. Seeding: 1,000 tickets into each measured tenant (10,000 in all), measure;
# then 1,000 into each of the other 990 (1,000,000 in all), measure again. Every ticket is sealed
# with its tenant's real key and indexed with its real search key (`rampart-bench tickets seed`).
# Each operation runs for BENCH_SECONDS on loopback, directly against tickets over mutual TLS
# with a signed principal and through the public edge with an API key. Results are printed and
# recorded in docs/benchmarks.md with the machine they ran on.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work="$root/.run/bench-tickets"
seconds=${BENCH_SECONDS:-10}
concurrency=${BENCH_CONCURRENCY:-8}
tenant_count=${BENCH_TENANTS:-1000}
measured=${BENCH_MEASURED_TENANTS:-10}
per_tenant=${BENCH_TICKETS_PER_TENANT:-1000}
pg_port=${BENCH_PG_PORT:-55470}
base_port=${BENCH_BASE_PORT:-9400}
public_port=${BENCH_PUBLIC_PORT:-8643}
redirect_port=${BENCH_REDIRECT_PORT:-8280}
doc="$root/docs/benchmarks.md"
services=(identity tickets audit gateway)
hosts_marker="# rampart bench-tickets $$"
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    "$root/Deploy/local/postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true
    if grep -qF "$hosts_marker" /etc/hosts 2>/dev/null; then
        grep -vF "$hosts_marker" /etc/hosts >"$work/hosts" && cat "$work/hosts" >/etc/hosts
    fi
    # The seeded cluster is gigabytes: remove it (keep the logs and results).
    rm -rf "$("$root/Deploy/local/postgres.sh" location "$work/pg" 2>/dev/null)" "$work/pg" "$work/secrets" "$work/keys" "$work/keystore" "$work/tenants.json"
}

# A fresh platform each run.
if [ -d "$work/pg" ]; then
    "$root/Deploy/local/postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$("$root/Deploy/local/postgres.sh" location "$work/pg")"
fi
rm -rf "$work" && mkdir -p "$work/logs" && chmod 700 "$work"
trap cleanup EXIT

echo "bench-tickets: release build"
swift build --package-path "$root" -c release >"$work/logs/build.log" 2>&1 || { tail -30 "$work/logs/build.log"; exit 1; }
bin=$(swift build --package-path "$root" -c release --show-bin-path)

"$root/Deploy/local/postgres.sh" start "$work/pg" "$pg_port" "$work/secrets" >/dev/null
"$bin/rampartctl" local init --run-dir "$work" --allowlist "$root/Deploy/policy/allowlist.yaml" \
    --edge-policy "$root/Deploy/gateway/edge.yaml" --base-port "$base_port" --public-port "$public_port" --redirect-port "$redirect_port" \
    --superuser-url-file "$work/secrets/pg-superuser.url" --regions eu >/dev/null
# The shipped limits' shape with room for one load generator on one address and a few keys.
cat >"$work/rate-limits.yaml" <<'LIMITS'
version: 1
replicas: 1
limits:
  - {name: ip, key: [client_ip], requests: 60000000, period: 1m, burst: 1000000}
  - {name: tenant, key: [tenant], requests: 60000000, period: 1m, burst: 1000000}
  - {name: credential, key: [credential], requests: 60000000, period: 1m, burst: 1000000}
LIMITS

for service in "${services[@]}"; do
    RAMPART_CONFIG_FILE="$work/config/$service-eu.env" RAMPART_RATE_LIMITS="$work/rate-limits.yaml" \
        "$bin/rampart-$service" >"$work/logs/$service.log" 2>&1 </dev/null &
    pids+=($!)
done
endpoint() { python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["regions"]["eu"][sys.argv[2]])' "$work/endpoints.json" "$1"; }
for service in "${services[@]}"; do
    for attempt in $(seq 1 300); do
        curl -sf --cacert "$work/pki/ca.crt" --cert "$work/pki/operator-local.crt" --key "$work/pki/operator-local.key" \
            "$(endpoint "$service")/healthz" >/dev/null 2>&1 && break
        [ "$attempt" = 300 ] && { echo "bench-tickets: $service did not start; see $work/logs/$service.log" >&2; exit 1; }
        sleep 0.2
    done
done

superuser_url=$(cat "$work/secrets/pg-superuser.url")
sql() { psql -qAt "${superuser_url%/*}/rampart_eu" -c "$1"; }

echo "bench-tickets: $tenant_count tenants through identity's operator API"
provisioned=$("$bin/rampart-bench" tickets provision --identity "$(endpoint identity)" --ca "$work/pki/ca.crt" \
    --operator-cert "$work/pki/operator-local.crt" --operator-key "$work/pki/operator-local.key" \
    --count "$tenant_count" --keyed "$measured" --out "$work/tenants.json")
echo "$provisioned"
# The measured tenants' public host names (the edge routes by host and SNI).
for slug in $(python3 -c 'import json,sys;print(" ".join(t["slug"] for t in json.load(open(sys.argv[1]))["tenants"] if t.get("api_key")))' "$work/tenants.json"); do
    echo "127.0.0.1 $slug.eu.localhost $hosts_marker" >>/etc/hosts
done

seed() { # $1: first tenant, $2: how many
    "$bin/rampart-bench" tickets seed --config "$work/config/tickets-eu.env" --tenants "$work/tenants.json" \
        --first "$1" --count "$2" --per-tenant "$per_tenant"
}
measure() {
    "$bin/rampart-bench" tickets measure --tickets "$(endpoint tickets)" --ca "$work/pki/ca.crt" \
        --cert "$work/pki/gateway-eu.crt" --key "$work/pki/gateway-eu.key" \
        --signing-key "$(sed -n 's/^RAMPART_PRINCIPAL_SIGNING_KEY=//p' "$work/config/identity-eu.env")" \
        --public-port "$public_port" --tenants "$work/tenants.json" --seconds "$seconds" --concurrency "$concurrency"
}
# Statistics as autovacuum would have them on a database that grew over time.
analyze() { sql "ANALYZE tickets.tickets; ANALYZE tickets.messages; ANALYZE tickets.search_tokens;"; }
size() { sql "SELECT pg_size_pretty(pg_database_size('rampart_eu'))"; }

echo "bench-tickets: seeding $((measured * per_tenant)) tickets into the $measured measured tenants"
seed_small=$(seed 0 "$measured")
echo "$seed_small"
analyze
size_small=$(size)
echo "bench-tickets: measuring at $(sql "SELECT count(*) FROM tickets.tickets") tickets ($size_small)"
small=$(measure)
echo "$small"

echo "bench-tickets: seeding $(((tenant_count - measured) * per_tenant)) tickets into the other $((tenant_count - measured)) tenants"
seed_large=$(seed "$measured" "$((tenant_count - measured))")
echo "$seed_large"
analyze
size_large=$(size)
count_large=$(sql "SELECT count(*) FROM tickets.tickets")
echo "bench-tickets: measuring at $count_large tickets ($size_large)"
large=$(measure)
echo "$large"

machine="$(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(swift --version 2>&1 | head -1), $(psql --version | head -1)"
python3 - "$doc" "$machine" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$provisioned" "$seed_small" "$seed_large" \
    "$small" "$large" "$size_small" "$size_large" "$count_large" <<'PY'
import json, re, sys
path, machine, when, load, provisioned, seed_small, seed_large, small, large, size_small, size_large, count_large = sys.argv[1:13]
p, s1, s2, m1, m2 = (json.loads(x) for x in (provisioned, seed_small, seed_large, small, large))
names = {"list_first": "list, first page", "list_deep": f"list, page after {m1['deep_after']} (cursor)", "get": "get one ticket",
         "search": "search (one word)", "create": "create (ticket + first message)", "reply": "reply"}
def row(results, op, path):
    return next(r for r in results if r["operation"] == op and r["path"] == path)
lines, verdicts = [], []
for op in names:
    for route in ("direct", "gateway"):
        a, b = row(m1["results"], op, route), row(m2["results"], op, route)
        ratio = b["p99_ms"] / a["p99_ms"] if a["p99_ms"] else float("inf")
        check = ""
        if op in ("list_first", "list_deep", "get"):
            check = "pass" if ratio <= 2 else "**fail**"
            verdicts.append(f"{op} {route}: {check} ({ratio:.2f}×)")
        lines.append(f"| {names[op]} | {route} | {a['per_second']:,.0f} | {a['p50_ms']:.2f} ms | {a['p99_ms']:.2f} ms "
                     f"| {b['per_second']:,.0f} | {b['p50_ms']:.2f} ms | {b['p99_ms']:.2f} ms | {ratio:.2f}× {check} |")
section = f"""<!-- tickets:begin -->
## Tickets at 10,000 and 1,000,000 (`make bench-tickets`)

Measured {when} on {machine}; load average {load} when the report was written (other work on
the machine shares its 2 cores). One run: {p['tenants']:,} tenants created through identity's operator API
({p['seconds']:.0f} s); {s1['tickets']:,} tickets seeded into the {p['keyed']} measured tenants, measured; then
{s2['tickets']:,} more into the other {s2['tenants']:,} tenants ({count_large} tickets, database {size_large}; it was {size_small}), measured again.
Seeding (sealed with each tenant's key, indexed with its search key, multi-row INSERTs as tickets'
runtime role under row-level security): {s1['tickets_per_second']:,.0f} tickets/s for the first {s1['tickets']:,}
({s1['messages']:,} messages, {s1['seconds']:.0f} s), {s2['tickets_per_second']:,.0f} tickets/s for the next {s2['tickets']:,}
({s2['messages']:,} messages, {s2['seconds']:.0f} s). Each operation: {m1['concurrency']} requests in flight for {m1['seconds']} s
over the {m1['tenants']} measured tenants (1,000 tickets each in both stages), as an admin API key;
"direct" is tickets over mutual TLS with a principal signed by identity's key as the gateway
forwards it, "gateway" the public edge (TLS, WAF on, principal resolution cached, rate limits
raised for one load generator) with the API key. Client, services and PostgreSQL on the same machine.

| operation | path | 10k req/s | 10k p50 | 10k p99 | 1M req/s | 1M p50 | 1M p99 | p99 1M / 10k (≤ 2×) |
|---|---|---:|---:|---:|---:|---:|---:|---|
""" + "\n".join(lines) + f"""

List and get p99 at 1M within 2× of 10k: {"; ".join(verdicts)}.
<!-- tickets:end -->"""
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n\nRecorded by `make bench`; each section is replaced by the latest run.\n"
if "<!-- tickets:begin -->" in text:
    text = re.sub(r"<!-- tickets:begin -->.*?<!-- tickets:end -->", lambda _: section, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text)
print("\n".join(verdicts))
PY
echo "bench-tickets: results recorded in docs/benchmarks.md"
