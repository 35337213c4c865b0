#!/usr/bin/env bash
# Re-renders everything derived from the allow-list and the region list, after either changed:
# for each overlay, peer-cidrs (the other regions' pod-cidr), endpoints.json (this region's
# services by Service name, the others' by <service>.<region>.<internal-domain>) and
# network-allow.yaml; and the systemd install's nftables rules. The test suite fails while a
# committed file differs from what this writes. Needs a built rampartctl (RAMPARTCTL or PATH).
#
#   Deploy/scripts/render-policies.sh [--dry-run]
set -euo pipefail
deploy="$(cd "$(dirname "$0")/.." && pwd)"
rampartctl="${RAMPARTCTL:-rampartctl}"
dry_run=0
[ "${1:-}" = --dry-run ] && dry_run=1
overlays="$deploy/kubernetes/overlays"
internal_domain="$(cat "$deploy/kubernetes/internal-domain")"
regions=()
for dir in "$overlays"/*/; do regions+=("$(basename "$dir")"); done
services=(gateway identity tickets audit backup status)

echo "render-policies: plan for regions ${regions[*]}:"
for region in "${regions[@]}"; do echo "  overlays/$region: peer-cidrs, endpoints.json, network-allow.yaml"; done
echo "  systemd/nftables/rampart.nft"
((dry_run)) && { echo "render-policies: dry run, nothing changed"; exit 0; }

for region in "${regions[@]}"; do
    peers=()
    for other in "${regions[@]}"; do
        [ "$other" = "$region" ] || peers+=("$(tr -d '[:space:]' <"$overlays/$other/pod-cidr")")
    done
    (IFS=,; echo "${peers[*]}") >"$overlays/$region/peer-cidrs"
    {
        echo '{'
        echo '  "regions": {'
        for index in "${!regions[@]}"; do
            target="${regions[index]}"
            echo "    \"$target\": {"
            for service_index in "${!services[@]}"; do
                service="${services[service_index]}"
                if [ "$target" = "$region" ]; then host="$service"; else host="$service.$target.$internal_domain"; fi
                separator=","; ((service_index == ${#services[@]} - 1)) && separator=""
                echo "      \"$service\": \"https://$host:9443\"$separator"
            done
            separator=","; ((index == ${#regions[@]} - 1)) && separator=""
            echo "    }$separator"
        done
        echo '  }'
        echo '}'
    } >"$overlays/$region/endpoints.json"
    "$rampartctl" policy render --format kubernetes --file "$deploy/policy/allowlist.yaml" \
        --peer-cidrs "$(cat "$overlays/$region/peer-cidrs")" >"$overlays/$region/network-allow.yaml"
done
"$rampartctl" policy render --format nftables --file "$deploy/policy/allowlist.yaml" >"$deploy/systemd/nftables/rampart.nft"
echo "render-policies: done"
