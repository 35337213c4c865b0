#!/usr/bin/env bash
# Rotates the key-encryption key on a systemd host (docs/operations.md, "Rotate the
# key-encryption key"): a new active key, every tenant data key in the region's key store
# rewrapped under it (sealed data is untouched), the old key retired. The services that unwrap
# keys (identity, tickets, audit, backup) are stopped meanwhile, since they hold the key file in
# memory, and started again after. --rotation names the rotation: one already done on this host
# is not done again. Kubernetes clusters: Deploy/scripts/rotate-kek-kubernetes.sh.
#
#   Deploy/scripts/rotate-kek.sh --region eu --rotation 2026-q4 [--dry-run]
#
# RAMPART_ETC (/etc/rampart) and RAMPART_STATE (/var/lib/rampart) move the host's paths.
source "$(dirname "$0")/lib.sh"
parse_common "$@"
parse_rotation
etc="${RAMPART_ETC:-/etc/rampart}"
state="${RAMPART_STATE:-/var/lib/rampart}"
kek="$etc/kek.json"
keystore="$state/keystore"
marker="$state/kek-rotations/$rotation"

# This host serves --region: its identity configuration says so.
host_region="$(sed -n 's/^RAMPART_REGION=//p' "$etc/identity.env" 2>/dev/null || true)"
[ -n "$host_region" ] || die "refusing: $etc/identity.env names no RAMPART_REGION (is this a Rampart host?)"
[ "$host_region" = "$region" ] || die "refusing: this host serves region $host_region, not $region"
[ -f "$kek" ] || die "no key-encryption key at $kek"

stop_services() { systemctl stop rampart@identity rampart@tickets rampart@audit rampart@backup; }
start_services() { systemctl start rampart@identity rampart@tickets rampart@audit rampart@backup; }

rotate() {
    if [ -f "$marker" ]; then echo "$script: rotation $rotation was done $(cat "$marker")"; return; fi
    # Kept until the rotation is verified; it unwraps nothing once the rewrap is complete.
    install -m 0600 "$kek" "$kek.before-$rotation"
    "$RAMPARTCTL" keys rotate-kek --kek-file "$kek" --keystore "$keystore"
    # rampartctl writes it owner-only; the services read it through the key-store group.
    chgrp rampart-keystore "$kek" && chmod 0640 "$kek"
    mkdir -p "$(dirname "$marker")"
    date -u +%Y-%m-%dT%H:%M:%SZ >"$marker"
}

step "Stop identity, tickets, audit and backup (they hold the key-encryption key in memory)" stop_services
step "Rotate $kek and rewrap every data key in $keystore (rotation $rotation, once)" rotate
step "Start identity, tickets, audit and backup with the new key" start_services
run_plan
