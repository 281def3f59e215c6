#!/bin/sh
# Makes sure a MariaDB server is installed and answering on 127.0.0.1:3306 (for CI and
# `npm test` on a Debian/Ubuntu box). Idempotent: does nothing when one already answers.
set -eu

if mariadb-admin --protocol=tcp -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
  exit 0
fi
if [ ! -x /usr/sbin/mariadbd ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q mariadb-server
fi
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld 2>/dev/null || true
start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
i=0
until mariadb-admin --protocol=tcp -h 127.0.0.1 -uroot ping >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 60 ]; then
    echo "ensure-mariadb: mariadbd did not answer within 30 s" >&2
    exit 1
  fi
  sleep 0.5
done
echo "ensure-mariadb: MariaDB is up on 127.0.0.1:3306"
