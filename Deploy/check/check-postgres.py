"""Checks a rendered overlay's CloudNativePG resources, whose CRD schemas are not available
offline: three instances spread across zones (required anti-affinity), synchronous standby,
35-day backups to this region's own bucket, a daily scheduled backup of that cluster."""
import sys

import yaml

rendered, region = sys.argv[1], sys.argv[2]
documents = [d for d in yaml.safe_load_all(open(rendered)) if d]
by_kind = {}
for document in documents:
    if document.get("apiVersion") == "postgresql.cnpg.io/v1":
        by_kind.setdefault(document["kind"], []).append(document)
problems = []
clusters = by_kind.get("Cluster", [])
if len(clusters) != 1:
    problems.append(f"expected one Cluster, found {len(clusters)}")
else:
    spec = clusters[0]["spec"]
    if spec.get("instances") != 3:
        problems.append("instances must be 3")
    affinity = spec.get("affinity", {})
    if affinity.get("topologyKey") != "topology.kubernetes.io/zone" or affinity.get("podAntiAffinityType") != "required":
        problems.append("instances must be spread across zones (required anti-affinity on topology.kubernetes.io/zone)")
    if spec.get("minSyncReplicas", 0) < 1:
        problems.append("at least one synchronous standby")
    store = spec.get("backup", {}).get("barmanObjectStore", {})
    if store.get("destinationPath") != f"s3://rampart-{region}-backups/":
        problems.append(f"backups must go to the region's bucket, not {store.get('destinationPath')}")
    if spec.get("backup", {}).get("retentionPolicy") != "35d":
        problems.append("backup retention must be 35d")
    for part in ("wal", "data"):
        if store.get(part, {}).get("encryption") != "AES256":
            problems.append(f"{part} backups must be encrypted")
    for key in ("accessKeyId", "secretAccessKey"):
        if "name" not in store.get("s3Credentials", {}).get(key, {}):
            problems.append(f"{key} must reference a Secret")
scheduled = by_kind.get("ScheduledBackup", [])
if not scheduled or scheduled[0]["spec"].get("cluster", {}).get("name") != "rampart-db":
    problems.append("a ScheduledBackup of rampart-db is required")
for problem in problems:
    print(f"check-postgres: {region}: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
