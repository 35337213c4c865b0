#!/usr/bin/env bash
# `make bench-gateway`: the gateway against nginx as a TLS reverse proxy, on loopback, each run
# bounded in time (BENCH_SECONDS, default 6, after a 2 s warm-up; BENCH_ROUNDS rounds, default 5,
# of the ten runs interleaved, each case reported by its median round). Four edges proxy the same
# requests to the same trivial upstream (nginx answering a fixed JSON document, requiring a
# client certificate from the internal CA: mutual TLS, as every Rampart service does):
#
#   (a) rampart-gateway, WAF off (a rules file without rules)   (b) rampart-gateway, WAF on (paranoia 1)
#   (c) nginx (Debian), TLS reverse proxy                        (d) nginx + ModSecurity + OWASP CRS 3.3, paranoia 1
#
# and, for reference, (e) EdgeFloorBench: a bare SwiftNIO TLS reverse proxy (TLS, HTTP/1.1 codec,
# one kept-alive upstream connection per client connection, nothing else), the floor of the
# edge's own architecture on this machine.
#
# Each gets wrk (Debian) with a GET and a 1 KB JSON POST. Printed and recorded in
# docs/benchmarks.md: requests/s, p50/p99, the edge process's CPU time per request, the ratios,
# and the WAF's own CPU time per benign request (GatewayWAFBench). Both measured programs
# are release builds (RAMPART_SCRATCH_PATH may name another build folder to reuse); nginx runs as
# www-data from its own temporary configuration.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${BENCH_SECONDS:-6}
# Rounds of all ten runs, interleaved: a machine whose speed drifts (a shared host) moves every
# case alike, and each case is reported by its median round.
rounds=${BENCH_ROUNDS:-5}
connections=${BENCH_CONNECTIONS:-32}
# The release build's folder; another one (a second build folder) may be named to reuse its build.
scratch=${RAMPART_SCRATCH_PATH:-$root/.build}
doc="$root/docs/benchmarks.md"
host=acme.eu.localhost
crs_rules=/usr/share/modsecurity-crs/rules
modsecurity_module=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so

# --- What it needs: wrk, nginx, ModSecurity for nginx, the CRS (apt-get update once) ---------
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || [ ! -f "$modsecurity_module" ] || [ ! -d "$crs_rules" ]; then
    echo "bench-gateway: installing wrk, nginx, ModSecurity and the OWASP CRS (Debian packages)"
    # Debian starts nginx as root on port 80 when it is installed; nothing may start here.
    guard_created=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && guard_created=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        wrk nginx libnginx-mod-http-modsecurity modsecurity-crs >/dev/null
    [ -n "$guard_created" ] && rm -f /usr/sbin/policy-rc.d
fi

echo "bench-gateway: release build of rampart-gateway and GatewayWAFBench"
for product in rampart-gateway GatewayWAFBench EdgeFloorBench; do
    swift build --package-path "$root" --scratch-path "$scratch" -c release --product "$product" >/dev/null
done
bin=$(swift build --package-path "$root" --scratch-path "$scratch" -c release --show-bin-path)
# rampartctl only writes the run's PKI and keys: the debug build (`make build`'s) does, or the one
# RAMPART_CTL names, so a release build of the control tool is not needed.
rampartctl=${RAMPART_CTL:-}
if [ -z "$rampartctl" ]; then
    swift build --package-path "$root" --product rampartctl >/dev/null
    rampartctl="$(swift build --package-path "$root" --show-bin-path)/rampartctl"
fi

