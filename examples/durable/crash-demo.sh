#!/usr/bin/env bash
# Runs the order workflow, kills its scheduler with kill -9 after N worker
# actions, resumes it on another scheduler, and shows that every order
# ended consistent (shipped, declined, or fully compensated) with each
# action done once.
#
#   examples/durable/crash-demo.sh [N] [ORDERS]     (defaults: 6 actions, 8 orders)
#
# SHOP_DELAY_MS sets how long each worker action takes (default 100).
#
# Needs nats-server and a Python with nats-py and msgpack: those of .venv
# (bash scripts/setup-test-env), else $NATS_SERVER_BIN / $PYTHON, else the
# PATH. Uses target/debug/calf (cargo build -p calf-repl), else $CALF, else
# calf on the PATH. Everything it starts is stopped when it exits.

set -euo pipefail

N=${1:-6}
ORDERS=${2:-8}
LEASE_MS=2000
DELAY_MS=${SHOP_DELAY_MS:-100}
DECLINED=order-2
OUT_OF_STOCK=order-4
UNDELIVERABLE=order-7

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pick() { # the first of the candidates that is an executable file or on the PATH
  for c in "$@"; do
    if [ -n "$c" ] && { [ -x "$c" ] || command -v "$c" >/dev/null 2>&1; }; then
      echo "$c"; return; fi
  done
  echo "crash-demo: cannot find any of: $*" >&2; exit 1
}
NATS=$(pick "${NATS_SERVER_BIN:-}" "$root/.venv/bin/nats-server" nats-server)
PY=$(pick "${PYTHON:-}" "$root/.venv/bin/python" python3)
CALF=$(pick "${CALF:-}" "$root/target/debug/calf" calf)

dir=$(mktemp -d "${TMPDIR:-/tmp}/calf-crash-demo.XXXXXX")
pids=()
cleanup() {
  # Last started, first stopped: the workers drain their subscriptions
  # while nats-server still runs.
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT

# Waits until "$@" succeeds, for at most a minute.
wait_for() {
  local what=$1; shift
  for _ in $(seq 6000); do "$@" && return; sleep 0.01; done
  echo "crash-demo: gave up waiting for $what" >&2; exit 1
}
count() { grep -c "$1" "$dir/shop.log" 2>/dev/null || true; }
every_order_asked() { # every order has sent its first call: all are spawned
  [ "$(grep '"asked"' "$dir/shop.log" | grep -c '"billing.charge"')" -ge "$ORDERS" ]
}
acted_at_least() { [ "$(count '"acted"')" -ge "$1" ]; }

echo "== 1. nats-server with JetStream, storing in a fresh directory"
"$NATS" -a 127.0.0.1 -p -1 -js -sd "$dir/js" 2>"$dir/nats.log" &
pids+=($!)
port_known() { grep -q "Listening for client connections on" "$dir/nats.log"; }
wait_for "nats-server to listen" port_known
URL="nats://$(grep -o 'client connections on [0-9.:]*' "$dir/nats.log" | awk '{print $4}')"
echo "   $URL"

echo "== 2. the shop's workers (examples/durable/shop.py): billing, stock, shipping"
echo "   refusing on purpose: the card of $DECLINED, the stock of $OUT_OF_STOCK,"
echo "   the delivery of $UNDELIVERABLE; each action takes $DELAY_MS ms"
"$PY" -u "$here/shop.py" "$URL" "$dir/shop.log" --delay-ms "$DELAY_MS" --declined "$DECLINED" \
  --out-of-stock "$OUT_OF_STOCK" --undeliverable "$UNDELIVERABLE" >"$dir/shop.out" 2>&1 &
pids+=($!)
wait_for "the workers to serve" grep -q serving "$dir/shop.out"

echo "== 3. calf runs order.calf as scheduler shop-a: $ORDERS orders, each a durable process"
"$CALF" --nats "$URL" --durable shop-a --lease-ms "$LEASE_MS" "$here/order.calf" "$ORDERS" \
  >"$dir/first.out" 2>"$dir/first.err" &
calf=$!
pids+=($calf)
# An order not spawned yet when calf dies is never taken: the kill waits
# for every order to have asked for its charge, which shows it was spawned
# (and so stored: spawn-durable returns once the store has the process).
calf_ended() { ! kill -0 "$calf" 2>/dev/null; }
reached() { calf_ended || { acted_at_least "$N" && every_order_asked; }; }
wait_for "$N worker actions" reached
if calf_ended; then
  echo "   calf ended before $N actions: nothing to crash (the workflow takes fewer)"
else
  kill -9 "$calf"
  wait "$calf" 2>/dev/null || true
  crash_line=$(wc -l <"$dir/shop.log")
  echo "== 4. kill -9 of calf after $(count '"acted"') worker actions; what the workers had done:"
  "$PY" "$here/report.py" actions "$dir/shop.log" 1 "$crash_line"
  echo "   what calf printed before it died:"
  sed 's/^/     /' "$dir/first.out"

  echo "== 5. calf --resume as scheduler shop-b: it waits for shop-a's lease ($LEASE_MS ms)"
  echo "   to lapse, takes every saved order over, and runs them until none is left"
  started=$(date +%s%N)
  "$CALF" --nats "$URL" --durable shop-b --lease-ms "$LEASE_MS" --resume | sed 's/^/     /'
  echo "   resumed and finished in $(( ($(date +%s%N) - started) / 1000000 )) ms"
  echo "   what the workers did after the crash (a call sent again after the restore"
  echo "   has the same Calf-Call-Id and a later Calf-Attempt):"
  "$PY" "$here/report.py" actions "$dir/shop.log" $((crash_line + 1))
fi

echo "== 6. every order's final state, from the workers' log"
"$PY" "$here/report.py" summary "$dir/shop.log" "$ORDERS" --declined "$DECLINED" \
  --out-of-stock "$OUT_OF_STOCK" --undeliverable "$UNDELIVERABLE"
