#!/usr/bin/env bash
# Rotates the key-encryption key of a region's Kubernetes cluster (docs/operations.md, "Rotate
# the key-encryption key") while the services keep running:
#   1. a new active key is added to the rampart-kek Secret (the old ones stay to unwrap);
#   2. the services that hold it in memory (identity, tickets, audit, backup) restart with both;
#   3. a Job (Deploy/kubernetes/jobs/rewrap-keystore.yaml) rewraps every tenant data key in the
#      key store under the new key and checks that none is left under an old one;
#   4. the old keys are removed from the Secret, and the services restart once more.
# The Secret carries the rotation's name and phase in annotations, so a run that stopped half-way
# is simply run again and goes on where it stopped; a finished rotation is not done again. The
# key file is handled in a private temporary folder on this workstation and removed at the end;
# it is never printed.
#
#   Deploy/scripts/rotate-kek-kubernetes.sh --region eu --context eu-prod --rotation 2026-q4 [--dry-run]
source "$(dirname "$0")/lib.sh"
parse_common "$@"
parse_rotation
guard_region

services=(identity tickets audit backup)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The rotation's phase as the Secret records it: "" (not started), added, rewrapped or done.
phase() {
    local name
    name="$(kube -n rampart get secret rampart-kek -o 'jsonpath={.metadata.annotations.rampart\.example\.com/kek-rotation}')"
    [ "$name" = "$rotation" ] || { echo ""; return; }
    kube -n rampart get secret rampart-kek -o 'jsonpath={.metadata.annotations.rampart\.example\.com/kek-rotation-phase}'
}

mark() { # phase
    kube -n rampart annotate --overwrite secret rampart-kek \
        "rampart.example.com/kek-rotation=$rotation" "rampart.example.com/kek-rotation-phase=$1" >/dev/null
}

# Runs `rampartctl keys <command>` on the Secret's key file and writes the result back.
change_key_file() { # add-kek|retire-kek
    (umask 077 && kube -n rampart get secret rampart-kek -o 'jsonpath={.data.kek\.json}' | base64 -d >"$work/kek.json")
    [ -s "$work/kek.json" ] || die "the rampart-kek Secret holds no kek.json"
    "$RAMPARTCTL" keys "$1" --kek-file "$work/kek.json"
    apply_from_files secret rampart-kek "$work/kek.json"
    rm -f "$work/kek.json"
}

add_key() {
    case "$(phase)" in
        added|rewrapped|done) echo "$script: rotation $rotation already added its key" ;;
        *) change_key_file add-kek && mark added ;;
    esac
}

restart_services() {
    local service
    for service in "${services[@]}"; do kube -n rampart rollout restart "deployment/$service" >/dev/null; done
    for service in "${services[@]}"; do kube -n rampart rollout status "deployment/$service" --timeout=15m; done
}

rewrap() {
    case "$(phase)" in
        rewrapped|done) echo "$script: rotation $rotation already rewrapped the key store"; return ;;
        added) ;;
        *) die "rotation $rotation has not added its key yet" ;;
    esac
    local image
    image="$(kube -n rampart get deployment identity -o 'jsonpath={.spec.template.spec.containers[0].image}')"
    [ -n "$image" ] || die "cannot read the image identity runs"
    sed "s|image: registry.example.com/rampart/rampart:.*|image: $image|" "$DEPLOY/kubernetes/jobs/rewrap-keystore.yaml" >"$work/job.yaml"
    kube -n rampart delete job rewrap-keystore --ignore-not-found >/dev/null
    kube apply -f "$work/job.yaml" >/dev/null
    kube -n rampart wait --for=condition=complete job/rewrap-keystore --timeout=60m \
        || die "the rewrap Job did not complete (kubectl -n rampart logs job/rewrap-keystore); the old key stays in the Secret"
    kube -n rampart logs job/rewrap-keystore
    mark rewrapped
}

retire_keys() {
    case "$(phase)" in
        done) echo "$script: rotation $rotation already retired the old keys" ;;
        rewrapped) change_key_file retire-kek && mark done ;;
        *) die "rotation $rotation has not rewrapped the key store yet" ;;
    esac
}

step "Add a new active key-encryption key to the rampart-kek Secret, keeping the old ones (rotation $rotation, once)" add_key
step "Restart ${services[*]} so they hold both keys" restart_services
step "Rewrap every tenant data key in the key store under the new key with the rewrap-keystore Job, and check none is left" rewrap
step "Remove the old keys from the rampart-kek Secret" retire_keys
step "Restart ${services[*]} with the new key only" restart_services
run_plan
