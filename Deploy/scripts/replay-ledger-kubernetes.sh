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
    # The Job reads the superuser's URL from a file (never an environment variable): a Secret
    # made from rampart-db-superuser for this run and deleted after it. The generated password is
    # letters and digits only (provision-region.sh), safe in a URL.
    local user password
    user="$(kube -n rampart get secret rampart-db-superuser -o 'jsonpath={.data.username}' | base64 -d)"
    password="$(kube -n rampart get secret rampart-db-superuser -o 'jsonpath={.data.password}' | base64 -d)"
    [ -n "$user" ] && [ -n "$password" ] || die "cannot read the database superuser's Secret rampart-db-superuser"
    (umask 077 && printf 'postgres://%s:%s@rampart-db-rw.rampart.svc:5432/postgres?sslmode=require' "$user" "$password" >"$work/url")
    kube -n rampart delete job replay-erasure-ledger --ignore-not-found >/dev/null
    kube -n rampart delete secret rampart-ledger-replay --ignore-not-found >/dev/null
    kube -n rampart create secret generic rampart-ledger-replay --from-file=url="$work/url" >/dev/null
    rm -f "$work/url"
    kube apply -f "$work/job.yaml" >/dev/null
    local completed=0
    kube -n rampart wait --for=condition=complete job/replay-erasure-ledger --timeout=60m && completed=1
    kube -n rampart delete secret rampart-ledger-replay --ignore-not-found >/dev/null
    [ "$completed" = 1 ] || die "the replay Job did not complete (kubectl -n rampart logs job/replay-erasure-ledger): keep the services stopped"
    kube -n rampart logs job/replay-erasure-ledger
}

step "Replay the erasure ledger of $region on its database (purged tenants, erased people) with the replay-erasure-ledger Job" replay
run_plan
