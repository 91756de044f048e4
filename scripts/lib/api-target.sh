# shellcheck shell=bash
# Which running stage a script talks to, in which AWS Region, with which credentials: one answer for
# scripts/invoke, scripts/smoke, scripts/seed, scripts/deploy and scripts/openapi-public.
#
# Source it after scripts/lib/log.sh and scripts/lib/api-tools.sh; it only defines functions.
#
#   api_region [REGION_FLAG]   prints the Region: the flag, else AWS_REGION, else AWS_DEFAULT_REGION,
#                              else the active profile's (`aws configure get region`, or botocore from
#                              .cache/api-venv); returns 1 when none of them names one
#   api_stack_outputs STACK REGION
#                              prints the stack's outputs as KEY=VALUE lines (installs the SAM CLI venv
#                              on first use, saying so); dies with the reason when the stack cannot be
#                              read: it never falls back to anything else
#   api_target URL STACK LOCAL REGION_FLAG
#                              resolves the target: LOCAL=true, a loopback URL, or neither URL nor STACK
#                              is the local gateway (http://127.0.0.1:3000/dev unless URL says
#                              otherwise) with its development credentials and no AWS tooling at all;
#                              otherwise the URL as given or the stack's ApiUrl output, with AWS
#                              credentials. Sets API_URL, API_REGION, API_LOCAL (true/false),
#                              API_ACCESS_KEY_ID, API_SECRET_ACCESS_KEY and API_SESSION_TOKEN.
#
# AWS credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], else from
# `aws configure export-credentials` (profiles, SSO), else from boto3 in the SAM CLI venv.

# The local gateway's address and documented development credentials (RILL_ACCESS_KEY_ID and
# RILL_SECRET_ACCESS_KEY replace them for scripts/dev as for rill-gateway). They work nowhere else.
API_LOCAL_URL="http://127.0.0.1:3000/dev"
API_LOCAL_REGION="us-east-1"
_api_target_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

api_region() {
  local flag="${1:-}" region=""
  if [[ -n "$flag" ]]; then
    region="$flag"
  elif [[ -n "${AWS_REGION:-}" ]]; then
    region="$AWS_REGION"
  elif [[ -n "${AWS_DEFAULT_REGION:-}" ]]; then
    region="$AWS_DEFAULT_REGION"
  elif command -v aws >/dev/null 2>&1; then
    region="$(aws configure get region 2>/dev/null)" || region=""
  fi
  if [[ -z "$region" && -x "$API_TOOLS_VENV/bin/python" ]]; then
    region="$("$API_TOOLS_VENV/bin/python" "$_api_target_repo/scripts/lib/aws_session.py" region 2>/dev/null)" || region=""
  fi
  [[ -n "$region" ]] || return 1
  printf '%s\n' "$region"
}

# The Region, or a stop that says where to set one.
_api_region_or_die() {
  api_region "${1:-}" ||
    die "no AWS Region: pass --region REGION, set AWS_REGION, or give the profile one (aws configure set region REGION)"
}

api_stack_outputs() {
  local stack="$1" region="$2"
  api_tools_python || die "could not install the SAM CLI venv (.cache/api-venv), which reads stack outputs"
  "$API_TOOLS_VENV/bin/python" "$_api_target_repo/scripts/lib/aws_session.py" outputs "$stack" "$region" ||
    die "could not read the outputs of stack $stack in $region (deployed there? credentials?)"
}

# Whether a base URL points at this machine, where only the local gateway can answer.
_api_is_loopback() {
  [[ "$1" =~ ^https?://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?(/|$) ]]
}

# AWS credentials from the environment, the AWS CLI or boto3, into API_ACCESS_KEY_ID etc.
_api_aws_credentials() {
  API_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-}"
  API_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-}"
  API_SESSION_TOKEN="${AWS_SESSION_TOKEN:-}"
  [[ -n "$API_ACCESS_KEY_ID" && -n "$API_SECRET_ACCESS_KEY" ]] && return 0
  local exported=""
  if command -v aws >/dev/null 2>&1; then
    exported="$(aws configure export-credentials --format env-no-export 2>/dev/null)" || exported=""
  fi
  if [[ -z "$exported" ]]; then
    api_tools_python || die "could not install the SAM CLI venv (.cache/api-venv), whose boto3 reads profiles"
    # aws_session.py says why when it finds none.
    exported="$("$API_TOOLS_VENV/bin/python" "$_api_target_repo/scripts/lib/aws_session.py" credentials)" || exit 1
  fi
  local name value
  while IFS='=' read -r name value; do
    case "$name" in
      AWS_ACCESS_KEY_ID) API_ACCESS_KEY_ID="$value" ;;
      AWS_SECRET_ACCESS_KEY) API_SECRET_ACCESS_KEY="$value" ;;
      AWS_SESSION_TOKEN) API_SESSION_TOKEN="$value" ;;
    esac
  done <<<"$exported"
  [[ -n "$API_ACCESS_KEY_ID" && -n "$API_SECRET_ACCESS_KEY" ]] ||
    die "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or configure a profile (aws configure, aws sso login)"
}

api_target() {
  local url="$1" stack="$2" local_gateway="$3" region_flag="$4"
  if [[ -n "$url" && -n "$stack" ]]; then
    die "give --url or --stack, not both"
  fi
  if $local_gateway && [[ -n "$stack" ]]; then
    die "--local and --stack name different targets; give one"
  fi
  if [[ -z "$url" && -z "$stack" ]] || { [[ -n "$url" ]] && _api_is_loopback "$url"; }; then
    local_gateway=true
  fi

  if $local_gateway; then
    API_LOCAL=true
    API_URL="${url:-$API_LOCAL_URL}"
    API_URL="${API_URL%/}"
    # The local gateway checks signatures for the Region it was started with (us-east-1 unless its
    # --region says otherwise); --region here follows it.
    API_REGION="${region_flag:-$API_LOCAL_REGION}"
    API_ACCESS_KEY_ID="${RILL_ACCESS_KEY_ID:-AKIDLOCALRILL0000000}"
    API_SECRET_ACCESS_KEY="${RILL_SECRET_ACCESS_KEY:-rill-local-secret-key-do-not-use-in-aws}"
    API_SESSION_TOKEN="${RILL_SESSION_TOKEN:-}"
    return 0
  fi

  API_LOCAL=false
  if [[ -n "$stack" ]]; then
    API_REGION="$(_api_region_or_die "$region_flag")"
    local outputs
    outputs="$(api_stack_outputs "$stack" "$API_REGION")"
    API_URL="$(sed -n 's/^ApiUrl=//p' <<<"$outputs")"
    [[ -n "$API_URL" ]] || die "stack $stack in $API_REGION has no ApiUrl output"
  else
    API_URL="$url"
    # The Region is in an execute-api host name; a custom domain needs it from the flag or profile.
    if [[ -z "$region_flag" && "$url" =~ \.execute-api\.([a-z0-9-]+)\.amazonaws\.com ]]; then
      API_REGION="${BASH_REMATCH[1]}"
    else
      API_REGION="$(_api_region_or_die "$region_flag")"
    fi
  fi
  API_URL="${API_URL%/}"
  _api_aws_credentials
}
