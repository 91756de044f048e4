//! The gateway's modules read top-down in the order a request flows through them, and nothing
//! imports back up.
//!
//! `src/lib.rs` declares the top-level modules in that order (listener, guards, event, Runtime API,
//! response, down to the model, the request and the settings they all read). These tests read
//! every `crate::` and `super::` path in `src/` (test modules aside) and check that:
//!
//! * a top-level module only uses top-level modules declared after it in `lib.rs`;
//! * inside a module, a file never uses its parent's (or any ancestor's) own items: shared
//!   items live in a child that both use, so `mod.rs` stays the table of contents;
//! * the files inside a module have no cycle.
//!
//! It also checks that only the modules that build the API model at start (`config`, the
//! validators it compiles, the gateway-response templates it parses, `template`) read the API
//! definition's JSON: routing, the guards, the event and the response read the model.
//!
//! It also checks that no two files (`mod.rs` aside) and no two types of the crate share a name,
//! so that a name found in a log or a stack trace points at one place.
//!
//! A broken copy of the sources (an import added against the order, a cycle between two files)
//! must make the check fail; the last tests show it does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside the crate, e.g. `["config", "routes"]`.
type ModulePath = Vec<String>;

/// Every module file under `src` (binaries and the crate roots aside), by module path.
fn module_files(src: &Path) -> BTreeMap<ModulePath, PathBuf> {
    let mut files = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable source directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|name| name != "bin") {
                    pending.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("under src");
            let mut module: ModulePath = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|last| last == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                continue;
            }
            files.insert(module, path);
        }
    }
    files
}

/// The top-level modules in the order `lib.rs` declares them.
fn declared_order(src: &Path) -> Vec<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    lib.lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .map(str::to_owned)
        .collect()
}

/// The source of a file without its `#[cfg(test)]` test module and without comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a readable source file");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(start) => &text[..start],
        None => &text[..],
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(comment) => &line[..comment],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Each path that follows `prefix` (`crate::` or `super::`), as its first identifier and the text
/// after it, expanding one `{a, b::c}` group into its items.
fn paths_after<'t>(code: &'t str, prefix: &str) -> Vec<(&'t str, &'t str)> {
    let split = |item: &'t str| {
        let name = identifier(item);
        (name, &item[name.len()..])
    };
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let preceded_by_path = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        rest = &rest[at + prefix.len()..];
        if preceded_by_path {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.push(split(group[item_start..i].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(split(group[item_start..i].trim()));
                        item_start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(split(rest));
        }
    }
    found.retain(|(name, _)| !name.is_empty() && *name != "self");
    found
}

/// Where a path lands: `base` joined with `name` when that is a module, else `base` itself (an
/// item of `base`).
fn target(
    modules: &BTreeMap<ModulePath, PathBuf>,
    base: &ModulePath,
    name: &str,
    after: &str,
) -> ModulePath {
    let mut child = base.clone();
    child.push(name.to_owned());
    if !modules.contains_key(&child) {
        return base.clone();
    }
    // `crate::a::b::c`: follow one more level when `c` is a module too.
    let next = after.strip_prefix("::").map(identifier).unwrap_or_default();
    let mut grandchild = child.clone();
    grandchild.push(next.to_owned());
    if !next.is_empty() && modules.contains_key(&grandchild) {
        grandchild
    } else {
        child
    }
}

/// Every module-to-module use: `(from, to)`.
fn uses(modules: &BTreeMap<ModulePath, PathBuf>) -> BTreeSet<(ModulePath, ModulePath)> {
    let mut edges = BTreeSet::new();
    for (module, path) in modules {
        let code = code(path);
        for (prefix, base) in [
            ("crate::", Vec::new()),
            ("super::", module[..module.len() - 1].to_vec()),
        ] {
            if prefix == "super::" && module.len() == 1 {
                continue;
            }
            for (name, after) in paths_after(&code, prefix) {
                let to = target(modules, &base, name, after);
                if !to.is_empty() && to != *module {
                    edges.insert((module.clone(), to));
                }
            }
        }
    }
    edges
}

