#!/usr/bin/env bash
# A restore drill for one region (docs/operations.md, "Run a restore drill"): recovers the
# region's PostgreSQL from its object-storage backups into a separate, temporary cluster
# (rampart-db-drill; the live cluster is never touched), to the latest WAL or --target-time,
# checks the recovered database is this region's (rampart.region) with every service's schema,
# reports how long recovery took, and removes the drill cluster. A re-run starts from a clean
# drill cluster.
#
#   Deploy/scripts/restore-drill.sh --region eu --context eu-prod [--target-time 2026-11-28T23:00:00Z] [--dry-run]
source "$(dirname "$0")/lib.sh"
parse_common "$@"
target_time=""
set -- "${rest[@]+"${rest[@]}"}"
while (($#)); do
    case "$1" in
        --target-time) target_time="$2"; shift 2 ;;
        *) die "unknown argument $1" ;;
    esac
done
if [ -n "$target_time" ]; then
    date -u -d "$target_time" >/dev/null 2>&1 || die "--target-time must be a time such as 2026-11-28T23:00:00Z"
fi
guard_region
drill=rampart-db-drill

remove_drill() {
    kube -n rampart delete cluster "$drill" --ignore-not-found --wait=true
}

# The drill cluster: one instance bootstrapped by recovery from the live cluster's backups
# (same bucket and credentials, read through externalClusters).
create_drill() {
    local destination
    destination="$(kube -n rampart get cluster rampart-db -o 'jsonpath={.spec.backup.barmanObjectStore.destinationPath}')"
    [ -n "$destination" ] || die "cluster rampart-db has no backup destination"
    kube -n rampart apply -f - <<MANIFEST
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $drill
  labels:
    rampart.example.com/drill: "true"
spec:
  instances: 1
  imageName: $(kube -n rampart get cluster rampart-db -o 'jsonpath={.spec.imageName}')
  storage:
    storageClass: rampart-db
    size: 100Gi
  bootstrap:
    recovery:
      source: rampart-db-backups
$([ -n "$target_time" ] && printf '      recoveryTarget:\n        targetTime: "%s"\n' "$target_time")
  externalClusters:
    - name: rampart-db-backups
      barmanObjectStore:
        destinationPath: $destination
        serverName: rampart-db
        s3Credentials:
          accessKeyId: {name: rampart-db-backup-s3, key: ACCESS_KEY_ID}
          secretAccessKey: {name: rampart-db-backup-s3, key: ACCESS_SECRET_KEY}
        wal:
          encryption: AES256
        data:
          encryption: AES256
MANIFEST
    drill_started=$SECONDS
}

wait_recovered() {
    kube -n rampart wait --for=condition=Ready "cluster/$drill" --timeout=120m
    echo "$script: recovered in $(((SECONDS - ${drill_started:-$SECONDS}) / 60)) minute(s)"
}

check_drill() {
    local region_setting schemas
    region_setting="$(kube -n rampart exec "$drill-1" -c postgres -- psql -tA -d "rampart_$region" -c "SELECT current_setting('rampart.region', true)")"
    [ "$region_setting" = "$region" ] || die "the recovered database records region '$region_setting', not $region"
    schemas="$(kube -n rampart exec "$drill-1" -c postgres -- psql -tA -d "rampart_$region" -c \
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name IN ('identity','tickets','audit','backup','status')")"
    [ "$schemas" = 5 ] || die "the recovered database has $schemas of the 5 service schemas"
    echo "$script: recovered database rampart_$region is region $region with every service schema"
}

step "Remove a drill cluster left by an earlier run" remove_drill
step "Create $drill, recovering from the region's backups${target_time:+ to $target_time}" create_drill
step "Wait until recovery finishes (reports the time it took)" wait_recovered
step "Check the recovered database" check_drill
step "Remove the drill cluster" remove_drill
run_plan
