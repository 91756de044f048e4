# Shared output helpers for the project's scripts. Source it; it defines functions only.

# Prints a step banner to stderr.
step() {
  printf '\n==> %s\n' "$*" >&2
}

# Prints an error and exits.
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
