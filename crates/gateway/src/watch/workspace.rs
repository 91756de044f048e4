//! Which function binaries a changed file can affect, read from `cargo metadata`.
//!
//! A function binary is built from its own package and every local (path) package it depends on,
//! directly or not: a change to `crates/core` must rebuild `users`, `orders` and `export`, and a
//! change to `functions/users` only `users`. Cargo already knows that graph, so it is read from
//! `cargo metadata` rather than guessed from folder names. Dev-dependencies are left out: a test
//! helper changing does not change a binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::watch_error::WatchError;

/// A package of the workspace, or a path dependency of one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalPackage {
    /// Package name (what `cargo build -p` takes).
    name: String,
    /// The directory holding its `Cargo.toml`.
    dir: PathBuf,
    /// Ids of the local packages it needs to build (normal and build dependencies).
    deps: Vec<String>,
    /// Whether it declares the `sqlite` feature, which the gateway's local store needs built in.
    sqlite_feature: bool,
}

/// The local packages of a workspace and how they depend on each other.
#[derive(Debug, Clone)]
pub struct WorkspaceGraph {
    root: PathBuf,
    /// By package id.
    packages: BTreeMap<String, LocalPackage>,
    /// Binary target name to the id of the package that builds it.
    binaries: BTreeMap<String, String>,
}

/// What a function binary is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinarySources {
    /// The package to pass to `cargo build -p`.
    pub package: String,
    /// Ids of its package and of every local package it depends on.
    package_ids: BTreeSet<String>,
    /// `<package>/sqlite` when the package declares that feature: the rill functions build only
    /// their deployed store (DynamoDB) by default, and the gateway serves a local SQLite store.
    pub local_store_feature: Option<String>,
}

