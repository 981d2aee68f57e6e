//! The layering, enforced rather than hoped for (ARCHITECTURE.md): the
//! domain never reaches up into the edges (GraphQL, HTTP, the read side,
//! the command line, the application or its settings), and the
//! authorization kernel (`domain/authz/`) reaches into no other domain
//! module than the value types it decides with; and nothing writes outside
//! the write path (`domain/write.rs`) but the bookkeeping that
//! `domain/bookkeeping.rs` lists, with why.

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

/// `file: function` for every statement in `src/` that writes on a plain
/// connection or opens or commits a transaction of its own, outside
/// `domain/write.rs` and the server's test modules. Functions are found as
/// the nearest `fn` above the statement.
fn writes_outside_the_write_path() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let on_its_own = [
        ".exec(db)",
        ".exec_without_returning(db)",
        ".exec_with_returning(db)",
        ".insert(db)",
        ".update(db)",
        ".save(db)",
        ".delete(db)",
        "db.execute(",
        "db.execute_raw(",
        "execute_unprepared(\"INSERT",
        "execute_unprepared(\"UPDATE",
        "execute_unprepared(\"DELETE",
        "\"INSERT INTO",
        ".enqueue(db",
        ".commit()",
        ".begin()",
        "begin_with_options(",
    ];
    let mut found = Vec::new();
    for file in sources(&root.join("src")) {
        let shown = file.strip_prefix(root).unwrap().display().to_string();
        if shown == "src/domain/write.rs" || shown == "src/cli/seed.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        let mut function = String::new();
        for line in text.lines() {
            if let Some(at) = line.find("fn ")
                && !line.trim_start().starts_with("//")
            {
                function = line[at + 3..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
            }
            if on_its_own.iter().any(|pattern| line.contains(pattern)) {
                found.push((shown.clone(), function.clone()));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn bookkeeping_is_the_only_write_outside_the_write_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed: Vec<(String, String)> =
        std::fs::read_to_string(root.join("src/domain/bookkeeping.rs"))
            .unwrap()
            .lines()
            .filter_map(|line| {
                let mut cells = line.strip_prefix("//! | `")?.split('`');
                let file = cells.next()?.to_owned();
                let function = cells.nth(1)?.to_owned();
                Some((file, function))
            })
            .collect();
    let unlisted: Vec<_> = writes_outside_the_write_path()
        .into_iter()
        .filter(|found| !listed.contains(found))
        .collect();
    assert!(
        unlisted.is_empty(),
        "writes outside domain::write that domain/bookkeeping.rs does not list: {unlisted:#?}"
    );
    // And the list names nothing that is not there any more.
    let found = writes_outside_the_write_path();
    let stale: Vec<_> = listed.iter().filter(|l| !found.contains(l)).collect();
    assert!(
        stale.is_empty(),
        "bookkeeping.rs lists writes that are gone: {stale:#?}"
    );
}
