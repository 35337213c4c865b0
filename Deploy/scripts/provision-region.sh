#!/usr/bin/env bash
# Brings up one region on its own, empty Kubernetes cluster (docs/operations.md, "Provision a
# region"): certificates and keys, the PostgreSQL cluster, the region database with every
# service's schema and roles, each service's Secrets, then the services, waiting until every
# one is ready. Re-running it completes a half-done provisioning and changes nothing otherwise.
#
#   Deploy/scripts/provision-region.sh --region eu --context eu-prod --work-dir /secure/rampart \
#       --internal-domain internal.rampart.example.com --public-cert edge.crt --public-key edge.key \
#       --backup-credentials bucket.env [--dry-run]
#
# bucket.env holds ACCESS_KEY_ID=… and ACCESS_SECRET_KEY=… for the region's backup bucket.
#
# --work-dir keeps the internal CA, the region's keys and generated database passwords on the
# operator's secured workstation (never in the repository); the CloudNativePG operator must
# already run in the cluster.
source "$(dirname "$0")/lib.sh"
parse_common "$@"
work_dir="" internal_domain="" public_cert="" public_key="" backup_credentials=""
set -- "${rest[@]+"${rest[@]}"}"
while (($#)); do
    case "$1" in
        --work-dir) work_dir="$2"; shift 2 ;;
        --internal-domain) internal_domain="$2"; shift 2 ;;
        --public-cert) public_cert="$2"; shift 2 ;;
        --public-key) public_key="$2"; shift 2 ;;
        --backup-credentials) backup_credentials="$2"; shift 2 ;;
        *) die "unknown argument $1" ;;
    esac
done
[ -n "$work_dir" ] || die "--work-dir is required"
[ -n "$internal_domain" ] || die "--internal-domain is required (cross-region service names)"
[ -n "$public_cert" ] && [ -n "$public_key" ] || die "--public-cert and --public-key (the edge certificate) are required"
[ -n "$backup_credentials" ] || die "--backup-credentials (ACCESS_KEY_ID and ACCESS_SECRET_KEY of the backup bucket) is required"
overlay="$DEPLOY/kubernetes/overlays/$region"
[ -d "$overlay" ] || die "no overlay for region $region (add it with add-region.sh first)"
regions="$(sed -n 's/^RAMPART_REGIONS=//p' "$DEPLOY/kubernetes/base/config.env")"
[[ ",$regions," == *",$region,"* ]] || die "region $region is not in RAMPART_REGIONS ($regions)"
guard_region new
if ((!dry_run)) && ! kube get crd clusters.postgresql.cnpg.io >/dev/null 2>&1; then
    die "refusing: the CloudNativePG operator is not installed in this cluster (docs/deployment.md)"
fi

region_dir="$work_dir/regions/$region"
services=(gateway identity tickets audit backup status)

# The PostgreSQL superuser's password, generated once; CloudNativePG reads it from this Secret.
superuser_secret() {
    kube -n rampart get secret rampart-db-superuser >/dev/null 2>&1 && return
    local password
    password="$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)"
    kube -n rampart create secret generic rampart-db-superuser --type=kubernetes.io/basic-auth \
        --from-literal=username=postgres --from-literal=password="$password" >/dev/null
}

# rampartctl db provision through a port-forward to the cluster's primary; passwords of the
# generated roles stay in the work directory.
provision_database() {
    local port=15432 password url_file="$region_dir/superuser.url"
    password="$(kube -n rampart get secret rampart-db-superuser -o 'jsonpath={.data.password}' | base64 -d)"
    umask 077
    printf 'postgres://postgres:%s@127.0.0.1:%s/postgres?sslmode=require\n' "$password" "$port" >"$url_file"
    kube -n rampart port-forward service/rampart-db-rw "$port:5432" >/dev/null &
    local forward=$!
    trap 'kill $forward 2>/dev/null' RETURN
    sleep 3
    "$RAMPARTCTL" db provision --superuser-url-file "$url_file" --region "$region" --secrets-dir "$region_dir/db"
}