impl WorkspaceGraph {
    /// Runs `cargo metadata` in `dir` and reads the graph.
    pub fn load(dir: &Path) -> Result<Self, WatchError> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args(["metadata", "--format-version", "1"])
            .current_dir(dir)
            .output()
            .map_err(|e| WatchError::Metadata(format!("cannot run cargo metadata: {e}")))?;
        if !output.status.success() {
            return Err(WatchError::Metadata(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ));
        }
        let metadata: Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| WatchError::Metadata(format!("unreadable cargo metadata: {e}")))?;
        Self::from_metadata(&metadata)
    }

    /// Reads the graph from `cargo metadata --format-version 1` output.
    pub fn from_metadata(metadata: &Value) -> Result<Self, WatchError> {
        let malformed = |what: &str| WatchError::Metadata(format!("cargo metadata: {what}"));
        let root = metadata["workspace_root"]
            .as_str()
            .map(PathBuf::from)
            .ok_or_else(|| malformed("no workspace_root"))?;
        let mut packages = BTreeMap::new();
        let mut binaries = BTreeMap::new();
        for package in metadata["packages"]
            .as_array()
            .ok_or_else(|| malformed("no packages"))?
        {
            // Registry and git packages have a source; local ones (members, path deps) do not.
            if !package["source"].is_null() {
                continue;
            }
            let (Some(id), Some(name), Some(manifest)) = (
                package["id"].as_str(),
                package["name"].as_str(),
                package["manifest_path"].as_str(),
            ) else {
                return Err(malformed("a package without id, name or manifest_path"));
            };
            let dir = Path::new(manifest)
                .parent()
                .ok_or_else(|| malformed("a manifest_path without a directory"))?
                .to_path_buf();
            for target in package["targets"].as_array().into_iter().flatten() {
                let is_bin = target["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
                if let (true, Some(bin)) = (is_bin, target["name"].as_str()) {
                    binaries.insert(bin.to_owned(), id.to_owned());
                }
            }
            packages.insert(
                id.to_owned(),
                LocalPackage {
                    name: name.to_owned(),
                    dir,
                    deps: Vec::new(),
                    sqlite_feature: package["features"].get("sqlite").is_some(),
                },
            );
        }
        for node in metadata["resolve"]["nodes"]
            .as_array()
            .ok_or_else(|| malformed("no resolve graph"))?
        {
            let Some(id) = node["id"].as_str() else {
                continue;
            };
            let deps: Vec<String> = node["deps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .is_some_and(|kinds| kinds.iter().any(|k| k["kind"] != "dev"))
                })
                .filter_map(|dep| dep["pkg"].as_str())
                .filter(|dep| packages.contains_key(*dep))
                .map(str::to_owned)
                .collect();
            if let Some(package) = packages.get_mut(id) {
                package.deps = deps;
            }
        }
        Ok(Self {
            root,
            packages,
            binaries,
        })
    }

    /// The workspace root, where `cargo build` runs.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What `binary` is built from, or `None` when no local package builds it.
    pub fn sources_of(&self, binary: &str) -> Option<BinarySources> {
        let id = self.binaries.get(binary)?;
        let mut package_ids = BTreeSet::new();
        let mut pending = vec![id.clone()];
        while let Some(next) = pending.pop() {
            if package_ids.insert(next.clone()) {
                pending.extend(self.packages[&next].deps.iter().cloned());
            }
        }
        let package = &self.packages[id];
        Some(BinarySources {
            package: package.name.clone(),
            package_ids,
            local_store_feature: package
                .sqlite_feature
                .then(|| format!("{}/sqlite", package.name)),
        })
    }

    /// The directories to watch for `sources`, none inside another.
    pub fn directories(&self, sources: &[&BinarySources]) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = sources
            .iter()
            .flat_map(|s| &s.package_ids)
            .map(|id| self.packages[id].dir.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let all = dirs.clone();
        dirs.retain(|dir| {
            !all.iter()
                .any(|other| other != dir && dir.starts_with(other))
        });
        dirs
    }

    /// Whether a change to `path` can change a binary built from `sources`: `path` belongs to one
    /// of its packages (the innermost package directory holding it), and is a source, not build
    /// output or a hidden file.
    pub fn affects(&self, path: &Path, sources: &BinarySources) -> bool {
        let Some((id, package)) = self.owner_of(path) else {
            return false;
        };
        // Only the part inside the package is judged: the workspace itself may live in a hidden
        // directory.
        let inside = path.strip_prefix(&package.dir).unwrap_or(path);
        sources.package_ids.contains(id) && !is_noise(inside)
    }

    /// The innermost local package whose directory holds `path`, with its id.
    fn owner_of(&self, path: &Path) -> Option<(&String, &LocalPackage)> {
        self.packages
            .iter()
            .filter(|(_, package)| path.starts_with(&package.dir))
            .max_by_key(|(_, package)| package.dir.components().count())
    }
}

