#!/usr/bin/env bash
# pgBackRest for a local PostgreSQL cluster started by postgres.sh: WAL archiving into two
# encrypted repositories, repo1 in-region (a directory next to the cluster, 35 days) and repo2
# off-site (S3-compatible object storage when an s3.env from offsite-s3.sh is given, otherwise a
# directory; 60 days), each with its own generated passphrase.
#
#   pgbackrest.sh configure <cluster-dir> <secrets-dir> <stanza> [<s3.env>]
#       write <cluster>/pgbackrest/pgbackrest.conf (mode 0600, the cluster owner's), turn on WAL
#       archiving (restarting the cluster when that changes), create or complete the stanza in
#       both repositories, and print the configuration file's path. Idempotent.
#
# The passphrases are generated once into <secrets-dir>/pgbackrest-repo{1,2}.pass (0600). Lose them
# and the backups are unreadable: production keeps them in the secret manager, apart from the data.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
action=${1:?usage: pgbackrest.sh configure <cluster-dir> <secrets-dir> <stanza> [<s3.env>]}
[ "$action" = configure ] || { echo "usage: pgbackrest.sh configure <cluster-dir> <secrets-dir> <stanza> [<s3.env>]" >&2; exit 2; }
requested_dir=${2:?cluster directory required}
secrets=${3:?secrets directory required}
stanza=${4:?stanza required}
s3_env=${5:-}

command -v pgbackrest >/dev/null || { echo "pgbackrest: not installed (make deps installs it)" >&2; exit 1; }
cluster=$("$root/Deploy/local/postgres.sh" location "$requested_dir")
data="$cluster/data"
[ -f "$data/PG_VERSION" ] || { echo "pgbackrest: no cluster in $cluster (start it with postgres.sh first)" >&2; exit 1; }
port=$(sed -n "s/^port = \([0-9]*\)$/\1/p" "$data/postgresql.conf" | tail -1)

as_owner() {
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
passphrase() {
    local file="$secrets/pgbackrest-$1.pass"
    [ -s "$file" ] || ( umask 077; head -c 48 /dev/urandom | base64 | tr -d '/+=\n' > "$file" )
    cat "$file"
}

home="$cluster/pgbackrest"
conf="$home/pgbackrest.conf"
mkdir -p "$home"/{repo1,repo2,log,lock,spool}
repo1_pass=$(passphrase repo1)
repo2_pass=$(passphrase repo2)
if [ -n "$s3_env" ]; then
    s3() { sed -n "s/^$1=//p" "$s3_env"; }
    repo2="repo2-type=s3
repo2-path=/$stanza
repo2-s3-bucket=$(s3 bucket)
repo2-s3-endpoint=$(s3 endpoint)
repo2-s3-region=$(s3 region)
repo2-s3-key=$(s3 key)
repo2-s3-key-secret=$(s3 secret)
repo2-s3-uri-style=path
repo2-storage-port=$(s3 port)
repo2-storage-ca-file=$(s3 ca_file)"
else
    repo2="repo2-type=posix
repo2-path=$home/repo2"
fi
( umask 077; cat >"$conf.new" <<CONF
# Written by Deploy/local/pgbackrest.sh; holds the repositories' passphrases (mode 0600).
[global]
repo1-path=$home/repo1
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$repo1_pass
repo1-retention-full-type=time
repo1-retention-full=35
repo1-bundle=y
$repo2
repo2-cipher-type=aes-256-cbc
repo2-cipher-pass=$repo2_pass
repo2-retention-full-type=time
repo2-retention-full=60
repo2-bundle=y
compress-type=lz4
start-fast=y
lock-path=$home/lock
log-path=$home/log
spool-path=$home/spool
log-level-console=warn
log-level-file=info

[$stanza]
pg1-path=$data
pg1-port=$port
pg1-socket-path=$cluster
pg1-user=postgres
CONF
)
mv "$conf.new" "$conf"
if [ "$(id -u)" = 0 ]; then chown -R postgres: "$home"; fi

# pgBackRest connects as the cluster owner over the Unix socket (peer authentication: only the
# OS account that owns the data files anyway); everything else keeps scram-sha-256.
restart=no
hba="$data/pg_hba.conf"
if ! grep -q '^local all postgres peer' "$hba"; then
    as_owner sh -c "{ echo 'local all postgres peer'; cat '$hba'; } > '$hba.new' && mv '$hba.new' '$hba'"
    restart=yes
fi
archive="$data/rampart-archive.conf"
wanted="archive_mode = on
archive_command = 'pgbackrest --config=$conf --stanza=$stanza archive-push %p'
archive_timeout = 60
wal_level = replica"
if [ "$(cat "$archive" 2>/dev/null)" != "$wanted" ]; then
    as_owner sh -c "printf '%s\n' \"\$1\" > '$archive'" sh "$wanted"
    grep -q "^include_if_exists = 'rampart-archive.conf'" "$data/postgresql.conf" \
        || as_owner sh -c "echo \"include_if_exists = 'rampart-archive.conf'\" >> '$data/postgresql.conf'"
    restart=yes
fi
if [ "$restart" = yes ]; then "$root/Deploy/local/postgres.sh" restart "$requested_dir"; fi
as_owner pgbackrest --config="$conf" --stanza="$stanza" stanza-create >/dev/null
as_owner pgbackrest --config="$conf" --stanza="$stanza" check >/dev/null
echo "$conf"
