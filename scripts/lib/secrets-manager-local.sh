# shellcheck shell=bash
# A Secrets Manager endpoint on loopback for the tests of the cursor key reader (crates/cursor-key).
#
# AWS ships no local Secrets Manager, so this is moto's server, the implementation of the AWS APIs
# that the Python SDK's own test suites use, pinned and installed into .cache/moto-venv. The
# functions' SDK client reaches it through AWS_ENDPOINT_URL_SECRETS_MANAGER, exactly as it reaches
# the real service through its default endpoint.
#
# Source it; it only defines functions and never exits the calling shell by itself:
#
#   secrets_manager_local_install   creates .cache/moto-venv with the pinned moto (idempotent)
#   secrets_manager_local_start     starts it on a free 127.0.0.1 port, waits until it answers, and
#                                   exports AWS_ENDPOINT_URL_SECRETS_MANAGER
#   secrets_manager_local_stop      stops the instance this shell started (idempotent)

SECRETS_MANAGER_LOCAL_PACKAGE="moto[server,secretsmanager]==5.2.5"

_secrets_manager_local_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/lib/loopback.sh
source "$_secrets_manager_local_repo/scripts/lib/loopback.sh"
_secrets_manager_local_venv="$_secrets_manager_local_repo/.cache/moto-venv"

_secrets_manager_local_error() {
  printf 'secrets-manager-local: %s\n' "$*" >&2
}

secrets_manager_local_install() {
  local stamp="$_secrets_manager_local_venv/.rill-pin"
  if [[ -x "$_secrets_manager_local_venv/bin/moto_server" && -f "$stamp" &&
    "$(cat "$stamp")" == "$SECRETS_MANAGER_LOCAL_PACKAGE" ]]; then
    return 0
  fi
  printf 'secrets-manager-local: installing %s into .cache/moto-venv\n' "$SECRETS_MANAGER_LOCAL_PACKAGE" >&2
  python3 -m venv "$_secrets_manager_local_venv" || {
    _secrets_manager_local_error "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    return 1
  }
  "$_secrets_manager_local_venv/bin/pip" install --quiet --disable-pip-version-check \
    "$SECRETS_MANAGER_LOCAL_PACKAGE" >&2 || {
    _secrets_manager_local_error "pip could not install $SECRETS_MANAGER_LOCAL_PACKAGE"
    return 1
  }
  printf '%s\n' "$SECRETS_MANAGER_LOCAL_PACKAGE" >"$stamp"
}

secrets_manager_local_start() {
  if [[ -n "${SECRETS_MANAGER_LOCAL_PID:-}" ]] && kill -0 "$SECRETS_MANAGER_LOCAL_PID" 2>/dev/null; then
    _secrets_manager_local_error "already running (pid $SECRETS_MANAGER_LOCAL_PID); stop it first"
    return 1
  fi
  local logs="$_secrets_manager_local_repo/.local/secrets-manager-local" port pid waited
  mkdir -p "$logs" || return 1
  port="$(loopback_free_port)" || return 1
  "$_secrets_manager_local_venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$logs/$port.log" 2>&1 &
  pid=$!
  waited=0
  while ! loopback_answers "$port"; do
    if ! kill -0 "$pid" 2>/dev/null || ((waited >= 300)); then
      kill -9 "$pid" 2>/dev/null || true
      _secrets_manager_local_error "did not start; last lines of its log:"
      tail -n 20 "$logs/$port.log" >&2 || true
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  export SECRETS_MANAGER_LOCAL_PID="$pid"
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$port"
  printf 'Secrets Manager (moto) on %s (pid %s)\n' "$AWS_ENDPOINT_URL_SECRETS_MANAGER" "$pid" >&2
}

secrets_manager_local_stop() {
  local pid="${SECRETS_MANAGER_LOCAL_PID:-}"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    { kill "$pid" || true; wait "$pid" || true; } 2>/dev/null
  fi
  unset SECRETS_MANAGER_LOCAL_PID
}
