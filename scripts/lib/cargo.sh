# Cargo helpers and package lists for the project's scripts. Source it; it runs nothing.

# Prints the directory cargo builds into: `target/` unless CARGO_TARGET_DIR or a cargo config moves it.
cargo_target_dir() {
  cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}

# The function packages, and the features that let their binaries open the local SQLite store as well
# as DynamoDB. Deployed builds (`sam build`, scripts/build) take the functions' default features, which
# are DynamoDB only; everything that runs the functions locally (scripts/dev, the tests, the
# benchmarks' local runs) builds them with these.
FUNCTION_PACKAGES=(-p users -p orders -p export)
LOCAL_STORE_FEATURES=(--features users/sqlite,orders/sqlite,export/sqlite)
