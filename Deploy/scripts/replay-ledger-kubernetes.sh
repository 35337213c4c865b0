#!/usr/bin/env bash
# Replays a region's erasure ledger on its database after a recovery of the live cluster in
# Kubernetes (CloudNativePG), as `rampartctl backup restore` does on systemd hosts: the
# replay-erasure-ledger Job (Deploy/kubernetes/jobs/) runs `rampartctl backup replay-ledger` with
# the image the services run, reading the ledger volume and connecting as the database superuser.
# Run it after every restore of the region's live cluster, before the services take traffic again.
#
#   Deploy/scripts/replay-ledger-kubernetes.sh --region eu --context eu-prod [--dry-run]
source "$(dirname "$0")/lib.sh"
parse_common "$@"
guard_region

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

replay() {
    local image
    image="$(kube -n rampart get deployment identity -o 'jsonpath={.spec.template.spec.containers[0].image}')"
    [ -n "$image" ] || die "cannot read the image identity runs"
    sed -e "s|image: registry.example.com/rampart/rampart:.*|image: $image|" -e "s|--region, REGION,|--region, $region,|" \
        "$DEPLOY/kubernetes/jobs/replay-erasure-ledger.yaml" >"$work/job.yaml"
    kube -n rampart delete job replay-erasure-ledger --ignore-not-found >/dev/null
    kube apply -f "$work/job.yaml" >/dev/null
    kube -n rampart wait --for=condition=complete job/replay-erasure-ledger --timeout=60m \
        || die "the replay Job did not complete (kubectl -n rampart logs job/replay-erasure-ledger): keep the services stopped"
    kube -n rampart logs job/replay-erasure-ledger
}

step "Replay the erasure ledger of $region on its database (purged tenants, erased people) with the replay-erasure-ledger Job" replay
run_plan
