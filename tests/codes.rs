//! The `ErrorCode` union in `index.d.ts` (generated from `src/lib.rs`)
//! lists exactly the codes `Error::code()` in `src/error.rs` returns, so
//! TypeScript users can handle every one.

use std::collections::BTreeSet;

fn quoted_after(text: &str, marker: &str) -> BTreeSet<String> {
    text.split(marker)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_typescript_union_lists_every_error_code() {
    let root = env!("CARGO_MANIFEST_DIR");
    let error_rs = std::fs::read_to_string(format!("{root}/src/error.rs")).unwrap();
    let codes = quoted_after(&error_rs, "=> \"");
    assert!(codes.len() > 30, "{codes:?}");
    let dts = std::fs::read_to_string(format!("{root}/index.d.ts")).unwrap();
    let line = dts
        .lines()
        .find(|l| l.starts_with("export type ErrorCode ="))
        .expect("index.d.ts exports type ErrorCode");
    let union: BTreeSet<String> = line
        .trim_start_matches("export type ErrorCode =")
        .split('|')
        .map(|s| s.trim().trim_matches('\'').to_string())
        .collect();
    assert_eq!(union, codes);
}
