//! `run`: its flags and running it (its output is `commit`'s, on stderr,
//! and the whole report with `--json`).

use clap::Args;

use super::flags::{GlobalArgs, LockPlaceArgs, LockWaitArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::run::RunOptions;

#[derive(Debug, Args)]
pub(super) struct RunArgs {
    #[command(flatten)]
    pub(super) stage: StageArgs,
    /// Branch the state goes to [default: from the CI environment, else the checked-out branch].
    #[arg(long, value_name = "NAME")]
    pub(super) branch: Option<String>,
    /// Commit message template (as for commit).
    #[arg(long, short, value_name = "TEMPLATE")]
    pub(super) message: Option<String>,
    #[command(flatten)]
    pub(super) place: LockPlaceArgs,
    #[command(flatten)]
    pub(super) wait: LockWaitArgs,
    /// Deploy a new stage (none of whose state the repository holds) even in CI (as for prepare).
    #[arg(long)]
    pub(super) allow_new_stage: bool,
    /// The command to run (after `--`), e.g. `-- npx sst deploy --stage prod`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(super) command: Vec<String>,
}

/// `run`: a deploy under the stage lock; the wrapped command's exit code.
pub(super) fn run(args: &RunArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<i32> {
    let report = crate::ops::run::run(&run_options(args, global), env, &mut |line| {
        ui.progress(&format!("sst-local-state run: {line}"))
    })?;
    ui.warn_all(&report.prepare.warnings);
    ui.warn_all(&report.commit.warnings);
    ui.progress(&super::commit::render(&report.commit));
    ui.result("", &to_json(&report));
    Ok(report.exit_code)
}

/// The options of `run`, given once for its prepare, lock and commit.
fn run_options(args: &RunArgs, global: &GlobalArgs) -> RunOptions {
    RunOptions {
        common: args.stage.common(global),
        branch: args.branch.clone(),
        remote: args.place.remote.clone(),
        message: args.message.clone(),
        lock: args.wait.request(&args.place),
        allow_new_stage: args.allow_new_stage.then_some(true),
        command: args.command.clone(),
    }
}
