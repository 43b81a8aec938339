#!/usr/bin/env bash
# `make demo`: the emulated Entra ID, the demo app and Envoy (2 workers) with the filter in front.
# Ctrl-C (or SIGTERM) stops all three. Run through `make demo`, which builds everything first.
#
# Environment: ENVOY_BIN, ENTRA_WASM, BIN_DIR (where entra-emulator and demo-upstream are),
# DEMO_PORT (default 8080), EMULATOR_BIN / UPSTREAM_BIN to override single binaries.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENVOY_BIN="${ENVOY_BIN:-$ROOT/.venv/bin/envoy}"
ENTRA_WASM="${ENTRA_WASM:-$ROOT/target/wasm32-wasip1/release/entra_proxy_wasm.wasm}"
BIN_DIR="${BIN_DIR:-$ROOT/target/debug}"
EMULATOR_BIN="${EMULATOR_BIN:-$BIN_DIR/entra-emulator}"
UPSTREAM_BIN="${UPSTREAM_BIN:-$BIN_DIR/demo-upstream}"
DEMO_PORT="${DEMO_PORT:-8080}"
RUN="$ROOT/target/demo"
START_TIMEOUT_S=30

TENANT=11111111-1111-1111-1111-111111111111
CLIENT_ID=22222222-2222-2222-2222-222222222222
CLIENT_SECRET=test-client-secret

for f in "$ENVOY_BIN" "$ENTRA_WASM" "$EMULATOR_BIN" "$UPSTREAM_BIN"; do
  [ -e "$f" ] || { echo "demo: $f is missing; run \`make demo\`" >&2; exit 1; }
done

rm -rf "$RUN"
mkdir -p "$RUN"

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Give each a moment to exit cleanly, then make sure: nothing may outlive the demo.
  for _ in $(seq 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped (logs in $RUN)"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until file $1 is non-empty while process $2 is alive; bounded.
wait_for_file() {
  local file="$1" pid="$2" what="$3"
  for _ in $(seq $((START_TIMEOUT_S * 10))); do
    [ -s "$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "demo: $what exited; its log:" >&2; tail -n 20 "$RUN/$what.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "demo: $what did not start within ${START_TIMEOUT_S}s" >&2
  exit 1
}

# GET http://127.0.0.1:$1$2 with bash's /dev/tcp (no curl needed); prints the status line.
http_status() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
  IFS= read -r line <&3 || true
  exec 3<&-
  printf '%s\n' "$line"
}

"$EMULATOR_BIN" --port 0 --port-file "$RUN/emulator.port" >"$RUN/emulator.log" 2>&1 &
PIDS+=($!)
wait_for_file "$RUN/emulator.port" "$!" emulator
EMULATOR_PORT="$(tr -d '[:space:]' <"$RUN/emulator.port")"

"$UPSTREAM_BIN" --port 0 --port-file "$RUN/upstream.port" >"$RUN/upstream.log" 2>&1 &
PIDS+=($!)
wait_for_file "$RUN/upstream.port" "$!" upstream
UPSTREAM_PORT="$(tr -d '[:space:]' <"$RUN/upstream.port")"

# A fresh cookie secret per run: sessions from an earlier demo do not carry over.
COOKIE_SECRET="$(head -c 32 /dev/urandom | base64 -w0)"
ISSUER="http://127.0.0.1:$EMULATOR_PORT/$TENANT/v2.0"
PLUGIN_CONFIG="{\"provider\":\"oidc\",\"oidc_issuer_url\":\"$ISSUER\",\"client_id\":\"$CLIENT_ID\",\
\"client_secret\":\"$CLIENT_SECRET\",\"cookie_secret\":\"$COOKIE_SECRET\",\"cookie_secure\":false,\
\"email_domains\":[\"*\"],\"clusters\":{\"127.0.0.1:$EMULATOR_PORT\":\"entra\"}}"

# Fill the template. The replacements are quoted, so '&' and '\' in them stay literal.
yaml="$(<"$ROOT/envoy-config/demo.yaml")"
yaml="${yaml//'${DEMO_PORT}'/"$DEMO_PORT"}"
yaml="${yaml//'${UPSTREAM_PORT}'/"$UPSTREAM_PORT"}"
yaml="${yaml//'${EMULATOR_PORT}'/"$EMULATOR_PORT"}"
yaml="${yaml//'${WASM_PATH}'/"$ENTRA_WASM"}"
yaml="${yaml//'${PLUGIN_CONFIG}'/"$PLUGIN_CONFIG"}"
printf '%s\n' "$yaml" >"$RUN/envoy.yaml"

"$ENVOY_BIN" -c "$RUN/envoy.yaml" --concurrency 2 --use-dynamic-base-id \
  --admin-address-path "$RUN/admin-address" -l info --log-path "$RUN/envoy.log" \
  --file-flush-interval-msec 500 </dev/null 2>"$RUN/envoy.stderr.log" &
ENVOY_PID=$!
PIDS+=("$ENVOY_PID")
wait_for_file "$RUN/admin-address" "$ENVOY_PID" envoy
ADMIN_PORT="$(sed 's/.*://' "$RUN/admin-address")"
ready=""
for _ in $(seq $((START_TIMEOUT_S * 10))); do
  kill -0 "$ENVOY_PID" 2>/dev/null || break
  case "$(http_status "$ADMIN_PORT" /ready 2>/dev/null || true)" in *" 200 "*) ready=1; break ;; esac
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "demo: envoy did not become ready; its log:" >&2
  tail -n 30 "$RUN/envoy.log" "$RUN/envoy.stderr.log" >&2 || true
  exit 1
fi

cat <<EOF

  entra-proxy-wasm demo is running

    open      http://127.0.0.1:$DEMO_PORT/
    sign in   alice@contoso.example / alice-password  (emulated Entra ID at http://127.0.0.1:$EMULATOR_PORT)
    sign out  http://127.0.0.1:$DEMO_PORT/oauth2/sign_out
    admin     http://127.0.0.1:$ADMIN_PORT/stats?filter=wasmcustom
    logs      $RUN/

  Ctrl-C stops everything.

EOF

# Until Ctrl-C, or until one of the three dies (then the others are stopped too).
set +e
wait -n "${PIDS[@]}"
status=$?
set -e
echo "demo: stopping (a process exited with status $status)" >&2
exit 1