work=$(mktemp -d /tmp/rampart-bench-gateway.XXXXXX)
chmod 755 "$work"
pids=()
hosts_marker="# rampart bench-gateway $$"
cleanup() {
    for pidfile in "$work"/*/nginx.pid; do [ -f "$pidfile" ] && kill -TERM "$(cat "$pidfile")" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    if grep -qF "$hosts_marker" /etc/hosts; then
        grep -vF "$hosts_marker" /etc/hosts >"$work/hosts" && cat "$work/hosts" >/etc/hosts
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# wrk resolves the host itself (and sends it as SNI and Host): a name, not an address, so the
# gateway's SNI check and the CRS's "host is an IP address" rule see a normal request.
if ! getent hosts "$host" >/dev/null; then
    echo "127.0.0.1 $host $hosts_marker" >>/etc/hosts
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
upstream_port=$(free_port) gateway_internal_port=$(free_port) gateway_b_internal_port=$(free_port)
port_a=$(free_port) port_b=$(free_port) port_c=$(free_port) port_d=$(free_port) port_e=$(free_port)

# --- PKI and keys: a CA of its own, the eu gateway's and a service's certificates --------------
"$rampartctl" pki init --dir "$work/pki" --regions eu >/dev/null
"$rampartctl" keys init --dir "$work/keys" >/dev/null
mkdir -p "$work/nginx-pki"
for name in ca.crt tickets-eu.crt tickets-eu.key gateway-eu.crt gateway-eu.key gateway-public.crt gateway-public.key; do
    cp "$work/pki/$name" "$work/nginx-pki/$name"
done
chown -R www-data "$work/nginx-pki" && chmod 700 "$work/nginx-pki"
pki="$work/nginx-pki"

# --- nginx instances: the trivial upstream, (c) and (d) ----------------------------------------
nginx_prelude() { # $1: folder
    cat <<EOF
pid $1/nginx.pid;
worker_processes ${2:-auto};
events { worker_connections 4096; }
EOF
}
nginx_http_common() { # $1: folder
    cat <<EOF
    client_body_temp_path $1/body; proxy_temp_path $1/proxy; fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi; scgi_temp_path $1/scgi;
    server_tokens off;
    keepalive_requests 1000000;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305;
EOF
}

mkdir -p "$work/upstream"
{
    nginx_prelude "$work/upstream" 1
    echo "http {"
    nginx_http_common "$work/upstream"
    cat <<EOF
    access_log off;
    server {
        listen 127.0.0.1:$upstream_port ssl;
        ssl_certificate $pki/tickets-eu.crt;
        ssl_certificate_key $pki/tickets-eu.key;
        ssl_client_certificate $pki/ca.crt;
        ssl_verify_client on;
        location / {
            default_type application/json;
            return 200 '{"ok":true}\n';
        }
    }
}
EOF
} >"$work/upstream/nginx.conf"

edge_nginx_conf() { # $1: folder, $2: port, $3: extra server lines (ModSecurity)
    cat <<EOF
${3:+load_module $modsecurity_module;}
$(nginx_prelude "$1")
http {
$(nginx_http_common "$1")
    access_log $1/access.log;
    upstream tickets {
        server 127.0.0.1:$upstream_port;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$2 ssl http2;
        server_name $host;
        ssl_certificate $pki/gateway-public.crt;
        ssl_certificate_key $pki/gateway-public.key;
        client_max_body_size 1m;
        $3
        add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
        add_header X-Content-Type-Options nosniff always;
        add_header Referrer-Policy strict-origin-when-cross-origin always;
        add_header X-Frame-Options DENY always;
        add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'" always;
        add_header X-Request-Id \$request_id always;
        location / {
            proxy_pass https://tickets;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Request-Id \$request_id;
            proxy_ssl_certificate $pki/gateway-eu.crt;
            proxy_ssl_certificate_key $pki/gateway-eu.key;
            proxy_ssl_trusted_certificate $pki/ca.crt;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse on;
        }
    }
}
EOF
}

mkdir -p "$work/nginx" "$work/modsec/tmp"
edge_nginx_conf "$work/nginx" "$port_c" "" >"$work/nginx/nginx.conf"

# ModSecurity as Debian ships it, switched from DetectionOnly to On, writing only under $work;
# the CRS 3.3 rules included one by one (libmodsecurity 3.0.9 rejects the packaged IncludeOptional).
sed -e 's/^SecRuleEngine .*/SecRuleEngine On/' \
    -e "s|^SecAuditLog .*|SecAuditLog $work/modsec/audit.log|" \
    -e "s|^SecTmpDir .*|SecTmpDir $work/modsec/tmp/|" -e "s|^SecDataDir .*|SecDataDir $work/modsec/tmp/|" \
    -e 's|^SecUnicodeMapFile .*|SecUnicodeMapFile /etc/nginx/unicode.mapping 20127|' \
    -e 's/^SecStatusEngine .*/SecStatusEngine Off/' /etc/nginx/modsecurity.conf >"$work/modsec/modsecurity.conf"
{
    echo "Include $work/modsec/modsecurity.conf"
    echo "Include /etc/modsecurity/crs/crs-setup.conf"
    echo 'SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=1"'
    [ -f /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf ] && echo "Include /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf"
    for rules in "$crs_rules"/*.conf; do echo "Include $rules"; done
    [ -f /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf ] && echo "Include /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf"
} >"$work/modsec/main.conf"
mkdir -p "$work/nginx-modsec"
edge_nginx_conf "$work/nginx-modsec" "$port_d" "modsecurity on; modsecurity_rules_file $work/modsec/main.conf;" >"$work/nginx-modsec/nginx.conf"
chown -R www-data "$work/upstream" "$work/nginx" "$work/nginx-modsec" "$work/modsec"

start_nginx() { # $1: folder
    runuser -u www-data -- nginx -p "$1" -c "$1/nginx.conf" -e "$1/error.log" -g 'daemon off;' >"$1/stdout.log" 2>&1 &
    pids+=($!)
}

# --- The gateway, twice: without rules (a) and with the shipped rules and policy (b) -----------
python3 - "$root/Deploy/gateway/edge.yaml" "$work/edge.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# One route to the trivial upstream, without edge authentication (nginx authenticates nothing
# either), in the default body class so that POST bodies are read whole and inspected.
route = "routes:\n  - {prefix: /api/v1/tickets, service: tickets, auth: none}\n\n"
text, count = re.subn(r"(?ms)^routes:\n.*?^(?=status_routes:)", route, text)
assert count == 1, "edge.yaml has no routes section followed by status_routes"
open(sys.argv[2], "w").write(text)
PY
printf '{"regions": {"eu": {"tickets": "https://127.0.0.1:%s"}}}\n' "$upstream_port" >"$work/endpoints.json"
printf 'version: 1\nrules: []\n' >"$work/no-rules.yaml"
# The shipped limits' shape with room for a load generator on one address.
cat >"$work/rate-limits.yaml" <<'EOF'
version: 1
replicas: 1
limits:
  - {name: ip, key: [client_ip], requests: 60000000, period: 1m, burst: 1000000}
  - {name: tenant, key: [tenant], requests: 60000000, period: 1m, burst: 1000000}
  - {name: credential, key: [credential], requests: 60000000, period: 1m, burst: 1000000}
EOF

start_gateway() { # $1: public port, $2: internal port, $3: rules file, $4: log
    env RAMPART_REGION=eu RAMPART_REGIONS=eu RAMPART_BASE_DOMAIN=localhost \
        RAMPART_LISTEN_HOST=127.0.0.1 RAMPART_LISTEN_PORT="$2" \
        RAMPART_TLS_CA="$work/pki/ca.crt" RAMPART_TLS_CERT="$work/pki/gateway-eu.crt" RAMPART_TLS_KEY="$work/pki/gateway-eu.key" \
        RAMPART_ALLOWLIST="$root/Deploy/policy/allowlist.yaml" RAMPART_PRINCIPAL_KEYS="$work/keys/principal-jwks.json" \
        RAMPART_PUBLIC_HOST=127.0.0.1 RAMPART_PUBLIC_PORT="$1" \
        RAMPART_PUBLIC_TLS_CERT="$work/pki/gateway-public.crt" RAMPART_PUBLIC_TLS_KEY="$work/pki/gateway-public.key" \
        RAMPART_EDGE_POLICY="$work/edge.yaml" RAMPART_UPSTREAMS="$work/endpoints.json" \
        RAMPART_WAF_RULES="$3" RAMPART_WAF_POLICY="$root/Deploy/waf/policy.yaml" RAMPART_RATE_LIMITS="$work/rate-limits.yaml" \
        "$bin/rampart-gateway" >"$4" 2>&1 &
    pids+=($!)
}

# --- The requests: a ticket search (GET) and a 1 KB JSON reply (POST), benign for every WAF ---
headers=(-H "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
         -H "Accept: application/json, text/plain, */*" -H "Accept-Language: en-IE,en;q=0.9")
get_path="/api/v1/tickets?q=printer%20not%20working%20after%20update&status=open&sort=-updated_at&page=2"
post_path="/api/v1/tickets/48213/messages"
python3 - "$work/body.json" <<'PY'
import json, sys
reply = ("Hi Ana, thanks for the quick answer! I tried the steps from your last message but the export still fails "
         "after about thirty seconds with the message that the connection was reset by the peer. We are on version 4.2 "
         "since O'Brien's team upgraded last week, and nothing else changed on our side as far as I can tell. Could you "
         "check whether the nightly job on your side touched our account, and let me know if I should select a "
         "different option for keeping attachments? The order number is 48213 and we are in the eu region. ")
document = {"body": reply, "visibility": "public", "attachments": [{"name": "export-log.txt", "size": 48213}],
            "metadata": {"client": "web", "locale": "en-IE", "draft_id": "d_7f3a9c21"}}
text = json.dumps(document)
text = text[:-1] + ', "note": "' + "x" * max(0, 1024 - len(text) - 12) + '"}'
assert len(text.encode()) == 1024, len(text.encode())
open(sys.argv[1], "w").write(text)
PY
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = io.open("$work/body.json", "rb")
wrk.body = file:read("*a")
file:close()
EOF

start_nginx "$work/upstream"
start_nginx "$work/nginx"
start_nginx "$work/nginx-modsec"
start_gateway "$port_a" "$gateway_internal_port" "$work/no-rules.yaml" "$work/gateway-a.log"
gateway_a=${pids[-1]}
# Both gateways run throughout: one that is not being measured is idle (no load, no CPU).
start_gateway "$port_b" "$gateway_b_internal_port" "$root/Deploy/waf/rules.yaml" "$work/gateway-b.log"
gateway_b=${pids[-1]}
"$bin/EdgeFloorBench" "$port_e" "$work/pki/gateway-public.crt" "$work/pki/gateway-public.key" "$work/pki/ca.crt" \
    "$upstream_port" "$work/pki/gateway-eu.crt" "$work/pki/gateway-eu.key" >"$work/floor.log" 2>&1 &
pids+=($!)
floor=${pids[-1]}

curl_status() { # $1: port, $2: method, $3: path
    local body=()
    [ "$2" = POST ] && body=(-H "Content-Type: application/json" --data-binary "@$work/body.json")
    curl -s -o /dev/null -w '%{http_code}' --cacert "$work/pki/ca.crt" "${headers[@]}" -X "$2" "${body[@]}" "https://$host:$1$3" || true
}
wait_ready() { # $1: port, $2: name, $3: log
    for _ in $(seq 1 150); do
        [ "$(curl_status "$1" GET "$get_path")" = 200 ] && return 0
        sleep 0.2
    done
    echo "bench-gateway: $2 did not answer 200 on port $1; its log:" >&2
    tail -20 "$3" >&2
    exit 1
}
# CPU time (user + system, in clock ticks) of a process and its children (nginx workers).
cpu_ticks() {
    local total=0 pid ticks
    for pid in "$1" $(pgrep -P "$1" || true); do
        # A child may end between the listing and the read.
        ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true)
        total=$((total + ${ticks:-0}))
    done
    echo "$total"
}
# One measured wrk run; prints a JSON object.
measure() { # $1: case, $2: port, $3: server pid, $4: GET|POST
    local url path script=()
    if [ "$4" = POST ]; then path=$post_path; script=(-s "$work/post.lua"); else path=$get_path; fi
    local status
    status=$(curl_status "$2" "$4" "$path")
    if [ "$status" != 200 ]; then echo "bench-gateway: $1 answered $status to the $4 sample" >&2; exit 1; fi
    url="https://$host:$2$path"
    wrk -t2 -c"$connections" -d2s "${headers[@]}" "${script[@]}" "$url" >/dev/null
    local before after
    before=$(cpu_ticks "$3")
    wrk -t2 -c"$connections" -d"${seconds}s" --latency "${headers[@]}" "${script[@]}" "$url" >"$work/wrk.out"
    after=$(cpu_ticks "$3")
    python3 - "$work/wrk.out" "$1" "$4" "$((after - before))" "$(getconf CLK_TCK)" <<'PY'
import json, re, sys
text, case, method, ticks, hz = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
latency = {m.group(1): ms(m.group(2), m.group(3)) for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)}
requests = int(re.search(r"(\d+) requests in", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
socket_errors = re.search(r"Socket errors: (.*)", text)
print(json.dumps({
    "case": case, "method": method, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
    "p50_ms": latency["50"], "p99_ms": latency["99"], "requests": requests,
    "non_2xx": int(errors.group(1)) if errors else 0, "socket_errors": socket_errors.group(1) if socket_errors else "",
    "cpu_us_per_request": ticks / hz * 1e6 / max(requests, 1),
}))
PY
}

wait_ready "$port_a" "the gateway (a)" "$work/gateway-a.log"
wait_ready "$port_b" "the gateway (b)" "$work/gateway-b.log"
wait_ready "$port_c" "nginx (c)" "$work/nginx/error.log"
wait_ready "$port_d" "nginx with ModSecurity (d)" "$work/nginx-modsec/error.log"
wait_ready "$port_e" "the SwiftNIO floor (e)" "$work/floor.log"
nginx_c=$(cat "$work/nginx/nginx.pid") nginx_d=$(cat "$work/nginx-modsec/nginx.pid")

results="$work/results.jsonl"
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench-gateway: $rounds rounds, ${seconds}s per run, $connections connections, wrk -t2, host $host"
for round in $(seq 1 "$rounds"); do
    echo "bench-gateway: round $round of $rounds"
    for method in GET POST; do
        measure a "$port_a" "$gateway_a" "$method" | tee -a "$results"
        measure b "$port_b" "$gateway_b" "$method" | tee -a "$results"
        measure c "$port_c" "$nginx_c" "$method" | tee -a "$results"
        measure d "$port_d" "$nginx_d" "$method" | tee -a "$results"
        measure e "$port_e" "$floor" "$method" | tee -a "$results"
    done
done

echo "bench-gateway: the WAF's CPU time per benign request (GatewayWAFBench, one thread)"
waf=$("$bin/GatewayWAFBench" "$root/Deploy/waf/rules.yaml" "$root/Deploy/waf/policy.yaml" 20000)
echo "$waf"

machine="$(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(swift --version 2>&1 | head -1), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $( (wrk -v 2>&1 || true) | head -1 | awk '{print "wrk " $2}')"
python3 - "$doc" "$results" "$waf" "$machine" "$(date -u +%Y-%m-%dT%H:%MZ)" "$seconds" "$connections" "$load" "$rounds" <<'PY'
import json, re, sys
path, results_path, waf, machine, when, seconds, connections, load, rounds = sys.argv[1:10]
every = {}
for r in map(json.loads, open(results_path)):
    every.setdefault((r["case"], r["method"]), []).append(r)
# Each case's median round by requests/s (its latency and CPU from that same round).
runs = {key: sorted(rs, key=lambda r: r["rps"])[(len(rs) - 1) // 2] for key, rs in every.items()}
spread = {key: (min(r["rps"] for r in rs), max(r["rps"] for r in rs)) for key, rs in every.items()}
names = {"a": "(a) rampart-gateway, WAF off", "b": "(b) rampart-gateway, WAF on (paranoia 1)",
         "c": "(c) nginx, TLS reverse proxy", "d": "(d) nginx + ModSecurity + CRS 3.3 (paranoia 1)",
         "e": "(e) reference: bare SwiftNIO TLS proxy (`EdgeFloorBench`)"}
rows = []
for case in "abcde":
    cells = []
    for method in ("GET", "POST"):
        r = runs[(case, method)]
        flag = f" ({r['non_2xx']} non-2xx)" if r["non_2xx"] else ""
        low, high = spread[(case, method)]
        cells.append(f"{r['rps']:,.0f}{flag} ({low:,.0f}–{high:,.0f}) | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {r['cpu_us_per_request']:,.0f} µs")
    rows.append(f"| {names[case]} | " + " | ".join(cells) + " |")
def ratio(x, y, method):
    return runs[(x, method)]["rps"] / runs[(y, method)]["rps"]
def cpu_ratio(x, y, method):
    return runs[(y, method)]["cpu_us_per_request"] / max(runs[(x, method)]["cpu_us_per_request"], 1e-9)
ratios = "\n".join(
    f"| {label} | {ratio(x, y, 'GET'):.2f} | {ratio(x, y, 'POST'):.2f} | {cpu_ratio(x, y, 'GET'):.2f} | {cpu_ratio(x, y, 'POST'):.2f} | {target} |"
    for label, x, y, target in [("(a) / (c): gateway vs nginx, no WAF", "a", "c", "≥ 0.5"),
                                ("(b) / (d): gateway WAF vs ModSecurity + CRS", "b", "d", "≥ 10"),
                                ("(b) / (a): cost of the WAF in the gateway", "b", "a", ""),
                                ("(e) / (c): bare SwiftNIO proxy vs nginx", "e", "c", ""),
                                ("(a) / (e): gateway vs bare SwiftNIO proxy", "a", "e", "")])
waf_lines = "\n".join(f"- {line}" for line in waf.strip().splitlines())
section = f"""<!-- gateway-edge:begin -->
## Gateway edge against nginx and nginx + ModSecurity (`make bench-gateway`)

Measured {when} on {machine}; load average {load} when the runs began (other work on the
machine shares its 2 cores and lowers every figure alike). wrk on loopback, 2 threads, {connections} connections, {seconds} s per
run after a 2 s warm-up, HTTP/1.1 over TLS to a host name; {rounds} rounds of the ten runs, interleaved,
each figure from its case's median round (in brackets: the lowest and highest requests/s of the rounds). Every edge proxies to the same trivial
upstream (nginx answering `{{"ok":true}}`) over mutual TLS with a kept-alive pool. GET: a ticket
search with a query string and browser headers; POST: a 1 KB JSON ticket reply. CPU is the edge
process's own (user + system, nginx's workers included) per request, not the upstream's or wrk's.

| edge | GET req/s (range) | GET p50 | GET p99 | GET CPU/req | POST req/s (range) | POST p50 | POST p99 | POST CPU/req |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

| ratio | GET req/s | POST req/s | GET by CPU/req | POST by CPU/req | issue's target (req/s) |
|---|---:|---:|---:|---:|---|
{ratios}

The WAF's own CPU time per benign request (`GatewayWAFBench`, release build, one thread; target ≤ 150 µs):

{waf_lines}
<!-- gateway-edge:end -->"""
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n\nRecorded by `make bench`; each section is replaced by the latest run.\n"
if "<!-- gateway-edge:begin -->" in text:
    text = re.sub(r"<!-- gateway-edge:begin -->.*?<!-- gateway-edge:end -->", lambda _: section, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text)
print(section)
PY
echo "bench-gateway: results recorded in docs/benchmarks.md"
