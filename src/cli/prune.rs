//! `prune`: its flags, running it, and its human output.

use std::fmt::Write as _;

use clap::Args;

use super::flags::{GlobalArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::prune::{PruneOptions, PruneReport};

/// Flags of `prune`.
#[derive(Debug, Args)]
pub(super) struct PruneArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// How many runs to keep, newest first (by SST's update ids).
    #[arg(long, value_name = "N")]
    keep: usize,
    /// Show what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(super) fn run(args: &PruneArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let options = PruneOptions {
        common: args.stage.common(global),
        keep: args.keep,
        dry_run: args.dry_run,
    };
    let report = crate::ops::prune::prune(&options, env)?;
    for f in &report.removed {
        ui.detail(&format!("{} {} ({} bytes)", f.kind, f.path, f.bytes));
    }
    ui.result(&render(&report), &to_json(&report));
    Ok(())
}

pub fn render(r: &PruneReport) -> String {
    let runs: std::collections::BTreeSet<&str> =
        r.removed.iter().map(|f| f.update_id.as_str()).collect();
    let verb = if r.dry_run { "would remove" } else { "removed" };
    let mut out = format!(
        "prune {}/{}: kept {} run(s), {verb} {} run(s): {} file(s), {} bytes",
        r.app,
        r.stage,
        r.kept.len(),
        runs.len(),
        r.removed.len(),
        r.bytes
    );
    if let Some(id) = &r.locked_update_id {
        let _ = write!(
            out,
            "\nkept run {id}: it holds SST's lock (a deploy running, or one that crashed)"
        );
    }
    out
}
