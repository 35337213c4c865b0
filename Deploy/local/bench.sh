#!/usr/bin/env bash
# `make bench`: benchmarks of the platform running locally as a release build, on loopback,
# each bounded in time. Results are printed and recorded in docs/benchmarks.md together with a
# description of the machine they ran on.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run="$root/.run"
seconds=${BENCH_SECONDS:-10}
doc="$root/docs/benchmarks.md"

# Release services: stop whatever `make run` started (it may be a debug build) and start again.
"$root/Deploy/local/run.sh" stop >/dev/null 2>&1 || true
RAMPART_BUILD=release "$root/Deploy/local/run.sh" start >/dev/null
bin=$(swift build --package-path "$root" -c release --show-bin-path)
swift build --package-path "$root" -c release --product rampart-bench >/dev/null

endpoint() { python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["regions"][sys.argv[2]][sys.argv[3]])' "$run/endpoints.json" "$1" "$2"; }
admin=$(python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));print([u["email"] for t in d["tenants"] if t["slug"]=="acme" for u in t["users"] if u["role"]=="admin"][0])' "$run/credentials.json")

# A fresh API key of the demo tenant acme (eu), kept in a 0600 file for the run only.
keyfile=$(mktemp) && chmod 600 "$keyfile"
trap 'rm -f "$keyfile"' EXIT
"$bin/rampartctl" api-key create --region eu --tenant acme --user "$admin" --scopes tickets:read --name bench >"$keyfile"

# Other work on the machine shares its cores and lowers every figure: recorded with the results.
load=$(cut -d' ' -f1-3 /proc/loadavg)

echo "bench: principal resolution (${seconds}s, identity eu, API key, mutual TLS)"
principal=$("$bin/rampart-bench" principal --identity "$(endpoint eu identity)" --ca "$run/pki/ca.crt" \
    --cert "$run/pki/gateway-eu.crt" --key "$run/pki/gateway-eu.key" --tenant acme --credential-file "$keyfile" \
    --seconds "$seconds" --concurrency 32)
echo "$principal"

echo "bench: audit ingestion with chaining (${seconds}s, audit eu, batches of 100 as identity) and verification"
tenant_id=$("$bin/rampartctl" tenant list --region eu | python3 -c 'import json,sys;print([t["id"] for t in json.load(sys.stdin)["data"] if t["slug"]=="acme"][0])')
audit=$("$bin/rampart-bench" audit --audit "$(endpoint eu audit)" --ca "$run/pki/ca.crt" \
    --cert "$run/pki/identity-eu.crt" --key "$run/pki/identity-eu.key" \
    --operator-cert "$run/pki/operator-local.crt" --operator-key "$run/pki/operator-local.key" \
    --checkpoint-keys "$run/keys/audit-checkpoint-jwks.json" --tenant "$tenant_id" --region eu --seconds "$seconds")
echo "$audit"

machine="$(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(swift --version 2>&1 | head -1); load average $load when the runs began"
python3 - "$doc" "$principal" "$machine" "$(date -u +%Y-%m-%dT%H:%MZ)" "$audit" <<'PY'
import json, re, sys
path, raw, machine, when, audit_raw = sys.argv[1:6]
r = json.loads(raw)
a = json.loads(audit_raw)
audit_section = f"""<!-- audit:begin -->
## Audit ingestion and verification

Ingestion: `POST /internal/v1/events` over mutual TLS as identity's outbox relay sends it,
batches of {a['batch']} events, {a['concurrency']} batches in flight for {a['ingest_seconds']:.0f} s ({a['ingested']:,} events), all
for one tenant (acme, eu), so the batches in flight queue on that tenant's chain lock; each
event's personal data sealed with the tenant key, chained (SHA-256) and stored in one
transaction per batch. Verification: `rampartctl audit verify`'s work — every row and checkpoint
of the tenant's whole chain (earlier runs' and the demo's events included) fetched through the
operator API in pages of 5,000 and checked; "recompute only" is the checking alone (SHA-256 of
each link, decoding the record, comparing its indexed columns and the signed checkpoints),
without fetching and decoding the pages. Measured {when} on {machine};
client, services and PostgreSQL on the same machine.

| ingested events/s | verified events/s (fetch + recompute) | recompute only, events/s | events verified |
|---:|---:|---:|---:|
| {a['ingest_per_second']:,.0f} | {a['verify_per_second']:,.0f} | {a['recompute_per_second']:,.0f} | {a['verified']:,} |
<!-- audit:end -->"""
section = f"""<!-- principal-resolution:begin -->
## Principal resolution (identity)

The gateway's call for every request that carries a credential: `POST /internal/v1/principal`
over mutual TLS with an API key, answered with a signed principal. Measured {when} on {machine};
{r['concurrency']} requests in flight for {r['seconds']} s, client and services on the same machine.

| resolutions/s | p50 | p99 | requests |
|---:|---:|---:|---:|
| {r['per_second']:.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {r['requests']} |
<!-- principal-resolution:end -->"""
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n\nRecorded by `make bench`; each section is replaced by the latest run.\n"
for name, body in (("principal-resolution", section), ("audit", audit_section)):
    if f"<!-- {name}:begin -->" in text:
        text = re.sub(rf"<!-- {name}:begin -->.*?<!-- {name}:end -->", lambda _: body, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
open(path, "w").write(text)
PY
echo "bench: results recorded in docs/benchmarks.md"