/// Build output, version control, editor swap and backup files (`path` is relative to the package
/// directory): never a reason to rebuild.
fn is_noise(path: &Path) -> bool {
    path.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        c == "target" || (c.starts_with('.') && c != "." && c != "..")
    }) || path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with('~'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn package(name: &str, dir: &str, bins: &[&str]) -> Value {
        let targets: Vec<Value> = bins
            .iter()
            .map(|b| json!({"name": b, "kind": ["bin"]}))
            .chain([json!({"name": name, "kind": ["lib"]})])
            .collect();
        json!({
            "id": format!("path+file://{dir}#{name}@0.1.0"),
            "name": name,
            "source": null,
            "manifest_path": format!("{dir}/Cargo.toml"),
            "targets": targets,
        })
    }

    fn dep(name: &str, dir: &str, kind: Option<&str>) -> Value {
        json!({
            "name": name,
            "pkg": format!("path+file://{dir}#{name}@0.1.0"),
            "dep_kinds": [{"kind": kind, "target": null}],
        })
    }

    /// `users` and `orders` (binaries) use `http`, which uses `core`; `users` also has a
    /// dev-dependency on `testkit`; `serde` comes from the registry.
    fn graph() -> WorkspaceGraph {
        let metadata = json!({
            "workspace_root": "/ws",
            "packages": [
                package("core", "/ws/crates/core", &[]),
                package("http", "/ws/crates/http", &[]),
                package("testkit", "/ws/crates/testkit", &[]),
                package("users", "/ws/functions/users", &["users"]),
                package("orders", "/ws/functions/orders", &["orders"]),
                {"id": "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.0",
                 "name": "serde", "source": "registry+https://github.com/rust-lang/crates.io-index",
                 "manifest_path": "/home/.cargo/registry/serde/Cargo.toml", "targets": []},
            ],
            "resolve": {"nodes": [
                {"id": "path+file:///ws/crates/http#http@0.1.0",
                 "deps": [dep("core", "/ws/crates/core", None)]},
                {"id": "path+file:///ws/functions/users#users@0.1.0",
                 "deps": [dep("http", "/ws/crates/http", None),
                          dep("testkit", "/ws/crates/testkit", Some("dev"))]},
                {"id": "path+file:///ws/functions/orders#orders@0.1.0",
                 "deps": [dep("http", "/ws/crates/http", None)]},
            ]},
        });
        WorkspaceGraph::from_metadata(&metadata).unwrap()
    }

    fn affected(graph: &WorkspaceGraph, path: &str) -> Vec<String> {
        ["users", "orders"]
            .into_iter()
            .filter(|bin| graph.affects(Path::new(path), &graph.sources_of(bin).unwrap()))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_change_in_a_function_crate_rebuilds_only_that_function() {
        let graph = graph();
        assert_eq!(
            affected(&graph, "/ws/functions/users/src/lib.rs"),
            ["users"]
        );
        assert_eq!(
            affected(&graph, "/ws/functions/orders/Cargo.toml"),
            ["orders"]
        );
    }

    #[test]
    fn a_change_in_a_shared_crate_rebuilds_every_function_that_depends_on_it() {
        let graph = graph();
        assert_eq!(
            affected(&graph, "/ws/crates/core/src/domain.rs"),
            ["users", "orders"]
        );
        assert_eq!(graph.sources_of("users").unwrap().package, "users");
    }

    #[test]
    fn dev_dependencies_build_output_and_unrelated_files_rebuild_nothing() {
        let graph = graph();
        for path in [
            "/ws/crates/testkit/src/lib.rs",
            "/ws/functions/users/target/debug/users",
            "/ws/functions/users/src/.lib.rs.swp",
            "/ws/functions/users/src/lib.rs~",
            "/ws/README.md",
            "/elsewhere/crates/core/src/lib.rs",
        ] {
            assert!(affected(&graph, path).is_empty(), "{path}");
        }
        assert!(graph.sources_of("rill-gateway").is_none());
    }

    #[test]
    fn a_workspace_inside_a_hidden_directory_is_still_watched() {
        let metadata = json!({
            "workspace_root": "/home/dev/.work/ws",
            "packages": [package("users", "/home/dev/.work/ws/functions/users", &["users"])],
            "resolve": {"nodes": []},
        });
        let graph = WorkspaceGraph::from_metadata(&metadata).unwrap();
        let users = graph.sources_of("users").unwrap();
        assert!(graph.affects(
            Path::new("/home/dev/.work/ws/functions/users/src/lib.rs"),
            &users
        ));
        assert!(!graph.affects(
            Path::new("/home/dev/.work/ws/functions/users/.git/index"),
            &users
        ));
    }

    #[test]
    fn the_watched_directories_are_the_packages_a_binary_is_built_from() {
        let graph = graph();
        let users = graph.sources_of("users").unwrap();
        let orders = graph.sources_of("orders").unwrap();
        assert_eq!(
            graph.directories(&[&users, &orders]),
            [
                "/ws/crates/core",
                "/ws/crates/http",
                "/ws/functions/orders",
                "/ws/functions/users"
            ]
            .map(PathBuf::from)
        );
    }
}
