//! `commit`: its flags, running it, and its human output (also `run`'s).

use std::fmt::Write;

use clap::Args;

use super::flags::{GlobalArgs, PushArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::commit::{CommitOptions, CommitReport};

#[derive(Debug, Args)]
pub(super) struct CommitArgs {
    #[command(flatten)]
    pub(super) stage: StageArgs,
    /// Commit message template; {app}, {stage} and {summary} are replaced
    /// [default: "chore(sst-state): {app}/{stage} {summary} [skip ci]"].
    #[arg(long, short, value_name = "TEMPLATE")]
    pub(super) message: Option<String>,
    #[command(flatten)]
    pub(super) push: PushArgs,
    /// Show what would be committed; write nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// Keep the stage lock this checkout holds (renewed) instead of releasing it.
    #[arg(long)]
    pub(super) keep_lock: bool,
}

/// `commit`: saves the stage's state; the remote and message with `--verbose`.
pub(super) fn run(
    args: &CommitArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = CommitOptions {
        common: args.stage.common(global),
        message: args.message.clone(),
        branch: args.push.branch.clone(),
        remote: args.push.remote.clone(),
        no_push: args.push.no_push,
        dry_run: args.dry_run,
        keep_lock: args.keep_lock,
        trailers: Vec::new(),
        run_lock: None,
    };
    let report = crate::ops::commit::commit(&options, env)?;
    if let Some(url) = &report.remote_url {
        ui.detail(&format!("remote {url}"));
    }
    ui.message_detail(report.message.as_deref());
    ui.result(&render(&report), &to_json(&report));
    ui.warn_all(&report.warnings);
    Ok(())
}

/// One line per step with its time, the changed files, the outcome.
pub fn render(r: &CommitReport) -> String {
    let mut out = String::new();
    let verb = if r.dry_run {
        "commit (dry run)"
    } else {
        "commit"
    };
    let target = match (&r.remote, &r.branch) {
        (Some(remote), Some(branch)) => format!(" -> {remote} {branch}"),
        _ => " (local, no push)".to_string(),
    };
    let _ = writeln!(out, "{verb} {}/{}{target}", r.app, r.stage);
    for step in &r.steps {
        let _ = writeln!(out, "  {:<60} {:>6} ms", step.name, step.ms);
    }
    for f in &r.files {
        let _ = writeln!(out, "  {:<9} {} ({} bytes)", f.change, f.path, f.bytes);
    }
    let outcome = match (&r.commit, r.pushed, r.dry_run) {
        (_, _, true) if r.files.is_empty() => "nothing changed: no commit".to_string(),
        (_, _, true) => format!("would commit {} file(s)", r.files.len()),
        (None, _, false) => "nothing changed: no commit, no push".to_string(),
        (Some(c), true, false) => {
            format!("committed {c} and pushed it ({} attempt(s))", r.attempts)
        }
        (Some(c), false, false) => format!("committed {c} (not pushed)"),
    };
    let _ = writeln!(out, "{outcome}");
    if let (Some(lock), true) = (&r.lock_ref, r.lock_released) {
        let _ = writeln!(out, "released the stage lock {lock}");
    }
    let _ = write!(out, "done in {} ms", r.duration_ms);
    out
}
