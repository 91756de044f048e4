# Cargo helpers for the project's scripts. Source it; it defines functions only.

# Prints the directory cargo builds into: `target/` unless CARGO_TARGET_DIR or a cargo config moves it.
cargo_target_dir() {
  cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}