/// Everything the layering rules find wrong in the sources under `src`.
fn violations(src: &Path) -> Vec<String> {
    let modules = module_files(src);
    let order = declared_order(src);
    let rank = |top: &str| order.iter().position(|m| m == top);
    let mut problems = Vec::new();
    let edges = uses(&modules);
    for (from, to) in &edges {
        let (from_top, to_top) = (&from[0], &to[0]);
        if from_top != to_top {
            match (rank(from_top), rank(to_top)) {
                (Some(a), Some(b)) if a < b => {}
                _ => problems.push(format!(
                    "{} uses {}, which lib.rs declares before it",
                    from.join("::"),
                    to.join("::")
                )),
            }
        } else if from.starts_with(to) {
            problems.push(format!(
                "{} uses an item of its ancestor {}",
                from.join("::"),
                to.join("::")
            ));
        }
    }
    // Cycles among the files of one module: depth-first search over uses inside one top-level
    // module.
    let inner: Vec<&(ModulePath, ModulePath)> =
        edges.iter().filter(|(from, to)| from[0] == to[0]).collect();
    for start in modules.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, trail)) = stack.pop() {
            for (_, next) in inner.iter().filter(|(from, _)| *from == at) {
                if next == start {
                    let names: Vec<String> = trail.iter().map(|m| m.join("::")).collect();
                    problems.push(format!(
                        "cycle: {} -> {}",
                        names.join(" -> "),
                        start.join("::")
                    ));
                } else if !trail.contains(next) && next > start {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    problems
}

/// File names and type names that appear more than once under `src` (binaries included).
fn duplicate_names(src: &Path) -> Vec<String> {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut all = module_files(src);
    if let Ok(entries) = std::fs::read_dir(src.join("bin")) {
        for entry in entries.flatten() {
            all.insert(
                vec![
                    "bin".to_owned(),
                    entry.file_name().to_string_lossy().into_owned(),
                ],
                entry.path(),
            );
        }
    }
    for (module, path) in &all {
        let name = path
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        if name != "mod.rs" {
            files.entry(name).or_default().push(module.join("::"));
        }
        for line in code(path).lines() {
            let line = line.trim_start();
            let line = line.strip_prefix("pub ").unwrap_or(line);
            let line = line
                .strip_prefix("pub(crate) ")
                .or_else(|| line.strip_prefix("pub(super) "))
                .unwrap_or(line);
            for keyword in ["struct ", "enum ", "trait ", "type "] {
                if let Some(rest) = line.strip_prefix(keyword) {
                    let name = identifier(rest);
                    if !name.is_empty() {
                        types
                            .entry(name.to_owned())
                            .or_default()
                            .push(module.join("::"));
                    }
                }
            }
        }
    }
    let mut duplicates = Vec::new();
    for (kind, names) in [("file", files), ("type", types)] {
        for (name, places) in names {
            if places.len() > 1 {
                duplicates.push(format!("{kind} {name} in {}", places.join(", ")));
            }
        }
    }
    duplicates
}

/// The modules that read the API definition's JSON, all of them while the model is built.
const MODEL_BUILDERS: [&str; 4] = ["config", "validation", "response::templates", "template"];

/// Files outside [`MODEL_BUILDERS`] that look into the definition's JSON.
fn definition_readers(src: &Path) -> Vec<String> {
    let mut readers = Vec::new();
    for (module, path) in module_files(src) {
        let name = module.join("::");
        if MODEL_BUILDERS
            .iter()
            .any(|builder| name == *builder || name.starts_with(&format!("{builder}::")))
        {
            continue;
        }
        let code = code(&path);
        for sign in [
            ".pointer(",
            "\"paths\"",
            "x-amazon-apigateway-",
            "securitySchemes",
        ] {
            if code.contains(sign) {
                readers.push(format!("{name} reads the definition ({sign})"));
            }
        }
    }
    readers
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn modules_only_use_modules_below_them_and_have_no_cycles() {
    let problems = violations(&src());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_the_uses_the_sources_have() {
    // A parser that found nothing would pass everything: the known uses must be there.
    let edges = uses(&module_files(&src()));
    let edge = |from: &[&str], to: &[&str]| {
        edges.contains(&(
            from.iter().map(|s| s.to_string()).collect(),
            to.iter().map(|s| s.to_string()).collect(),
        ))
    };
    assert!(edge(&["server"], &["guard"]), "{edges:?}");
    assert!(edge(&["guard", "iam"], &["sigv4"]), "{edges:?}");
    assert!(edge(&["event"], &["template", "intrinsics"]), "{edges:?}");
    assert!(
        edge(&["config", "api"], &["config", "diagnostics"]),
        "{edges:?}"
    );
    assert!(
        edge(&["lambda", "pool"], &["lambda", "instance"]),
        "{edges:?}"
    );
    assert!(edges.len() > 60, "{}", edges.len());
}

#[test]
fn only_the_model_reads_the_api_definition() {
    let readers = definition_readers(&src());
    assert!(readers.is_empty(), "{}", readers.join("\n"));
}

#[test]
fn a_guard_that_looks_into_the_definition_is_reported() {
    // Given the SigV4 guard reading an operation's security by JSON pointer
    let copy = copy_of_sources();
    prepend(
        &copy.path().join("guard/iam.rs"),
        "fn auth(d: &serde_json::Value) -> bool { d.pointer(\"/paths/~1users/get/security\").is_some() }\n",
    );
    // Then the check names it
    let readers = definition_readers(copy.path());
    assert!(
        readers.contains(&"guard::iam reads the definition (.pointer()".to_owned()),
        "{readers:?}"
    );
}

#[test]
fn no_two_files_or_types_share_a_name() {
    let duplicates = duplicate_names(&src());
    assert!(duplicates.is_empty(), "{}", duplicates.join("\n"));
}

#[test]
fn a_second_type_or_file_with_a_taken_name_is_reported() {
    // Given a second `CallerIdentity` and a second `spec.rs`
    let copy = copy_of_sources();
    prepend(
        &copy.path().join("sigv4/timestamp.rs"),
        "pub struct CallerIdentity;\n",
    );
    std::fs::copy(
        copy.path().join("validation/spec.rs"),
        copy.path().join("config/spec.rs"),
    )
    .expect("copy");
    // Then both are named
    let duplicates = duplicate_names(copy.path());
    assert!(
        duplicates.contains(&"type CallerIdentity in request, sigv4::timestamp".to_owned()),
        "{duplicates:?}"
    );
    assert!(
        duplicates.contains(&"file spec.rs in config::spec, validation::spec".to_owned()),
        "{duplicates:?}"
    );
}

#[test]
fn every_top_level_module_is_declared_in_the_order() {
    let order = declared_order(&src());
    let tops: BTreeSet<String> = module_files(&src()).keys().map(|m| m[0].clone()).collect();
    let declared: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(tops, declared);
}

/// A copy of the sources, for breaking on purpose.
fn copy_of_sources() -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temporary directory");
    for (module, path) in module_files(&src()) {
        let relative = path.strip_prefix(src()).expect("under src");
        let destination = copy.path().join(relative);
        std::fs::create_dir_all(destination.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(&path, &destination).expect("copy");
        let _ = module;
    }
    std::fs::copy(src().join("lib.rs"), copy.path().join("lib.rs")).expect("copy lib.rs");
    copy
}

/// Adds `text` at the start of `file` (before any test module, which the check skips).
fn prepend(file: &Path, text: &str) {
    let content = std::fs::read_to_string(file).expect("read");
    std::fs::write(file, format!("{text}{content}")).expect("write");
}

#[test]
fn a_module_that_uses_one_declared_before_it_is_reported() {
    // Given the request module using the listener above it
    let copy = copy_of_sources();
    prepend(
        &copy.path().join("request.rs"),
        "use crate::server::Gateway;\n",
    );
    // Then the check names it
    let problems = violations(copy.path());
    assert!(
        problems
            .iter()
            .any(|p| p == "request uses server, which lib.rs declares before it"),
        "{problems:?}"
    );
}

#[test]
fn a_file_that_uses_its_parents_items_or_a_cycle_of_files_is_reported() {
    // Given a validation file using an item of validation's mod.rs, and two files using each other
    let copy = copy_of_sources();
    prepend(
        &copy.path().join("validation/spec.rs"),
        "use super::RequestValidator;\n",
    );
    prepend(
        &copy.path().join("validation/failures.rs"),
        "use super::spec::OPERATION_KEYS;\n",
    );
    // Then the check names both
    let problems = violations(copy.path());
    assert!(
        problems
            .iter()
            .any(|p| p == "validation::spec uses an item of its ancestor validation"),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("cycle:")
            && p.contains("validation::failures")
            && p.contains("validation::spec")),
        "{problems:?}"
    );
}
