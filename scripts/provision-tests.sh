#!/bin/sh
# Provisions what `npm test` needs beyond Node and the npm packages, so the README's test
# command works on a fresh machine and `.ci/run` is not the only place that knows:
#
#   tool          found at (override)                                     Debian package
#   chromium      /usr/bin/chromium (CHROMIUM_PATH)                       chromium        browser tests
#   promtool      /usr/bin/promtool (PROMTOOL_PATH)                       prometheus      GET /metrics format check
#   haproxy       /usr/sbin/haproxy (HAPROXY_PATH)                        haproxy         deploy/haproxy.cfg in front of a server
#   alertmanager  /usr/bin/prometheus-alertmanager (ALERTMANAGER_PATH)    prometheus-alertmanager
#                                                                          alert delivery tests
#   curl          /usr/bin/curl                                           curl            README's ingest examples, run as written
#   nats-server   /usr/sbin/nats-server (NATS_SERVER_PATH)                nats-server     cluster tests (a private
#                                                                          one when 127.0.0.1:4222 does not answer)
#
# A MySQL/MariaDB server is found (or started privately) by test/helpers/database.ts; a NATS
# server with JetStream on 127.0.0.1:4222 by scripts/ensure-nats.sh (installed and started as
# root, else one line saying how), which also puts nats-server where the tests that kill a
# private one (test/helpers/nats.ts) find it.
# Missing tools are installed with apt-get when this runs as root on Debian/Ubuntu;
# otherwise it stops with one line saying what to install. Nothing is skipped silently.
set -eu

sh "$(dirname "$0")/ensure-nats.sh"

missing=""
need() { # need <path> <override-var-value> <package>
  if [ -n "$2" ]; then
    [ -x "$2" ] && return 0
    echo "provision-tests: $2 (from the environment) is not an executable" >&2
    exit 1
  fi
  [ -x "$1" ] || missing="$missing $3"
}
need /usr/bin/chromium "${CHROMIUM_PATH:-}" chromium
need /usr/bin/promtool "${PROMTOOL_PATH:-}" prometheus
need /usr/sbin/haproxy "${HAPROXY_PATH:-}" haproxy
need /usr/bin/prometheus-alertmanager "${ALERTMANAGER_PATH:-}" prometheus-alertmanager
need /usr/bin/curl "" curl
need /usr/sbin/nats-server "${NATS_SERVER_PATH:-}" nats-server

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "provision-tests: installing${missing} (Debian packages, once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  exit 0
fi
echo "provision-tests: npm test needs${missing}: run 'sudo apt-get install -y${missing}' (or set CHROMIUM_PATH / PROMTOOL_PATH / HAPROXY_PATH / ALERTMANAGER_PATH / NATS_SERVER_PATH)" >&2
exit 1
