# shellcheck shell=bash
# Loopback ports for the local services that tests start (DynamoDB Local, the Secrets Manager
# endpoint). Source it; it defines functions only.

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
loopback_free_port() {
  python3 -c '
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
'
}

# Whether something answers HTTP on 127.0.0.1:$1 (any status counts).
loopback_answers() {
  local port="$1" code
  code="$(curl --silent --output /dev/null --max-time 2 --write-out '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null)" || true
  [[ -n "$code" && "$code" != "000" ]]
}
