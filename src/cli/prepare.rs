//! `prepare`: its flags, running it, and its human output.

use std::fmt::Write;

use clap::Args;

use super::flags::{GlobalArgs, LockedArgs, StageArgs};
use super::ui::{rel, to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::prepare::{Action, PrepareOptions, PrepareReport};

#[derive(Debug, Args)]
pub(super) struct PrepareArgs {
    #[command(flatten)]
    pub(super) stage: StageArgs,
    /// Overwrite config-dir files with unsaved changes (remove those the repository lacks);
    /// every config-dir file it replaces is backed up first.
    #[arg(long)]
    pub(super) force: bool,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// Fail (STATE_MISSING) when the repository has no state for the stage.
    #[arg(long)]
    pub(super) require_state: bool,
    /// Deploy a new stage (none of whose state the repository holds) even in CI, where it is
    /// refused (STAGE_UNKNOWN) unless env SST_LOCAL_STATE_NEW_STAGES or package.json
    /// sstLocalState.newStages allows it.
    #[arg(long)]
    pub(super) allow_new_stage: bool,
    #[command(flatten)]
    pub(super) locked: LockedArgs,
}

/// `prepare`: restores the stage's state; the paths it used with `--verbose`.
pub(super) fn run(
    args: &PrepareArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = PrepareOptions {
        common: args.stage.common(global),
        force: args.force,
        dry_run: args.dry_run,
        require_state: args.require_state,
        lock: args
            .locked
            .lock
            .then(|| args.locked.wait.request(&args.locked.place)),
        branch: args.locked.branch.clone(),
        remote: args.locked.place.remote.clone(),
        allow_new_stage: args.allow_new_stage.then_some(true),
    };
    let report = crate::ops::prepare::prepare(&options, env)?;
    ui.detail(&format!("project root {}", report.project_root));
    ui.detail(&format!("state folder {}", report.state_dir));
    for f in &report.files {
        ui.detail(&format!(
            "{}: {} -> {}",
            f.kind.label(),
            f.repo_path,
            f.config_path
        ));
    }
    ui.result(&render(&report), &to_json(&report));
    ui.warn_all(&report.warnings);
    Ok(())
}

/// One line per file, then the summary and the time taken.
pub fn render(r: &PrepareReport) -> String {
    let mut out = String::new();
    let verb = if r.dry_run {
        "prepare (dry run)"
    } else {
        "prepare"
    };
    if let Some(lock) = &r.lock {
        let _ = writeln!(out, "{}", super::lock::render_lock(lock));
    }
    let _ = writeln!(out, "{verb} {}/{} -> {}", r.app, r.stage, r.config_dir);
    for f in &r.files {
        let action = match (f.action, r.dry_run) {
            (Action::Written, false) => "written",
            (Action::Written, true) => "would write",
            (Action::Removed, false) => "removed",
            (Action::Removed, true) => "would remove",
            (Action::Unchanged, _) => "unchanged",
            (Action::Kept, _) => "kept",
            (Action::Absent, _) => "absent",
        };
        let size = if f.bytes > 0 {
            format!(" ({} bytes)", f.bytes)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {action:<12} {:<22} {} -> {}{size}",
            f.kind.label(),
            rel(&f.repo_path, &r.project_root),
            rel(&f.config_path, &r.config_dir),
        );
    }
    if let Some(dir) = &r.backup_dir {
        let verb = if r.dry_run {
            "would back up"
        } else {
            "backed up"
        };
        let _ = writeln!(out, "{verb} the replaced config-dir files to {dir}");
    }
    if r.first_deploy {
        let _ = writeln!(
            out,
            "no checkpoint in the repository: first deploy of stage {}, SST will start a new state (the repository holds {})",
            r.stage,
            crate::error::known_list(&r.known_stages)
        );
    } else if let Some(c) = r.checkpoint {
        let kept = r
            .files
            .iter()
            .any(|f| f.kind == crate::stage::layout::Kind::App && f.action == Action::Kept);
        let whose = if kept {
            " (the config dir's, kept: commit saves it)"
        } else {
            ""
        };
        let _ = writeln!(out, "checkpoint: {} resources{whose}", c.resources);
    }
    let _ = write!(out, "done in {} ms", r.duration_ms);
    out
}
