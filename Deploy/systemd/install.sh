#!/usr/bin/env bash
# Installs Rampart's executables, policy files, systemd units and nftables rules on this host
# (or under --root, for checking). Idempotent: files already identical are left alone; it prints
# its plan first, and --dry-run prints only the plan. Secrets and /etc/rampart/<service>.env are
# the operator's (docs/deployment.md); this script never writes them.
#
#   Deploy/systemd/install.sh --bin-dir .build/release [--root /] [--dry-run]
#
# --link hard-links instead of copying (a checking root beside the build, as `make test` uses).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
deploy="$(dirname "$here")"
root=/
bin_dir=""
dry_run=0
link=0
while (($#)); do
    case "$1" in
        --root) root="$2"; shift 2 ;;
        --bin-dir) bin_dir="$2"; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        --link) link=1; shift ;;
        *) echo "install: unknown argument $1" >&2; exit 64 ;;
    esac
done
[ -n "$bin_dir" ] || { echo "install: --bin-dir (where swift build put the executables) is required" >&2; exit 64; }
root="${root%/}"
services=(gateway identity tickets audit backup status)
# backup destroys purged tenants' keys in the key store.
keystore_services=(identity tickets audit backup)

# source → destination (mode) pairs, in the order they are installed.
plan=()
for service in "${services[@]}"; do plan+=("$bin_dir/rampart-$service|/usr/local/bin/rampart-$service|0755"); done
plan+=("$bin_dir/rampartctl|/usr/local/bin/rampartctl|0755")
for file in policy/allowlist.yaml gateway/edge.yaml gateway/rate-limits.yaml waf/rules.yaml waf/policy.yaml; do
    plan+=("$deploy/$file|/usr/share/rampart/$file|0644")
done
plan+=("$here/nftables/rampart.nft|/usr/share/rampart/nftables/rampart.nft|0644")
plan+=("$here/nftables/firewall.nft|/etc/rampart/firewall.nft|0644")
for unit in rampart@.service rampart.target rampart-firewall.service; do plan+=("$here/$unit|/etc/systemd/system/$unit|0644"); done
plan+=("$here/rampart@gateway.service.d/public-edge.conf|/etc/systemd/system/rampart@gateway.service.d/public-edge.conf|0644")
plan+=("$here/rampart@backup.service.d/erasure-ledger.conf|/etc/systemd/system/rampart@backup.service.d/erasure-ledger.conf|0644")
for service in "${keystore_services[@]}"; do
    plan+=("$here/keystore.conf|/etc/systemd/system/rampart@$service.service.d/keystore.conf|0644")
done
plan+=("$here/sysusers.d/rampart.conf|/etc/sysusers.d/rampart.conf|0644")
plan+=("$here/tmpfiles.d/rampart.conf|/etc/tmpfiles.d/rampart.conf|0644")

echo "install: plan for root ${root:-/}"
for entry in "${plan[@]}"; do
    IFS='|' read -r source destination mode <<<"$entry"
    [ -f "$source" ] || { echo "install: missing $source" >&2; exit 1; }
    if cmp -s "$source" "$root$destination"; then state="unchanged"; else state="install"; fi
    printf '  %-9s %s (%s)\n' "$state" "$destination" "$mode"
done
if [ -z "$root" ]; then
    echo "  then: systemd-sysusers, systemd-tmpfiles --create, systemctl daemon-reload"
    [ -f /etc/rampart/hosts.nft ] || echo "  note: /etc/rampart/hosts.nft is missing (see $here/nftables/hosts.nft.example); rampart-firewall will not start without it"
fi
((dry_run)) && { echo "install: dry run, nothing changed"; exit 0; }

for entry in "${plan[@]}"; do
    IFS='|' read -r source destination mode <<<"$entry"
    cmp -s "$source" "$root$destination" && continue
    mkdir -p "$(dirname "$root$destination")"
    # Written beside the destination, then renamed over it: never a half-written unit or binary.
    temporary="$root$destination.rampart-new"
    if ((link)); then ln -f "$source" "$temporary"; else install -m "$mode" "$source" "$temporary"; fi
    mv -f "$temporary" "$root$destination"
done
if [ -z "$root" ]; then
    systemd-sysusers /etc/sysusers.d/rampart.conf
    systemd-tmpfiles --create /etc/tmpfiles.d/rampart.conf
    systemctl daemon-reload
fi
echo "install: done"
