//! The crate's layers, as its imports show them: every `crate::` path
//! starts with a module `src/lib.rs` declares (no shortcut through a name
//! it re-exports), and each module imports only from its own folder and
//! the layers below it. Layers, from the bottom: the shared modules
//! (`env`, `error`, `warning`, `blob_id`, `utc`, `fsx`, `ci_env`, which may
//! use each other); `sst` and `git` (neither uses the other); `stage`;
//! `ops`; `cli`; `binding`.

use std::path::{Path, PathBuf};

/// Each top-level module of the crate and its layer (higher calls lower).
const LAYERS: [(&str, u8); 13] = [
    ("env", 0),
    ("error", 0),
    ("warning", 0),
    ("blob_id", 0),
    ("utc", 0),
    ("fsx", 0),
    ("ci_env", 0),
    ("sst", 1),
    ("git", 1),
    ("stage", 2),
    ("ops", 3),
    ("cli", 4),
    ("binding", 5),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// Every `.rs` file below `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first segment of each `crate::` path in `text` (inside a
/// `crate::{a, b::c}` group, each item's).
fn crate_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `sst_local_state::` and the like
        }
        let rest = &text[at + "crate::".len()..];
        let items: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(0)].split(',').collect(),
            None => vec![rest],
        };
        for item in items {
            let name: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn every_import_names_its_real_path_and_no_layer_reaches_up() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let own = top.strip_suffix(".rs").unwrap_or(top);
        if own == "lib" {
            continue;
        }
        let own_layer = layer(own).unwrap_or_else(|| panic!("{own} is in no layer of LAYERS"));
        let text = std::fs::read_to_string(file).unwrap();
        for name in crate_paths(&text) {
            let at = rel.display();
            match layer(&name) {
                None => wrong.push(format!("{at}: crate::{name} is no module of lib.rs")),
                // below, itself, or among the shared modules
                Some(l) if l < own_layer || name == own || l == 0 && own_layer == 0 => {}
                Some(_) => wrong.push(format!("{at}: {own} imports crate::{name}, not below it")),
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    assert!(files.len() > 50, "read {} files", files.len());
}

#[test]
fn crate_paths_are_read_from_uses_groups_and_docs() {
    let text = "use crate::{cli, ops::commit};\nuse crate::error::Result;\n/// [`crate::seal`]\nnotcrate::x";
    assert_eq!(crate_paths(text), ["cli", "ops", "error", "seal"]);
}
