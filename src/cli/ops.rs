//! The CLI of the operations on a stage's history and SST's files: history
//! (and, below, show, prune, doctor): their flags, and their human output.

use std::fmt::Write as _;

use clap::Args;

use super::{to_json, GlobalArgs, LockPlaceArgs, LockWaitArgs, StageArgs, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::doctor::{DoctorOptions, DoctorReport, Level};
use crate::ops::history::{HistoryOptions, HistoryReport};
use crate::ops::prune::{PruneOptions, PruneReport};
use crate::ops::rollback::{RollbackOptions, RollbackReport};
use crate::ops::show::{ShowOptions, ShowReport};

/// Flags of `history`.
#[derive(Debug, Args)]
pub(super) struct HistoryArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// At most N entries, newest first.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Walk history from this revision [default: HEAD].
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
}

pub(super) fn history(
    args: &HistoryArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = HistoryOptions {
        common: args.stage.common(global),
        limit: args.limit,
        rev: args.rev.clone(),
    };
    let report = crate::ops::history::history(&options, env)?;
    for path in &report.paths {
        ui.detail(&format!("following {path}"));
    }
    ui.result(&render_history(&report, ui.verbose), &to_json(&report));
    Ok(())
}

/// URNs shown per list in human output (all with --verbose).
const SHOWN: usize = 5;

fn render_history(r: &HistoryReport, all: bool) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "history {}/{}: {} change(s) in {} commit(s) walked",
        r.app,
        r.stage,
        r.entries.len(),
        r.commits_walked
    );
    for e in &r.entries {
        let mut facts = Vec::new();
        if let Some(c) = &e.command {
            facts.push(c.clone());
        }
        if let Some(u) = &e.update_id {
            facts.push(format!("update {u}"));
        }
        if let Some(x) = e.exit_code {
            facts.push(format!("exit {x}"));
        }
        if let Some(n) = e.errors {
            facts.push(format!("{n} error(s)"));
        }
        let files: Vec<&str> = e.files.iter().map(|k| k.label()).collect();
        let _ = write!(
            out,
            "\n{} {} {} <{}>{}\n    {}",
            &e.commit[..12.min(e.commit.len())],
            e.time,
            e.author,
            e.email,
            if facts.is_empty() {
                String::new()
            } else {
                format!("  [{}]", facts.join(", "))
            },
            e.subject
        );
        let count = |n: Option<u32>| n.map_or("-".to_string(), |n| n.to_string());
        let _ = write!(
            out,
            "\n    files: {}; resources {} -> {} (+{} -{} ~{})",
            files.join(", "),
            count(e.resources_before),
            count(e.resources),
            e.added.len(),
            e.removed.len(),
            e.changed.len()
        );
        if let Some(p) = e.pending_operations.filter(|p| *p > 0) {
            let _ = write!(out, "; {p} pending operation(s)");
        }
        if let Some(why) = &e.invalid {
            let _ = write!(out, "\n    checkpoint unreadable: {why}");
        }
        for (sign, list) in [("+", &e.added), ("-", &e.removed), ("~", &e.changed)] {
            let shown = if all {
                list.len()
            } else {
                SHOWN.min(list.len())
            };
            for urn in &list[..shown] {
                let _ = write!(out, "\n      {sign} {urn}");
            }
            if shown < list.len() {
                let _ = write!(
                    out,
                    "\n      {sign} ... and {} more (--verbose or --json lists all)",
                    list.len() - shown
                );
            }
        }
        if let Some(url) = &e.run_url {
            let _ = write!(out, "\n    run: {url}");
        }
        if let Some(h) = &e.lock_holder {
            let _ = write!(out, "\n    lock holder: {h}");
        }
    }
    out
}

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

pub(super) fn rollback(
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
    ui.result(&render_rollback(&report), &to_json(&report));
    ui.warn_all(&report.warnings);
    Ok(())
}

fn render_rollback(r: &RollbackReport) -> String {
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

/// Flags of `show`.
#[derive(Debug, Args)]
pub(super) struct ShowArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// The revision (a commit, branch, tag, `HEAD~3`, ...) [default: HEAD].
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
}

pub(super) fn show(args: &ShowArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let options = ShowOptions {
        common: args.stage.common(global),
        rev: args.rev.clone(),
        whole: global.json,
    };
    let report = crate::ops::show::show(&options, env)?;
    ui.result(&render_show(&report), &to_json(&report));
    Ok(())
}

fn render_show(r: &ShowReport) -> String {
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

pub(super) fn prune(
    args: &PruneArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = PruneOptions {
        common: args.stage.common(global),
        keep: args.keep,
        dry_run: args.dry_run,
    };
    let report = crate::ops::prune::prune(&options, env)?;
    for f in &report.removed {
        ui.detail(&format!("{} {} ({} bytes)", f.kind, f.path, f.bytes));
    }
    ui.result(&render_prune(&report), &to_json(&report));
    Ok(())
}

fn render_prune(r: &PruneReport) -> String {
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

/// `doctor`: prints every check; the exit code is 1 when one is an error.
pub(super) fn doctor(args: &StageArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> i32 {
    let options = DoctorOptions {
        common: args.common(global),
    };
    let report = crate::ops::doctor::doctor(&options, env);
    ui.result(&render_doctor(&report), &to_json(&report));
    i32::from(report.errors > 0)
}

fn render_doctor(r: &DoctorReport) -> String {
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
