#!/usr/bin/env bash
# Installs the Debian packages Rampart needs to build, run and test, if any is missing.
# Works as root, or as a user with sudo. Swift itself is expected on PATH.
set -euo pipefail

# gdb and procps: the test watchdog prints the stacks of a test run that stopped making progress.
# chromium and chromium-driver: the browser suite (Tests/RampartTests/Web, docs/web.md).
packages=(postgresql postgresql-client libargon2-dev libxmlsec1-dev xmlsec1 pkg-config pgbackrest socat nftables iproute2 curl gdb procps
          chromium chromium-driver)
# kubectl (its built-in kustomize renders the overlays) comes with the machine image; Debian's own
# package is the fallback, though its kustomize may be too old (Deploy/check says so if it is).
command -v kubectl >/dev/null || packages+=(kubernetes-client)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The local stand-in for off-site S3 storage (pgBackRest's repo2 in tests).
if ! command -v moto_server >/dev/null; then
    echo "install-deps: installing moto[server] (local S3 for off-site backups)"
    python3 -m pip install -q "moto[server]" 2>/dev/null || python3 -m pip install -q --break-system-packages "moto[server]"
fi

# Audit's GeoIP tests write a small MaxMind DB with mmdb-writer and read it back with MaxMind's
# reference reader (maxminddb) to check audit's own reader against it.
if ! python3 -c "import mmdb_writer, maxminddb" 2>/dev/null; then
    echo "install-deps: installing mmdb-writer and maxminddb (GeoIP test databases)"
    python3 -m pip install -q mmdb-writer maxminddb 2>/dev/null || python3 -m pip install -q --break-system-packages mmdb-writer maxminddb
fi

# The browser suite drives Chromium with Selenium's WebDriver client.
if ! python3 -c "import selenium" 2>/dev/null; then
    echo "install-deps: installing selenium (browser suite)"
    python3 -m pip install -q selenium 2>/dev/null || python3 -m pip install -q --break-system-packages selenium
fi

# The deployment checks' validators (Deploy/check/validate-deployment.sh), in a virtual environment
# of their own: checkov pins versions (boto3, botocore) that must not replace the system's.
tools=/opt/rampart-deploy-tools
if [ ! -x "$tools/bin/checkov" ] || [ ! -x "$tools/bin/kubernetes-validate" ]; then
    echo "install-deps: installing kubernetes-validate and checkov into $tools"
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install -q kubernetes-validate checkov
fi

command -v swift >/dev/null || { echo "install-deps: swift is not on PATH (Swift 6.1 or newer is required)" >&2; exit 1; }