# One Secret per service: config.env with its database URLs (the in-cluster primary, TLS
# verified against CloudNativePG's CA) and the key files it reads; its TLS certificate apart.
service_secrets() {
    local service database="rampart_$region" host="rampart-db-rw.rampart.svc"
    for service in "${services[@]}"; do
        local dir="$region_dir/secrets/$service"
        mkdir -p "$dir"
        umask 077
        : >"$dir/config.env"
        if [ "$service" != gateway ]; then
            local app owner
            app="$(cat "$region_dir/db/rampart_${service}_${region}_app.password")"
            owner="$(cat "$region_dir/db/rampart_${service}_${region}_owner.password")"
            printf 'RAMPART_DATABASE_URL=postgres://rampart_%s_%s_app:%s@%s:5432/%s?sslmode=require\n' "$service" "$region" "$app" "$host" "$database" >>"$dir/config.env"
            printf 'RAMPART_MIGRATION_DATABASE_URL=postgres://rampart_%s_%s_owner:%s@%s:5432/%s?sslmode=require\n' "$service" "$region" "$owner" "$host" "$database" >>"$dir/config.env"
        fi
        case "$service" in
            identity|tickets|backup)
                local relay
                relay="$(cat "$region_dir/db/rampart_${service}_${region}_relay.password")"
                printf 'RAMPART_OUTBOX_DATABASE_URL=postgres://rampart_%s_%s_relay:%s@%s:5432/%s?sslmode=require\n' "$service" "$region" "$relay" "$host" "$database" >>"$dir/config.env"
                echo "RAMPART_AUDIT_URL=https://audit:9443" >>"$dir/config.env" ;;
        esac
        local files=("$dir/config.env")
        case "$service" in
            identity)
                cp "$region_dir/keys/principal-signing.json" "$region_dir/keys/api-key-hash.key" "$dir/"
                files+=("$dir/principal-signing.json" "$dir/api-key-hash.key") ;;
            audit)
                cp "$region_dir/keys/audit-checkpoint.json" "$dir/"
                files+=("$dir/audit-checkpoint.json") ;;
            backup)
                # Signs the deletion certificates of tenant purges.
                cp "$region_dir/keys/deletion-certificate.json" "$dir/"
                files+=("$dir/deletion-certificate.json") ;;
        esac
        apply_from_files secret "rampart-$service" "${files[@]}"
        local tls="$region_dir/tls/$service"
        mkdir -p "$tls"
        cp "$work_dir/pki/ca.crt" "$tls/ca.crt"
        cp "$work_dir/pki/$service-$region.crt" "$tls/tls.crt"
        cp "$work_dir/pki/$service-$region.key" "$tls/tls.key"
        apply_from_files secret "rampart-$service-tls" "$tls/ca.crt" "$tls/tls.crt" "$tls/tls.key"
    done
    apply_from_files secret rampart-kek "$region_dir/keys/kek.json"
    cp "$region_dir/keys/principal-jwks.json" "$region_dir/jwks.json"
    apply_from_files configmap rampart-principal-keys "$region_dir/jwks.json"
    kube -n rampart create secret tls rampart-gateway-public-tls --cert "$public_cert" --key "$public_key" --dry-run=client -o yaml | kube apply -f - >/dev/null
}

backup_secret() {
    kube -n rampart create secret generic rampart-db-backup-s3 --from-env-file="$backup_credentials" --dry-run=client -o yaml | kube apply -f - >/dev/null
}

wait_ready() {
    kube -n rampart wait --for=condition=Ready cluster/rampart-db --timeout=20m
}

rollout() {
    local service
    for service in "${services[@]}"; do kube -n rampart rollout status "deployment/$service" --timeout=10m; done
}

step "Issue the internal CA (once) and every region's service certificates" \
    "$RAMPARTCTL" pki init --dir "$work_dir/pki" --regions "$regions" --internal-domain "$internal_domain" --operator "${USER:-operator}"
step "Create region $region's keys (principal signing, API-key hashing, audit checkpoints, deletion certificates, key-encryption) once" \
    "$RAMPARTCTL" keys init --dir "$region_dir/keys"
step "Create the namespace" kube apply -f "$DEPLOY/kubernetes/base/namespace.yaml"
step "Generate the PostgreSQL superuser password (once)" superuser_secret
step "Store the backup bucket's credentials (rampart-db-backup-s3)" backup_secret
step "Apply overlay $region (services, network policies, PostgreSQL cluster)" kube apply -k "$overlay"
step "Wait until the three PostgreSQL instances are ready" wait_ready
step "Provision database rampart_$region: schemas and least-privilege roles per service" provision_database
step "Store each service's configuration, keys and certificates as Secrets" service_secrets
step "Wait until every service is rolled out and ready" rollout
run_plan
