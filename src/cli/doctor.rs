//! `doctor`: running it (its exit code is 1 when a check is an error) and its human output; its flags are the stage's.

use std::fmt::Write as _;

use super::flags::{GlobalArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::ops::doctor::{DoctorOptions, DoctorReport, Level};

/// `doctor`: prints every check; the exit code is 1 when one is an error.
pub(super) fn run(args: &StageArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> i32 {
    let options = DoctorOptions {
        common: args.common(global),
    };
    let report = crate::ops::doctor::doctor(&options, env);
    ui.result(&render(&report), &to_json(&report));
    i32::from(report.errors > 0)
}

pub fn render(r: &DoctorReport) -> String {
    let mut out = String::new();
    for c in &r.checks {
        let level = match c.level {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "ERROR",
        };
        let _ = writeln!(out, "{level:<8} {:<16} {}", c.name, c.message);
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "{:<25} fix: {fix}", "");
        }
    }
    let _ = write!(out, "{} error(s), {} warning(s)", r.errors, r.warnings);
    out
}
