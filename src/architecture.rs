//! The layers, as a test: imports run one way,
//! `app → http → graphql → domain → (entity, db, mail, events, usage, auth,
//! error, config, clock, metrics, logging)`. A lower layer that names a
//! higher one fails `cargo test` (docs/architecture.md explains the layers).

use std::path::{Path, PathBuf};

/// A module (file or folder under src/) and the crate modules it may not
/// name. Whatever is not listed may be used by anyone.
const LAYERS: &[(&str, &[&str])] = &[
    ("http", &["app"]),
    ("graphql", &["app", "http"]),
    ("domain", &["app", "http", "graphql"]),
    (
        "auth",
        &["app", "http", "graphql", "domain", "mail", "usage"],
    ),
    (
        "mail",
        &["app", "http", "graphql", "domain", "usage", "auth"],
    ),
    (
        "usage",
        &["app", "http", "graphql", "domain", "mail", "auth"],
    ),
    (
        "events",
        &["app", "http", "graphql", "domain", "mail", "usage"],
    ),
    (
        "entity",
        &[
            "app", "http", "graphql", "domain", "mail", "usage", "auth", "db",
        ],
    ),
    (
        "db",
        &["app", "http", "graphql", "domain", "mail", "usage", "auth"],
    ),
    (
        "error",
        &[
            "app", "http", "graphql", "domain", "mail", "usage", "auth", "db",
        ],
    ),
    (
        "config",
        &[
            "app", "http", "graphql", "domain", "mail", "usage", "auth", "db",
        ],
    ),
    (
        "clock",
        &[
            "app", "http", "graphql", "domain", "mail", "usage", "auth", "db",
        ],
    ),
    (
        "metrics",
        &[
            "app", "http", "graphql", "domain", "mail", "usage", "auth", "db",
        ],
    ),
    (
        "logging",
        &[
            "app", "http", "graphql", "domain", "mail", "usage", "auth", "db",
        ],
    ),
];

/// Layers below GraphQL may not use async-graphql's types; the domain may
/// use its dataloader as a batching utility.
const NO_GRAPHQL_TYPES: &[&str] = &[
    "domain", "auth", "mail", "usage", "events", "entity", "db", "error", "config", "clock",
    "metrics", "logging",
];
const ALLOWED_GRAPHQL_PATHS: &[&str] = &["async_graphql::dataloader"];

fn files_of(module: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let file = src.join(format!("{module}.rs"));
    if file.exists() {
        out.push(file);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

/// The code of a line: what precedes a `//` comment (string literals are
/// rare enough in import positions not to matter).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Lines (1-based) of `text` naming `needle` as a path, unless the path
/// starts with one of `allowed`.
fn scan(text: &str, needle: &str, allowed: &[&str]) -> Vec<usize> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = code(line);
        while let Some(i) = rest.find(needle) {
            let tail = &rest[i..];
            let before_ok = rest[..i]
                .chars()
                .next_back()
                .is_none_or(|ch| !(ch.is_alphanumeric() || ch == '_'));
            let after_ok = tail[needle.len()..]
                .chars()
                .next()
                .is_none_or(|ch| !(ch.is_alphanumeric() || ch == '_'));
            if before_ok && after_ok && !allowed.iter().any(|a| tail.starts_with(a)) {
                found.push(n + 1);
                break;
            }
            rest = &rest[i + needle.len()..];
        }
    }
    found
}

fn violations(module: &str, needle: &str, allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for path in files_of(module) {
        let text = std::fs::read_to_string(&path).unwrap();
        for n in scan(&text, needle, allowed) {
            let line = text.lines().nth(n - 1).unwrap_or("").trim();
            found.push(format!("{}:{n}: {line}", path.display()));
        }
    }
    found
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let mut all = Vec::new();
    for (module, forbidden) in LAYERS {
        assert!(
            !files_of(module).is_empty(),
            "layer table names a module that does not exist: {module}"
        );
        for f in *forbidden {
            all.extend(violations(module, &format!("crate::{f}"), &[]));
        }
    }
    for module in NO_GRAPHQL_TYPES {
        all.extend(violations(module, "async_graphql", ALLOWED_GRAPHQL_PATHS));
    }
    assert!(
        all.is_empty(),
        "imports against the layers (docs/architecture.md):\n{}",
        all.join("\n")
    );
}

#[test]
fn the_scanner_finds_what_it_should_and_only_that() {
    let text = "use crate::http::AppState;\n\
                // crate::http in a comment\n\
                let x = crate::httpd::y; // another module\n\
                use async_graphql::dataloader::Loader;\n\
                #[derive(async_graphql::Enum)]\n\
                fn f() { crate::http::router() }\n";
    assert_eq!(scan(text, "crate::http", &[]), vec![1, 6]);
    assert_eq!(
        scan(text, "async_graphql", ALLOWED_GRAPHQL_PATHS),
        vec![5],
        "the dataloader utility is allowed, GraphQL types are not"
    );
    assert!(!files_of("domain").is_empty(), "reads the real source tree");
}
