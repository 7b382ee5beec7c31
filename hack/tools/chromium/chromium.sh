#!/usr/bin/env bash
# Prints the path of Debian's headless-capable Chromium, installing it through apt when missing:
# the dashboard's browser tests drive it with puppeteer-core (whose own browser download is not
# reachable here). apt keeps the downloaded .deb files in its cache, so a second install is local.
set -euo pipefail
for name in chromium chromium-browser; do
  if path=$(command -v "$name"); then echo "$path"; exit 0; fi
done
echo "installing Debian's chromium (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq chromium >&2
command -v chromium
