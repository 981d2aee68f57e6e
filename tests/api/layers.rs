//! The layering, enforced rather than hoped for (ARCHITECTURE.md): the
//! domain never reaches up into the edges (GraphQL, HTTP, the read side,
//! the command line, the application or its settings), and the
//! authorization kernel (`domain/authz/`) reaches into no other domain
//! module than the value types it decides with.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// `file:line: path` for every `crate::…` path in the files under `dir`
/// that `allowed` refuses.
fn imports_refused(dir: &str, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut refused = Vec::new();
    for file in sources(&root.join(dir)) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices("crate::") {
                let path: String = line[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                if !allowed(path.trim_end_matches(':')) {
                    let shown = file.strip_prefix(root).unwrap_or(&file).display();
                    refused.push(format!("{shown}:{}: {path}", number + 1));
                }
            }
        }
    }
    refused
}

#[test]
fn the_domain_imports_nothing_from_the_edges() {
    let upward = ["graphql", "http", "read", "cli", "app", "config", "Config"];
    let refused = imports_refused("src/domain", |path| {
        let top = path
            .trim_start_matches("crate::")
            .split("::")
            .next()
            .unwrap_or("");
        !upward.contains(&top)
    });
    assert!(refused.is_empty(), "the domain reaches up: {refused:#?}");
}

#[test]
fn the_authorization_kernel_calls_into_no_command() {
    let refused = imports_refused("src/domain/authz", |path| {
        path == "crate::error"
            || path.starts_with("crate::error::")
            || ["authz", "values", "ids"].iter().any(|leaf| {
                let module = format!("crate::domain::{leaf}");
                path == module || path.starts_with(&format!("{module}::"))
            })
    });
    assert!(refused.is_empty(), "the kernel reaches out: {refused:#?}");
}
