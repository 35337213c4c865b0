#!/usr/bin/env bash
# Adds a region to the installation's deployment files (docs/operations.md, "Add a region"):
# RAMPART_REGIONS, a new overlay (its pod network and backup bucket), and a re-render of every
# overlay's peers, endpoints and network rules. It changes the repository only; then commit,
# run provision-region.sh for the new region and re-apply every other region's overlay (their
# status pages start probing it, their network rules admit it). Refuses a region that exists.
#
#   Deploy/scripts/add-region.sh --region ca --pod-cidr 10.40.0.0/16 [--dry-run]
source "$(dirname "$0")/lib.sh"
parse_common "$@"
pod_cidr=""
set -- "${rest[@]+"${rest[@]}"}"
while (($#)); do
    case "$1" in
        --pod-cidr) pod_cidr="$2"; shift 2 ;;
        *) die "unknown argument $1" ;;
    esac
done
[[ "$pod_cidr" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$ ]] || die "--pod-cidr must be an IPv4 CIDR such as 10.40.0.0/16"
[ "$region" != operator ] || die "operator is reserved (operator certificates' identity)"
overlays="$DEPLOY/kubernetes/overlays"
config="$DEPLOY/kubernetes/base/config.env"
[ ! -d "$overlays/$region" ] || die "refusing: region $region already has an overlay"
for other in "$overlays"/*/pod-cidr; do
    [ "$(cat "$other")" != "$pod_cidr" ] || die "refusing: $pod_cidr is already the pod network of $(basename "$(dirname "$other")")"
done

add_to_regions() {
    grep -q "^RAMPART_REGIONS=\(.*,\)\?$region\(,.*\)\?$" "$config" || sed -i "s/^RAMPART_REGIONS=\(.*\)$/RAMPART_REGIONS=\1,$region/" "$config"
}

create_overlay() {
    local template
    template="$(find "$overlays" -mindepth 1 -maxdepth 1 -type d | sort | head -n 1)"
    mkdir -p "$overlays/$region"
    sed -e "s/^# Region [a-z0-9]*:/# Region $region:/" \
        -e "s|rampart.example.com/region: .*|rampart.example.com/region: $region|" \
        -e "s/RAMPART_REGION=.*/RAMPART_REGION=$region/" \
        -e "s|s3://rampart-[a-z0-9]*-backups/|s3://rampart-$region-backups/|" \
        "$template/kustomization.yaml" >"$overlays/$region/kustomization.yaml"
    echo "$pod_cidr" >"$overlays/$region/pod-cidr"
}

step "Add $region to RAMPART_REGIONS (Deploy/kubernetes/base/config.env)" add_to_regions
step "Create overlays/$region (pod network $pod_cidr, bucket s3://rampart-$region-backups/)" create_overlay
step "Re-render every overlay's peers, endpoints and allow rules, and the nftables rules" "$DEPLOY/scripts/render-policies.sh"
run_plan
echo "$script: next: commit, provision-region.sh --region $region, then kubectl apply -k each other overlay"
