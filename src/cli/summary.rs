//! `summary`: its flags and running it (its output is the Markdown the
//! operation renders). A stage's state change as Markdown, for a CI job's summary
//! page (the GitHub Action appends it to `$GITHUB_STEP_SUMMARY`).

use clap::Args;

use super::flags::{GlobalArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::summary::SummaryOptions;

/// Flags of `summary`.
#[derive(Debug, Args)]
pub(super) struct SummaryArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// The state commit to report (it must change the stage) [default: the newest change at HEAD].
    #[arg(long, value_name = "REV", conflicts_with = "unchanged")]
    rev: Option<String>,
    /// The run made no state commit: report that the state did not change.
    #[arg(long)]
    unchanged: bool,
    /// The command to show [default: the commit's SST-Command trailer].
    #[arg(long = "run-command", value_name = "TEXT")]
    command: Option<String>,
    /// The command's exit code [default: the commit's Run-Exit-Code trailer].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    exit_code: Option<i32>,
    /// How long the run waited for the stage lock, in milliseconds.
    #[arg(long, value_name = "MS")]
    lock_wait_ms: Option<u64>,
    /// The remote the state went to (its commit is linked when it is the GitHub job's repository) [default: origin].
    #[arg(long, value_name = "NAME")]
    remote: Option<String>,
}

/// `summary`: prints the Markdown (with `--json`, the report with `markdown`).
pub(super) fn run(
    args: &SummaryArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = SummaryOptions {
        common: args.stage.common(global),
        rev: args.rev.clone(),
        unchanged: args.unchanged,
        command: args.command.clone(),
        exit_code: args.exit_code,
        lock_wait_ms: args.lock_wait_ms,
        remote: args.remote.clone(),
    };
    let report = crate::ops::summary::summary(&options, env)?;
    ui.result(report.markdown.trim_end(), &to_json(&report));
    Ok(())
}
