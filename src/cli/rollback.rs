//! `rollback`: its flags, running it, and its human output.

use std::fmt::Write as _;

use clap::Args;

use super::flags::{GlobalArgs, LockPlaceArgs, LockWaitArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::rollback::{RollbackOptions, RollbackReport};

/// Flags of `rollback`.
#[derive(Debug, Args)]
pub(super) struct RollbackArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// The revision whose stage files to restore (a commit, tag, `main~3`, ...).
    #[arg(long, value_name = "REV")]
    to: String,
    /// Roll back even when the passphrase at the revision differs from the current one
    /// (secrets set since become unreadable).
    #[arg(long)]
    force: bool,
    /// Branch to commit to [default: from the CI environment, else the checked-out branch].
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    #[command(flatten)]
    place: LockPlaceArgs,
    #[command(flatten)]
    wait: LockWaitArgs,
}

pub(super) fn run(
    args: &RollbackArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = RollbackOptions {
        common: args.stage.common(global),
        to: args.to.clone(),
        force: args.force,
        branch: args.branch.clone(),
        remote: args.place.remote.clone(),
        lock: args.wait.request(&args.place),
    };
    let report = crate::ops::rollback::rollback(&options, env, &mut |line| ui.progress(line))?;
    ui.message_detail(report.message.as_deref());
    ui.result(&render(&report), &to_json(&report));
    ui.warn_all(&report.warnings);
    Ok(())
}

pub fn render(r: &RollbackReport) -> String {
    let mut out = String::new();
    match &r.commit {
        Some(commit) => {
            let _ = writeln!(
                out,
                "rolled back {}/{} to {} ({}): commit {} on {} {} (was {})",
                r.app,
                r.stage,
                r.rev,
                &r.to[..12],
                commit,
                r.remote,
                r.branch,
                &r.from[..12]
            );
            for f in &r.files {
                let _ = writeln!(out, "  {} {}", f.change, f.path);
            }
            if r.passphrase_changed {
                let _ = writeln!(out, "  the passphrase was rolled back too (--force): secrets set since are unreadable");
            }
            if !r.passphrase_compared {
                let _ = writeln!(out, "  the passphrase was NOT compared (no key at hand decrypts both): the tip's was kept, see below");
            }
            if r.head_updated {
                let _ = writeln!(out, "  this checkout's HEAD and state files moved to it");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "nothing to roll back: {}/{} on {} {} already holds the stage's files of {} ({}); no commit made",
                r.app, r.stage, r.remote, r.branch, r.rev, &r.to[..12]
            );
        }
    }
    let _ = write!(out, "{}", r.note);
    out
}
