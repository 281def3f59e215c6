#!/bin/sh
# Makes sure a NATS server with JetStream answers on 127.0.0.1:4222 (the JetStream door's
# tests and bench; CI and `npm test` on a Debian/Ubuntu box). Idempotent: does nothing when
# one already answers. As root it installs Debian's nats-server if missing and starts it
# (store in /var/lib/nats-server); otherwise it stops with one line saying what to run.
set -eu

NATS_BIN=${NATS_SERVER_PATH:-/usr/sbin/nats-server}
STORE=/var/lib/nats-server

answers() {
  node -e "const s=require('net').connect(4222,'127.0.0.1');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1000)"
}

answers && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "ensure-nats: no NATS server on 127.0.0.1:4222: run 'sudo sh scripts/ensure-nats.sh' (or start '$NATS_BIN -a 127.0.0.1 -p 4222 -js -sd <dir>')" >&2
  exit 1
fi
if [ ! -x "$NATS_BIN" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nats-server >/dev/null
fi
mkdir -p "$STORE"
start-stop-daemon --start --oknodo --background --exec "$NATS_BIN" -- \
  -a 127.0.0.1 -p 4222 -js -sd "$STORE"
i=0
until answers; do
  i=$((i + 1))
  if [ "$i" -gt 60 ]; then
    echo "ensure-nats: nats-server did not answer within 30 s" >&2
    exit 1
  fi
  sleep 0.5
done
echo "ensure-nats: NATS with JetStream is up on 127.0.0.1:4222"
