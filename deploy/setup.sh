#!/usr/bin/env bash
# What `make prod` needs from the system: Debian's nginx (run by make prod as the current user,
# never as the system service). PostgreSQL and Redis are expected to be running already.
set -euo pipefail
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx
fi
