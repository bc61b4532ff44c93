#!/usr/bin/env bash
# Installs what newsalert needs to build, run and test, when it is missing:
# Debian packages (librdkafka, SQLite, kcat, iso-codes, Chromium and its driver, Postfix's smtp-sink, kubectl) and a
# Python virtualenv (.venv) holding the foreign peers the tests talk to.
# Usage: scripts/bootstrap.sh [build|test]   (build: only what `make serve` needs)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"

build_packages=(pkg-config librdkafka-dev libsqlite3-dev iso-codes)
test_packages=(kcat python3-venv chromium chromium-driver postfix kubectl pushpin)

packages=("${build_packages[@]}")
[ "$mode" = test ] && packages+=("${test_packages[@]}")

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks questions on install; answer "no configuration": tests only use its smtp-sink tool.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections 2>/dev/null || true
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$mode" = test ]; then
  requirements=Tests/peers/requirements.txt
  stamp=.venv/.requirements.sha256
  wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "bootstrap: preparing .venv with the test peers" >&2
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
  fi
fi
