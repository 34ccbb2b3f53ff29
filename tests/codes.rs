//! The error codes have one source, `ErrorCode` in `src/error.rs`: the
//! `ErrorCode` union of the generated `index.d.ts` lists exactly its codes
//! (so TypeScript users can handle every one, and a stale `index.d.ts`
//! fails here), and the error-code table of `docs/troubleshooting.md` says
//! what to do about every one of them, and about no other.

use std::collections::BTreeSet;

use sst_local_state::ErrorCode;

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

/// Every code of the enum, as JS sees it.
fn codes() -> BTreeSet<String> {
    let codes: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| c.as_str().into()).collect();
    assert_eq!(codes.len(), ErrorCode::ALL.len(), "a code twice");
    assert!(codes.len() > 40, "{codes:?}");
    codes
}

/// The codes of `export type ErrorCode = 'A' | 'B'` in `dts`.
fn typescript_union(dts: &str) -> Vec<String> {
    let line = dts
        .lines()
        .find(|l| l.starts_with("export type ErrorCode ="))
        .expect("index.d.ts exports type ErrorCode");
    line.trim_start_matches("export type ErrorCode =")
        .split('|')
        .map(|s| s.trim().trim_matches('\'').to_string())
        .collect()
}

#[test]
fn the_typescript_union_lists_every_error_code_and_no_other() {
    let dts = std::fs::read_to_string(format!("{}/index.d.ts", root())).unwrap();
    let union = typescript_union(&dts);
    let order: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(union, order, "regenerate index.d.ts: bash scripts/build.sh");
    assert_eq!(union.iter().cloned().collect::<BTreeSet<_>>(), codes());
}

/// The codes named in the first column of the table under `## Error codes`
/// in `text` (`` | `A` / `B` (env mode) | ... ``).
fn documented(text: &str) -> Vec<String> {
    let section = text
        .split("\n## Error codes\n")
        .nth(1)
        .expect("a section ## Error codes");
    let section = section.split("\n## ").next().unwrap();
    let mut found = Vec::new();
    for row in section.lines().filter(|l| l.starts_with("| ")) {
        let first = row.split('|').nth(1).unwrap_or_default();
        for (i, part) in first.split('`').enumerate() {
            let code_like =
                !part.is_empty() && part.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            if i % 2 == 1 && code_like {
                found.push(part.to_string());
            }
        }
    }
    found
}

#[test]
fn the_troubleshooting_table_documents_every_error_code_and_no_other() {
    let text = std::fs::read_to_string(format!("{}/docs/troubleshooting.md", root())).unwrap();
    let listed = documented(&text);
    let set: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(
        set.len(),
        listed.len(),
        "a code documented twice: {listed:?}"
    );
    let codes = codes();
    let missing: Vec<_> = codes.difference(&set).collect();
    let stale: Vec<_> = set.difference(&codes).collect();
    assert!(
        missing.is_empty(),
        "not in docs/troubleshooting.md: {missing:?}"
    );
    assert!(stale.is_empty(), "no such code: {stale:?}");
}

#[test]
fn table_codes_are_read_from_the_first_column_only() {
    let text = "intro\n## Error codes\n\n| code | what |\n|---|---|\n| `A_B` / `C` (env) | `NOT_THIS` |\n| lost | x |\n\n## Next\n| `D` | x |\n";
    assert_eq!(documented(text), ["A_B", "C"]);
}
