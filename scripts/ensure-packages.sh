#!/usr/bin/env bash
# ensure-packages.sh LABEL PACKAGE...: installs the Debian packages that are
# missing, asking dpkg first so a machine that has them all runs no
# apt-get (scripts/deps.sh and scripts/bench-deps.sh list theirs). LABEL
# prefixes the messages.
set -euo pipefail
label=$1; shift

missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "$label: all $# packages present"
  exit 0
fi

echo "$label: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
# A mirror caught mid-sync fails an index now and then (a security
# suite's, say): the update is tried again, and then the install goes on
# with the lists there are, failing only if a package is not in them.
for try in 1 2 3; do
  if $SUDO apt-get update -qq; then break; fi
  echo "$label: apt-get update failed (try $try of 3)" >&2
  sleep $((try * 5))
done
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
