//! The stage lock's commands `lock`, `unlock` and `locks`: their flags,
//! running them, and their human output.

use std::fmt::Write;

use clap::Args;
use serde_json::json;

use super::flags::{GlobalArgs, LockPlaceArgs, LockWaitArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::lock::{
    ListOptions, LockInfo, LockOptions, LockReport, UnlockOptions, UnlockReport,
};
use crate::stage::project::{Caller, CommonOptions};

#[derive(Debug, Args)]
pub(super) struct LockArgs {
    #[command(flatten)]
    pub(super) stage: StageArgs,
    #[command(flatten)]
    pub(super) place: LockPlaceArgs,
    #[command(flatten)]
    pub(super) wait: LockWaitArgs,
}

#[derive(Debug, Args)]
pub(super) struct UnlockArgs {
    #[command(flatten)]
    pub(super) stage: StageArgs,
    #[command(flatten)]
    pub(super) place: LockPlaceArgs,
    /// Delete the lock whoever holds it (says whose it was).
    #[arg(long)]
    pub(super) force: bool,
}

#[derive(Debug, Args)]
pub(super) struct LocksArgs {
    #[command(flatten)]
    pub(super) place: LockPlaceArgs,
}

/// `lock`: takes the stage's lock, telling of the wait as progress.
pub(super) fn lock(args: &LockArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let options = LockOptions {
        common: args.stage.common(global),
        remote: args.place.remote.clone(),
        lock: args.wait.request(&args.place),
    };
    let report = crate::ops::lock::lock(&options, env, &mut |line| ui.progress(line))?;
    ui.result(&render_lock(&report), &to_json(&report));
    Ok(())
}

/// `unlock`: releases the stage's lock (anyone's with `--force`).
pub(super) fn unlock(
    args: &UnlockArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = UnlockOptions {
        common: args.stage.common(global),
        remote: args.place.remote.clone(),
        prefix: args.place.lock_ref_prefix.clone(),
        force: args.force,
    };
    let report = crate::ops::lock::unlock(&options, env)?;
    ui.result(&render_unlock(&report), &to_json(&report));
    Ok(())
}

/// `locks`: lists the stage locks on the remote.
pub(super) fn locks(
    args: &LocksArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = ListOptions {
        common: CommonOptions {
            cwd: global.cwd.clone(),
            caller: Caller::Cli,
            ..CommonOptions::default()
        },
        remote: args.place.remote.clone(),
        prefix: args.place.lock_ref_prefix.clone(),
    };
    let locks = crate::ops::lock::list(&options, env)?;
    ui.result(&render_locks(&locks), &json!({ "locks": to_json(&locks) }));
    Ok(())
}

/// The lock taken, and the expired one it replaced.
pub fn render_lock(r: &LockReport) -> String {
    let mut out = String::new();
    if let Some(broke) = &r.broke {
        let _ = writeln!(out, "broke the expired lock of {}", broke.describe());
    }
    let how = if r.already_held {
        "already held by this checkout"
    } else {
        "locked"
    };
    let _ = write!(
        out,
        "{how} {}/{} on {} ({} -> {}, expires {})",
        r.app,
        r.stage,
        r.remote,
        r.lock_ref,
        &r.commit[..12],
        r.holder.expires
    );
    if r.waited_ms >= 1000 {
        let _ = write!(out, " after waiting {} s", r.waited_ms / 1000);
    }
    out
}

/// Whether a lock was released, and whose it was.
pub fn render_unlock(r: &UnlockReport) -> String {
    match (&r.was, r.released) {
        (Some(was), true) => format!("deleted the lock {} of {}", r.lock_ref, was.describe()),
        (None, true) => format!("released {}/{} ({})", r.app, r.stage, r.lock_ref),
        (_, false) => format!("no lock to release: {} does not exist", r.lock_ref),
    }
}

/// One line per lock.
pub fn render_locks(locks: &[LockInfo]) -> String {
    if locks.is_empty() {
        return "no stage locks".into();
    }
    locks
        .iter()
        .map(|l| {
            let expired = if l.expired { " [EXPIRED]" } else { "" };
            let url = l.run_url_suffix();
            format!("{}{expired}: {}{url}", l.lock_ref, l.describe())
        })
        .collect::<Vec<_>>()
        .join("\n")
}
