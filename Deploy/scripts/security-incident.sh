#!/usr/bin/env bash
# First response to a security incident in one region (docs/operations.md, "Respond to a
# security incident"): preserve evidence, contain (stop the named services), communicate
# (a security incident on the public status page) and start the notification clock (GDPR
# Art. 33: the supervisory authority within 72 hours of becoming aware, where personal data of
# people in the EU or UK is affected). Each step records that it ran under --work-dir, so a
# re-run after an interruption does not post twice.
#
#   Deploy/scripts/security-incident.sh --region eu --context eu-prod --work-dir /secure/rampart \
#       --incident 2026-11-29-credential-leak --title "Investigating unauthorised access" \
#       --detected-at 2026-11-29T13:05:00Z [--stop tickets --stop gateway] [--dry-run]
source "$(dirname "$0")/lib.sh"
parse_common "$@"
work_dir="" incident="" title="" detected_at=""
stop_services=()
set -- "${rest[@]+"${rest[@]}"}"
while (($#)); do
    case "$1" in
        --work-dir) work_dir="$2"; shift 2 ;;
        --incident) incident="$2"; shift 2 ;;
        --title) title="$2"; shift 2 ;;
        --detected-at) detected_at="$2"; shift 2 ;;
        --stop) stop_services+=("$2"); shift 2 ;;
        *) die "unknown argument $1" ;;
    esac
done
[ -n "$work_dir" ] || die "--work-dir is required"
[[ "$incident" =~ ^[a-z0-9][a-z0-9-]{2,62}$ ]] || die "--incident must be an id of lowercase letters, digits and hyphens"
[ -n "$title" ] || die "--title (what the status page says) is required"
deadline="$(date -u -d "${detected_at:?--detected-at (when you became aware, UTC) is required} + 72 hours" +%Y-%m-%dT%H:%MZ 2>/dev/null)" \
    || die "--detected-at must be a time such as 2026-11-29T13:05:00Z"
for service in "${stop_services[@]+"${stop_services[@]}"}"; do
    [[ " gateway identity tickets audit backup status " == *" $service "* ]] || die "--stop: unknown service $service"
done
guard_region
record="$work_dir/incidents/$incident"

preserve_evidence() {
    mkdir -p "$record/logs"
    local service
    for service in gateway identity tickets audit backup status; do
        kube -n rampart logs "deployment/$service" --all-containers --timestamps --since=72h >"$record/logs/$service.log" 2>&1 || true
    done
    kube -n rampart get events -o wide >"$record/logs/events.txt" 2>&1 || true
}

# Stopped, not deleted: replicas go to zero (autoscaling stops with them); the previous count
# is kept in an annotation so recovery is `kubectl scale` back.
contain() {
    local service replicas
    for service in "${stop_services[@]}"; do
        replicas="$(kube -n rampart get "deployment/$service" -o 'jsonpath={.spec.replicas}')"
        [ "$replicas" = 0 ] && continue
        kube -n rampart annotate --overwrite "deployment/$service" "rampart.example.com/replicas-before-incident=$replicas"
        kube -n rampart scale "deployment/$service" --replicas=0
    done
}

communicate() {
    [ -f "$record/status-posted" ] && { echo "$script: already on the status page"; return; }
    operator_session "$work_dir" status
    trap end_operator_session RETURN
    "$RAMPARTCTL" status incident create --region "$region" "${operator_options[@]}" --security \
        --name "$title" --message "We are investigating a security incident in region $region and will post updates here." \
        --impact major --status investigating
    date -u +%Y-%m-%dT%H:%M:%SZ >"$record/status-posted"
}

start_notification_clock() {
    mkdir -p "$record"
    cat >"$record/notification.md" <<NOTE
# Incident $incident ($region)

- Became aware: $detected_at
- Supervisory authority notification due (GDPR Art. 33, where EU/UK personal data is affected): **$deadline**
- Affected tenants' controllers: without undue delay (we are their processor, Art. 33(2))
- The notification describes: the nature of the breach, categories and approximate numbers of
  people and records, likely consequences, measures taken or proposed, a contact point.
- Evidence: $record/logs/
NOTE
    cat "$record/notification.md"
}

step "Preserve the last 72 hours of logs and events in $record/logs" preserve_evidence
((${#stop_services[@]})) && step "Contain: stop ${stop_services[*]} (replicas to 0, previous count kept)" contain
step "Communicate: open a security incident on the public status page" communicate
step "Start the notification clock: authority due $deadline" start_notification_clock
run_plan
