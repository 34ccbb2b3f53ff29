//! `status`: running it and its human output (its flags are the stage's).

use std::fmt::Write;

use super::flags::{GlobalArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::status::{StatusReport, SyncState};

/// `status`: compares the stage's state in the repository and the config dir.
pub(super) fn run(args: &StageArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let report = crate::ops::status::status(&args.common(global), env)?;
    ui.result(&render(&report), &to_json(&report));
    ui.warn_all(&report.warnings);
    Ok(())
}

/// One line per file, the checkpoint summaries and SST's lock.
pub fn render(r: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "status {}/{} (repo {} <-> {})",
        r.app, r.stage, r.project_root, r.config_dir
    );
    for f in &r.files {
        let state = match f.state {
            SyncState::InSync => "in sync",
            SyncState::ChangedInConfigDir => "changed in config dir (unsaved: commit it)",
            SyncState::ChangedInRepo => "changed in repo (prepare again)",
            SyncState::OnlyInRepo => "only in repo",
            SyncState::OnlyInConfigDir => "only in config dir",
            SyncState::Absent => "absent",
            SyncState::Encrypted => "encrypted in repo (no age key to compare)",
            SyncState::RemovedInConfigDir => {
                "removed by SST in the config dir (unsaved: commit saves the removal)"
            }
        };
        let _ = writeln!(out, "  {:<22} {state}", f.kind.label());
    }
    if r.stage_removed {
        let _ = writeln!(
            out,
            "SST removed this stage here (`sst remove` with state.purge): `sst-local-state commit --stage {}` saves the removal",
            r.stage
        );
    }
    let count = |c: Option<crate::stage::state::CheckpointInfo>| {
        c.map_or("-".to_string(), |c| c.resources.to_string())
    };
    let _ = writeln!(
        out,
        "resources: repo {}, config dir {}",
        count(r.repo_checkpoint),
        count(r.config_checkpoint)
    );
    if let Some(c) = r.config_checkpoint.filter(|c| c.pending_operations > 0) {
        let _ = writeln!(
            out,
            "pending operations in the config dir's checkpoint: {} (an interrupted run)",
            c.pending_operations
        );
    }
    match &r.sst_lock {
        Some(lock) => {
            let _ = write!(
                out,
                "SST lock: held by `{}` since {} ({})",
                lock.command, lock.created, lock.path
            );
        }
        None => {
            let _ = write!(out, "SST lock: none");
        }
    }
    for p in &r.passphrases {
        let recipients = p
            .recipients
            .map(|n| format!(", {n} recipient{}", if n == 1 { "" } else { "s" }))
            .unwrap_or_default();
        let access = match (&p.reason, p.decryptable, p.form) {
            (_, _, "absent") => "none in the repository".to_string(),
            (_, true, _) => "readable with what is at hand".to_string(),
            (Some(why), false, _) => format!("NOT readable here: {why}"),
            (None, false, _) => "NOT readable here".to_string(),
        };
        let form = match p.form {
            "absent" => String::new(),
            form => format!(" ({form}{recipients})"),
        };
        let _ = write!(out, "\n{}{form}: {access}", p.kind.label());
    }
    out
}
