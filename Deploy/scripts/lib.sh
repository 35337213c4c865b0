# Shared by the operator scripts (sourced, not run): common options, the region guard, and
# plan-then-act. Every script states its whole plan before touching anything, --dry-run stops
# after the plan, and each step is safe to repeat (it checks, or the command it runs is itself
# idempotent), so a script interrupted half-way is simply run again.
#
# Common options: --region R (required), --context C (kubectl context of R's cluster; default:
# the current one), --dry-run. KUBECTL and RAMPARTCTL override the commands used.
set -euo pipefail

KUBECTL="${KUBECTL:-kubectl}"
RAMPARTCTL="${RAMPARTCTL:-rampartctl}"
DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
script="$(basename "$0" .sh)"
region=""
context=""
dry_run=0
rest=()
step_titles=()
step_commands=()

die() { echo "$script: $*" >&2; exit 1; }

# Splits the common options from the script's own (left in "${rest[@]}").
parse_common() {
    while (($#)); do
        case "$1" in
            --region) region="${2:-}"; shift 2 ;;
            --context) context="${2:-}"; shift 2 ;;
            --dry-run) dry_run=1; shift ;;
            *) rest+=("$1"); shift ;;
        esac
    done
    [ -n "$region" ] || die "--region is required"
    [[ "$region" =~ ^[a-z0-9]{2,12}$ ]] || die "--region must be 2-12 lowercase letters or digits"
}

# The key-encryption key rotations' only option: --rotation NAME (sets $rotation), so a
# rotation already done is recognised when the script runs again.
parse_rotation() {
    rotation=""
    set -- "${rest[@]+"${rest[@]}"}"
    while (($#)); do
        case "$1" in
            --rotation) rotation="${2:-}"; shift 2 ;;
            *) die "unknown argument $1" ;;
        esac
    done
    [[ "$rotation" =~ ^[a-z0-9][a-z0-9-]{2,40}$ ]] || die "--rotation must name the rotation (lowercase letters, digits, hyphens)"
}

kube() {
    if [ -n "$context" ]; then "$KUBECTL" --context "$context" "$@"; else "$KUBECTL" "$@"; fi
}

# The region the cluster says it serves: the annotation the overlay puts on the namespace.
cluster_region() {
    kube get namespace rampart -o 'jsonpath={.metadata.annotations.rampart\.example\.com/region}' 2>/dev/null || true
}

# Refuses to go on unless the cluster serves --region. With "new", a cluster without Rampart is
# accepted too (provisioning), never one that serves another region.
guard_region() {
    local actual
    actual="$(cluster_region)"
    if [ -z "$actual" ] && [ "${1:-}" = new ]; then
        echo "$script: cluster${context:+ $context} has no Rampart yet; it will serve region $region"
        return
    fi
    [ -n "$actual" ] || die "refusing: cluster${context:+ $context} runs no Rampart region (expected $region)"
    [ "$actual" = "$region" ] || die "refusing: cluster${context:+ $context} serves region $actual, not $region"
}

# Adds one step: a title and the command (words, quoted safely) that carries it out.
step() {
    step_titles+=("$1")
    shift
    step_commands+=("$(printf '%q ' "$@")")
}

# Prints the plan; unless --dry-run, runs it step by step, stopping at the first failure.
run_plan() {
    echo "$script: plan for region $region${context:+ (context $context)}, ${#step_titles[@]} step(s):"
    local index
    for index in "${!step_titles[@]}"; do
        printf '  %d. %s\n     %s\n' "$((index + 1))" "${step_titles[index]}" "${step_commands[index]}"
    done
    if ((dry_run)); then
        echo "$script: dry run, nothing changed"
        exit 0
    fi
    for index in "${!step_titles[@]}"; do
        echo "$script: step $((index + 1))/${#step_titles[@]}: ${step_titles[index]}"
        eval "${step_commands[index]}" || die "step $((index + 1)) failed; fix the cause and run the script again"
    done
    echo "$script: done"
}

# Creates or updates a Secret or ConfigMap from files without ever printing its content.
apply_from_files() { # secret|configmap name file...
    local kind="$1" name="$2"
    shift 2
    local sources=()
    for file in "$@"; do sources+=("--from-file=$file"); done
    [ "$kind" = secret ] && kind="secret generic"
    # shellcheck disable=SC2086 # "secret generic" is two words on purpose
    kube -n rampart create $kind "$name" "${sources[@]}" --dry-run=client -o yaml | kube apply -f - >/dev/null
}

# Reaches this region's services as an operator from the workstation: a port-forward per service
# (the pod's own loopback, so certificates naming localhost verify) and an endpoints.json for
# rampartctl's --endpoints, with the operator certificate from --work-dir's PKI.
operator_session() { # work-dir service...
    local work="$1" index=0 service
    shift
    session_dir="$(mktemp -d)"
    session_pids=()
    local entries=()
    for service in "$@"; do
        local port=$((19440 + index))
        kube -n rampart port-forward "service/$service" "$port:9443" >/dev/null &
        session_pids+=($!)
        entries+=("\"$service\": \"https://localhost:$port\"")
        index=$((index + 1))
    done
    printf '{"regions": {"%s": {%s}}}\n' "$region" "$(IFS=,; echo "${entries[*]}")" >"$session_dir/endpoints.json"
    operator_options=(--endpoints "$session_dir/endpoints.json" --ca "$work/pki/ca.crt"
        --cert "$work/pki/operator-${RAMPART_OPERATOR:-${USER:-operator}}.crt" --key "$work/pki/operator-${RAMPART_OPERATOR:-${USER:-operator}}.key")
    sleep 2
}

end_operator_session() {
    local pid
    for pid in "${session_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$session_dir"
}
