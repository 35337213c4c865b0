#!/usr/bin/env bash
# Cancels a tenant in its region (docs/operations.md, "Cancel and purge a tenant"): nobody signs
# in any more, its data is kept through the grace period, reinstating is still possible. A
# tenant already cancelled is left as it is. With --purge it then purges the tenant (its rows in
# every service deleted, its data key destroyed, a signed deletion certificate in the audit log):
# refused by the backup service before the grace period is over unless --immediately.
#
#   Deploy/scripts/cancel-tenant.sh --region eu --context eu-prod --work-dir /secure/rampart --tenant acme [--purge [--immediately]] [--dry-run]
source "$(dirname "$0")/lib.sh"
parse_common "$@"
work_dir="" tenant="" purge=false immediately=false
set -- "${rest[@]+"${rest[@]}"}"
while (($#)); do
    case "$1" in
        --work-dir) work_dir="$2"; shift 2 ;;
        --tenant) tenant="$2"; shift 2 ;;
        --purge) purge=true; shift ;;
        --immediately) immediately=true; shift ;;
        *) die "unknown argument $1" ;;
    esac
done
[ -n "$work_dir" ] || die "--work-dir is required"
[[ "$tenant" =~ ^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$ ]] || die "--tenant must be a tenant slug"
if $immediately && ! $purge; then die "--immediately goes with --purge"; fi
guard_region

# The tenant's status in its region, from rampartctl tenant list (JSON).
tenant_status() {
    "$RAMPARTCTL" tenant list --region "$region" "${operator_options[@]}" | python3 -c '
import json, sys
slug = sys.argv[1]
listed = json.load(sys.stdin)
tenants = listed.get("tenants", listed) if isinstance(listed, dict) else listed
print(next((t.get("status", "") for t in tenants if t.get("slug") == slug), ""))' "$tenant"
}

cancel() {
    operator_session "$work_dir" identity
    trap end_operator_session RETURN
    local status
    status="$(tenant_status)"
    case "$status" in
        "") die "tenant $tenant does not live in region $region" ;;
        cancelled) echo "$script: tenant $tenant is already cancelled" ;;
        *) "$RAMPARTCTL" tenant cancel --region "$region" --slug "$tenant" "${operator_options[@]}" ;;
    esac
}

purge_tenant() {
    operator_session "$work_dir" identity backup
    trap end_operator_session RETURN
    local flags=()
    if $immediately; then flags+=(--immediately); fi
    "$RAMPARTCTL" tenant purge --region "$region" --slug "$tenant" "${flags[@]}" "${operator_options[@]}"
}

step "Cancel tenant $tenant in region $region (kept through the grace period, reinstatable)" cancel
if $purge && $immediately; then
    step "Purge tenant $tenant now, without the grace period: delete its rows in every service, destroy its data key, sign the deletion certificate (irreversible)" purge_tenant
elif $purge; then
    step "Purge tenant $tenant if its grace period is over (the backup service refuses otherwise): delete its rows, destroy its data key, sign the deletion certificate (irreversible)" purge_tenant
fi
run_plan
