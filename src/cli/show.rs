//! `show`: its flags, running it, and its human output.

use std::fmt::Write as _;

use clap::Args;

use super::flags::{GlobalArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::show::{ShowOptions, ShowReport};

/// Flags of `show`.
#[derive(Debug, Args)]
pub(super) struct ShowArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// The revision (a commit, branch, tag, `HEAD~3`, ...) [default: HEAD].
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
}

pub(super) fn run(args: &ShowArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let options = ShowOptions {
        common: args.stage.common(global),
        rev: args.rev.clone(),
        whole: global.json,
    };
    let report = crate::ops::show::show(&options, env)?;
    ui.result(&render(&report), &to_json(&report));
    Ok(())
}

pub fn render(r: &ShowReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "show {}/{} at {} (commit {}, {}, {})",
        r.app,
        r.stage,
        r.rev,
        &r.commit[..12.min(r.commit.len())],
        r.time,
        r.author
    );
    let _ = writeln!(out, "{}: {} bytes", r.path, r.bytes);
    if let Some(stack) = &r.stack {
        let _ = writeln!(out, "stack: {stack}");
    }
    let _ = write!(out, "resources: {}", r.resources);
    if r.pending_operations > 0 {
        let _ = write!(
            out,
            "; pending operations: {} (an interrupted run)",
            r.pending_operations
        );
    }
    for t in &r.by_type {
        let _ = write!(out, "\n  {:>6}  {}", t.count, t.type_name);
    }
    if !r.other_files.is_empty() {
        let _ = write!(out, "\nalso at this revision: {}", r.other_files.join(", "));
    }
    out
}
