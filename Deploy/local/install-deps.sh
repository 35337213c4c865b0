#!/usr/bin/env bash
# Installs the Debian packages Rampart needs to build, run and test, if any is missing.
# Works as root, or as a user with sudo. Swift itself is expected on PATH.
set -euo pipefail

packages=(postgresql postgresql-client libargon2-dev libxmlsec1-dev xmlsec1 pkg-config pgbackrest socat)
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

command -v swift >/dev/null || { echo "install-deps: swift is not on PATH (Swift 6.1 or newer is required)" >&2; exit 1; }
