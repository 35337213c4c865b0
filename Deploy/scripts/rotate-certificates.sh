#!/usr/bin/env bash
# Rotates this region's service certificates, or with --new-ca the internal CA itself
# (docs/operations.md, "Rotate the internal CA and service certificates"): reissues what is
# due in --work-dir's PKI, replaces each service's TLS Secret and restarts the services one
# rolling update at a time. Certificates still valid for 30 days are left alone, so a re-run
# only restarts. The services trust one CA: after --new-ca, rotate every region back to back;
# calls between a rotated and an unrotated region fail until both are done.
#
#   Deploy/scripts/rotate-certificates.sh --region eu --context eu-prod --work-dir /secure/rampart [--new-ca] [--dry-run]
source "$(dirname "$0")/lib.sh"
parse_common "$@"
work_dir="" new_ca=0
set -- "${rest[@]+"${rest[@]}"}"
while (($#)); do
    case "$1" in
        --work-dir) work_dir="$2"; shift 2 ;;
        --new-ca) new_ca=1; shift ;;
        *) die "unknown argument $1" ;;
    esac
done
[ -n "$work_dir" ] || die "--work-dir is required"
[ -f "$work_dir/pki/ca.crt" ] || die "no CA in $work_dir/pki (provision-region.sh creates it)"
guard_region
regions="$(sed -n 's/^RAMPART_REGIONS=//p' "$DEPLOY/kubernetes/base/config.env")"
internal_domain="$(cat "$DEPLOY/kubernetes/internal-domain")"
services=(gateway identity tickets audit backup status)
stamp="$(date -u +%Y%m%d)"

# The old CA moves aside (kept, dated) once per day; pki init then creates a new one and,
# since nothing is signed by it yet, reissues every certificate.
retire_ca() {
    [ -f "$work_dir/pki/ca-retired-$stamp.crt" ] && return
    mv "$work_dir/pki/ca.crt" "$work_dir/pki/ca-retired-$stamp.crt"
    mv "$work_dir/pki/ca.key" "$work_dir/pki/ca-retired-$stamp.key"
}

push_certificates() {
    local service tls
    for service in "${services[@]}"; do
        tls="$work_dir/regions/$region/tls/$service"
        mkdir -p "$tls"
        cp "$work_dir/pki/ca.crt" "$tls/ca.crt"
        cp "$work_dir/pki/$service-$region.crt" "$tls/tls.crt"
        cp "$work_dir/pki/$service-$region.key" "$tls/tls.key"
        apply_from_files secret "rampart-$service-tls" "$tls/ca.crt" "$tls/tls.crt" "$tls/tls.key"
    done
}

restart() {
    local service
    for service in "${services[@]}"; do
        kube -n rampart rollout restart "deployment/$service"
        kube -n rampart rollout status "deployment/$service" --timeout=10m
    done
}

((new_ca)) && step "Retire the current internal CA (kept as ca-retired-$stamp.*)" retire_ca
step "Issue what is missing or due (every certificate after a new CA)" \
    "$RAMPARTCTL" pki init --dir "$work_dir/pki" --regions "$regions" --internal-domain "$internal_domain" --operator "${RAMPART_OPERATOR:-${USER:-operator}}"
step "Replace each service's TLS Secret in region $region" push_certificates
step "Restart the services one rolling update at a time, waiting for readiness" restart
run_plan
