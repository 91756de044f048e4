# shellcheck shell=bash
# Starts and stops rill-gateway on a free loopback port for script-level tests.
#
# Source it after scripts/lib/log.sh; it only defines functions. Call them directly (not in `$(...)`):
# they set variables in the calling shell.
#
#   local_gateway_start BIN_DIR LOG -- GATEWAY_FLAGS...
#                          starts BIN_DIR/rill-gateway with --port 0 and the given flags, waits until it
#                          listens, and sets LOCAL_GATEWAY_URL (stage included) and LOCAL_GATEWAY_PID;
#                          prints the log and dies when it does not start
#   local_gateway_stop     stops the gateway this shell started (idempotent; call it from an EXIT trap)

local_gateway_start() {
  local bin_dir="$1" log="$2"
  shift 2
  [[ "${1:-}" == "--" ]] && shift
  RUST_LOG=warn RILL_GATEWAY_LOG=warn "$bin_dir/rill-gateway" \
    --template template.yaml --bin-dir "$bin_dir" --port 0 "$@" >"$log" 2>&1 &
  LOCAL_GATEWAY_PID=$!
  LOCAL_GATEWAY_URL=""
  local _
  for _ in $(seq 1 300); do
    if grep -q '^Listening on' "$log"; then
      LOCAL_GATEWAY_URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*/[A-Za-z0-9_]*' "$log" | head -n 1)"
      break
    fi
    kill -0 "$LOCAL_GATEWAY_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$LOCAL_GATEWAY_URL" ]]; then
    cat "$log" >&2
    local_gateway_stop
    die "the local gateway did not start"
  fi
}

local_gateway_stop() {
  local pid="${LOCAL_GATEWAY_PID:-}"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  LOCAL_GATEWAY_PID=""
}
