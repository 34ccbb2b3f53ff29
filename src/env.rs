//! A snapshot of environment variables, so every lookup can be computed for
//! another environment (JS `options.env`) or tested without touching the
//! process environment.

use std::collections::BTreeMap;

/// Environment variables, looked up case-insensitively where the platform
/// does so (Windows).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    ignore_case: bool,
}

impl Env {
    /// The current process environment (variables that are not UTF-8 are skipped).
    pub fn process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Env::from_map(vars, cfg!(windows))
    }

    /// An environment made of `vars`; `ignore_case` for Windows rules.
    pub fn from_map(vars: BTreeMap<String, String>, ignore_case: bool) -> Self {
        Env { vars, ignore_case }
    }

    /// An environment (Unix rules) made of `pairs`, for tests and tools.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Env::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            false,
        )
    }

    /// The value of `key`; `None` when unset.
    pub fn get(&self, key: &str) -> Option<&str> {
        if let Some(v) = self.vars.get(key) {
            return Some(v);
        }
        if self.ignore_case {
            return self
                .vars
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str());
        }
        None
    }

    /// The value of `key` when set and not empty.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// The same environment with Windows' case-insensitive lookup on or off.
    pub fn with_ignore_case(mut self, ignore_case: bool) -> Self {
        self.ignore_case = ignore_case;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_rules() {
        let map = BTreeMap::from([("AppData".to_string(), "C:\\x".to_string())]);
        let unix = Env::from_map(map.clone(), false);
        assert_eq!(unix.get("APPDATA"), None);
        assert_eq!(unix.get("AppData"), Some("C:\\x"));
        let win = Env::from_map(map, true);
        assert_eq!(win.get("APPDATA"), Some("C:\\x"));
    }

    #[test]
    fn empty_is_not_set_for_non_empty() {
        let env = Env::from_map(BTreeMap::from([("A".to_string(), String::new())]), false);
        assert_eq!(env.get("A"), Some(""));
        assert_eq!(env.non_empty("A"), None);
    }
}
