//! Where the commands write (stdout for results, stderr for progress,
//! warnings and errors, one JSON object with `--json`), and small helpers
//! their renderings share.

use std::io::Write;

use camino::Utf8Path;
use serde_json::{json, Value};

use crate::error::Error;

/// `value` as JSON (every report serialises).
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("reports serialise to JSON")
}

/// `path` relative to `base` when it is below it.
pub(super) fn rel<'a>(path: &'a Utf8Path, base: &'a Utf8Path) -> &'a Utf8Path {
    path.strip_prefix(base).unwrap_or(path)
}

/// Where a command writes: results on `out` (stdout), progress and errors
/// on `err` (stderr).
pub struct Ui<'a> {
    pub(super) out: &'a mut dyn Write,
    pub(super) err: &'a mut dyn Write,
    pub(super) json: bool,
    pub(super) quiet: bool,
    pub(super) verbose: bool,
}

impl Ui<'_> {
    /// A detail line on stderr, shown with `--verbose` only (paths, the commit message).
    pub fn detail(&mut self, line: &str) {
        if self.verbose && !self.json {
            let _ = writeln!(self.err, "  {line}");
        }
    }

    /// A progress line on stderr (not with `--quiet` or `--json`).
    pub fn progress(&mut self, line: &str) {
        if !self.quiet && !self.json {
            let _ = writeln!(self.err, "{line}");
        }
    }

    /// The command's result: `human` on stdout, or `json` with `--json`.
    pub(super) fn result(&mut self, human: &str, json: &Value) {
        if self.json {
            let _ = writeln!(self.out, "{json}");
        } else if !human.is_empty() && !self.quiet {
            let _ = writeln!(self.out, "{human}");
        }
    }

    /// A warning on stderr (shown even with `--quiet`; in `--json` mode it is in the result).
    pub fn warn(&mut self, warning: &crate::warning::Warning) {
        if !self.json {
            let _ = writeln!(self.err, "warning[{}]: {warning}", warning.code());
        }
    }

    /// Each of `warnings`, in order, as [`Ui::warn`] shows one.
    pub fn warn_all(&mut self, warnings: &[crate::warning::Warning]) {
        for warning in warnings {
            self.warn(warning);
        }
    }

    /// A commit message (if any), a `message | ` detail line each line.
    pub fn message_detail(&mut self, message: Option<&str>) {
        for line in message.into_iter().flat_map(str::lines) {
            self.detail(&format!("message | {line}"));
        }
    }

    pub(super) fn error(&mut self, error: &Error) {
        if self.json {
            let mut body = error.details();
            body.insert("code".into(), error.code().as_str().into());
            body.insert("message".into(), error.to_string().into());
            let _ = writeln!(self.out, "{}", json!({ "error": body }));
        } else {
            let _ = writeln!(self.err, "error[{}]: {error}", error.code());
        }
    }
}
