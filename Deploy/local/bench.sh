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

echo "bench: principal resolution (${seconds}s, identity eu, API key, mutual TLS)"
principal=$("$bin/rampart-bench" principal --identity "$(endpoint eu identity)" --ca "$run/pki/ca.crt" \
    --cert "$run/pki/gateway-eu.crt" --key "$run/pki/gateway-eu.key" --tenant acme --credential-file "$keyfile" \
    --seconds "$seconds" --concurrency 32)
echo "$principal"

machine="$(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(swift --version 2>&1 | head -1)"
python3 - "$doc" "$principal" "$machine" "$(date -u +%Y-%m-%dT%H:%MZ)" <<'PY'
import json, re, sys
path, raw, machine, when = sys.argv[1:5]
r = json.loads(raw)
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
if "<!-- principal-resolution:begin -->" in text:
    text = re.sub(r"<!-- principal-resolution:begin -->.*?<!-- principal-resolution:end -->", section, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
echo "bench: results recorded in docs/benchmarks.md"
