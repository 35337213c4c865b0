#!/usr/bin/env bash
# Checks every deployment artefact without a cluster or a container runtime (docs/deployment.md
# says what this does and does not prove):
#   1. each Kubernetes overlay builds (kubectl kustomize), validates against the Kubernetes
#      schemas (kubernetes-validate --strict), and passes checkov (skips justified in
#      Deploy/kubernetes/checkov.yaml); the CloudNativePG resources, whose schemas are not
#      available offline, are checked for the fields the deployment relies on;
#      the one-off Jobs in Deploy/kubernetes/jobs are held to the same schema and checkov checks;
#   2. the Containerfile passes checkov's Dockerfile checks;
#   3. the systemd units, installed into a scratch root by Deploy/systemd/install.sh, pass
#      systemd-analyze verify with no complaint at all;
#   4. the rendered nftables rules parse (nft -c) together with the example host addresses.
#   5. the scanner is live: a copy of the base with the read-only root file system turned off
#      must fail checkov (a check that cannot fail proves nothing).
# A missing tool is a failure naming it (install with `make deps`), never a silent skip.
# `make test` runs it before the Swift suite, alone, since the validators are CPU-heavy.
#
#   Deploy/check/validate-deployment.sh <bin-dir> <scratch-dir>
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
deploy="$(dirname "$here")"
bin_dir="${1:?usage: validate-deployment.sh <bin-dir> <scratch-dir>}"
scratch="${2:?usage: validate-deployment.sh <bin-dir> <scratch-dir>}"
kubernetes_version=1.31.0
tools=/opt/rampart-deploy-tools/bin

fail() { echo "validate: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 is missing (run Deploy/local/install-deps.sh)"; }
for tool in kubectl systemd-analyze nft; do need "$tool"; done
for tool in kubernetes-validate checkov python; do
    [ -x "$tools/$tool" ] || fail "$tools/$tool is missing (run Deploy/local/install-deps.sh)"
done
rm -rf "$scratch"
mkdir -p "$scratch"

# 1. Kubernetes overlays.
for region in us eu uk; do
    rendered="$scratch/$region.yaml"
    kubectl kustomize "$deploy/kubernetes/overlays/$region" >"$rendered" || fail "overlay $region does not build"
    "$tools/kubernetes-validate" --strict --quiet -k "$kubernetes_version" "$rendered" >"$scratch/$region.schema.log" 2>&1 \
        || { cat "$scratch/$region.schema.log" >&2; fail "overlay $region does not match the Kubernetes $kubernetes_version schemas"; }
    # Only the two CloudNativePG kinds may lack a schema; anything else unknown is an error.
    if grep -v -E "Couldn't find schema for kind (Cluster|ScheduledBackup) with api version postgresql.cnpg.io/v1" "$scratch/$region.schema.log" | grep -q .; then
        cat "$scratch/$region.schema.log" >&2
        fail "overlay $region: unexpected schema warnings"
    fi
    "$tools/python" "$here/check-postgres.py" "$rendered" "$region" || fail "overlay $region: CloudNativePG cluster"
    (cd "$scratch" && "$tools/checkov" -f "$rendered" --config-file "$deploy/kubernetes/checkov.yaml" --skip-download >"$scratch/$region.checkov.log" 2>&1) \
        || { cat "$scratch/$region.checkov.log" >&2; fail "overlay $region fails checkov"; }
    echo "validate: overlay $region builds, matches the schemas, passes checkov"
done

# 1b. One-off Jobs the operator scripts apply (Deploy/kubernetes/jobs), held to the same checks.
for job in "$deploy"/kubernetes/jobs/*.yaml; do
    name="$(basename "$job" .yaml)"
    "$tools/kubernetes-validate" --strict --quiet -k "$kubernetes_version" "$job" >"$scratch/job-$name.schema.log" 2>&1 \
        || { cat "$scratch/job-$name.schema.log" >&2; fail "job $name does not match the Kubernetes $kubernetes_version schemas"; }
    (cd "$scratch" && "$tools/checkov" -f "$job" --config-file "$deploy/kubernetes/checkov.yaml" --skip-download >"$scratch/job-$name.checkov.log" 2>&1) \
        || { cat "$scratch/job-$name.checkov.log" >&2; fail "job $name fails checkov"; }
    echo "validate: job $name matches the schemas, passes checkov"
done

# 2. The Containerfile (checkov recognises it by the name Dockerfile).
mkdir -p "$scratch/image"
cp "$deploy/Containerfile" "$scratch/image/Dockerfile"
(cd "$scratch" && "$tools/checkov" -f "$scratch/image/Dockerfile" --framework dockerfile --compact --quiet --skip-download >"$scratch/image.checkov.log" 2>&1) \
    || { cat "$scratch/image.checkov.log" >&2; fail "the Containerfile fails checkov"; }
echo "validate: Containerfile passes checkov"

# 3. systemd units, as installed (systemd's own units beside them, for the dependencies).
root="$scratch/root"
"$deploy/systemd/install.sh" --root "$root" --bin-dir "$bin_dir" --link >/dev/null
mkdir -p "$root/usr/lib/systemd" "$root/usr/sbin"
cp -R /lib/systemd/system "$root/usr/lib/systemd/"
cp "$(command -v nft)" "$root/usr/sbin/nft"
units=(rampart-firewall.service rampart.target)
for service in gateway identity tickets audit backup status; do units+=("rampart@$service.service"); done
if ! output="$(systemd-analyze verify --root="$root" "${units[@]}" 2>&1)" || [ -n "$output" ]; then
    echo "$output" >&2
    fail "systemd-analyze verify complains about the units"
fi
echo "validate: ${#units[@]} systemd units pass systemd-analyze verify"

# 4. nftables: the rendered rules and the example host addresses parse as one transaction.
sed "s|/usr/share/rampart/nftables/rampart.nft|$deploy/systemd/nftables/rampart.nft|; s|/etc/rampart/hosts.nft|$deploy/systemd/nftables/hosts.nft.example|" \
    "$deploy/systemd/nftables/firewall.nft" >"$scratch/firewall.nft"
nft -c -f "$scratch/firewall.nft" || fail "the nftables rules do not parse"
echo "validate: nftables rules parse"

# 5. The scan can fail: one hardening setting removed from a copy of the Kubernetes tree.
weakened="$scratch/weakened"
cp -R "$deploy/kubernetes" "$weakened"
sed -i 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "$weakened/base/patches/service-pod.yaml"
kubectl kustomize "$weakened/overlays/eu" >"$scratch/weakened.yaml"
if (cd "$scratch" && "$tools/checkov" -f "$scratch/weakened.yaml" --config-file "$deploy/kubernetes/checkov.yaml" --skip-download >"$scratch/weakened.checkov.log" 2>&1); then
    fail "checkov passed a writable root file system: the scan is not working"
fi
grep -q CKV_K8S_22 "$scratch/weakened.checkov.log" || fail "checkov failed the weakened copy for another reason than CKV_K8S_22"
echo "validate: checkov refuses a writable root file system (the scan is live)"
echo "validate: all deployment checks passed"
