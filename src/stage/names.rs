//! Stage and app names, validated with SST's own rules before any path is
//! built from them (so `../x`, `a/b` or an empty name can never reach the
//! file system).

use crate::error::{Error, Result};

/// SST's internal stage that holds fallback secrets.
pub const FALLBACK_STAGE: &str = "_fallback";

/// A stage name that passed SST's rule `[a-zA-Z0-9-]+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage(String);

/// An app name that passed SST's rule: a letter, then `[a-zA-Z0-9-]*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App(String);

impl Stage {
    /// Validates `value`; `origin` names where it came from for the error.
    pub fn parse(value: &str, origin: &str) -> Result<Self> {
        let reason = if value.is_empty() {
            Some("it is empty".to_string())
        } else if value == FALLBACK_STAGE {
            Some("`_fallback` is SST's internal stage for fallback secrets (they are synced with every stage)".to_string())
        } else {
            value
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
                .map(|c| {
                    format!("SST stages may only contain letters, digits and '-' (found {c:?})")
                })
        };
        match reason {
            None => Ok(Stage(value.to_string())),
            Some(reason) => Err(Error::InvalidStage {
                value: value.to_string(),
                origin: origin.to_string(),
                reason,
            }),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl App {
    /// Validates `value`; `origin` names where it came from for the error.
    pub fn parse(value: &str, origin: &str) -> Result<Self> {
        let mut chars = value.chars();
        let reason = match chars.next() {
            None => Some("it is empty".to_string()),
            Some(first) if !first.is_ascii_alphabetic() => Some(format!(
                "SST app names must start with a letter (found {first:?})"
            )),
            Some(_) => chars
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
                .map(|c| {
                    format!("SST app names may only contain letters, digits and '-' (found {c:?})")
                }),
        };
        match reason {
            None => Ok(App(value.to_string())),
            Some(reason) => Err(Error::InvalidApp {
                value: value.to_string(),
                origin: origin.to_string(),
                reason,
            }),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages() {
        for ok in ["prod", "pr-12", "Dev2", "-"] {
            assert_eq!(Stage::parse(ok, "--stage").unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "a b",
            "_fallback",
            "a.b",
            "é",
            "a\\b",
            "x\0",
        ] {
            let e = Stage::parse(bad, "--stage").unwrap_err();
            assert_eq!(e.code(), "INVALID_STAGE", "{bad}");
            assert!(e.to_string().contains("--stage"));
        }
    }

    #[test]
    fn apps() {
        for ok in ["myapp", "my-app", "A1"] {
            assert_eq!(App::parse(ok, "--app").unwrap().as_str(), ok);
        }
        for bad in ["", "1app", "-app", "my_app", "../x", "a/b", "my.app"] {
            assert_eq!(
                App::parse(bad, "--app").unwrap_err().code(),
                "INVALID_APP",
                "{bad}"
            );
        }
    }
}
