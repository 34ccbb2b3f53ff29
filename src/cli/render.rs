//! Human-readable renderings of command reports (the CLI's default output).

use std::fmt::Write;

use camino::Utf8Path;

use crate::ops::commit::CommitReport;
use crate::ops::init::InitReport;
use crate::ops::lock::{LockInfo, LockReport, UnlockReport};
use crate::ops::prepare::{Action, PrepareReport};
use crate::ops::status::{StatusReport, SyncState};

fn rel<'a>(path: &'a Utf8Path, base: &Utf8Path) -> &'a Utf8Path {
    path.strip_prefix(base).unwrap_or(path)
}

/// One line per file, then the summary and the time taken.
pub fn prepare(r: &PrepareReport) -> String {
    let mut out = String::new();
    let verb = if r.dry_run {
        "prepare (dry run)"
    } else {
        "prepare"
    };
    if let Some(lock) = &r.lock {
        let _ = writeln!(out, "{}", self::lock(lock));
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

/// One line per file, the checkpoint summaries and SST's lock.
pub fn status(r: &StatusReport) -> String {
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

/// One line per step with its time, the changed files, the outcome.
pub fn commit(r: &CommitReport) -> String {
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

/// The lock taken, and the expired one it replaced.
pub fn lock(r: &LockReport) -> String {
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
pub fn unlock(r: &UnlockReport) -> String {
    match (&r.was, r.released) {
        (Some(was), true) => format!("deleted the lock {} of {}", r.lock_ref, was.describe()),
        (None, true) => format!("released {}/{} ({})", r.app, r.stage, r.lock_ref),
        (_, false) => format!("no lock to release: {} does not exist", r.lock_ref),
    }
}

/// One line per lock.
pub fn locks(locks: &[LockInfo]) -> String {
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

/// What init did and what to do next (never the secret key itself).
pub fn init(r: &InitReport) -> String {
    let listed = if r.added_recipient {
        "added to"
    } else {
        "already in"
    };
    let file = &r.recipients_file;
    let mut lines = Vec::new();
    if let Some(key_file) = &r.key_file {
        let key = if r.created_key { "created" } else { "reused" };
        lines.push(format!(
            "age key {key}: {key_file} (mode 0600; keep it out of the repository)"
        ));
    }
    lines.push(format!("public key {} {listed} {file}", r.public_key));
    lines.push(match (&r.key_file, r.joining) {
        (Some(key_file), false) => format!(
            "next: commit {file}, and store the content of {key_file} as the CI secret SST_LOCAL_STATE_AGE_KEY"
        ),
        (Some(_), true) => format!(
            "next: commit {file}; then a member whose key already decrypts the passphrases runs `sst-local-state rekey` (until then this key cannot decrypt passphrases encrypted before it was listed). Keep this key to yourself: CI keeps the key it already has"
        ),
        (None, _) => format!(
            "next: commit {file}; then a member whose key already decrypts the passphrases runs `sst-local-state rekey`, so the new key can decrypt them"
        ),
    });
    lines.join("\n")
}

/// The result of `rekey` / `encrypt`: what changed, where it went, and the notes.
pub fn secrets(command: &str, r: &crate::ops::passphrases::PassphrasesReport) -> String {
    let mut lines = Vec::new();
    let what = format!(
        "{} passphrase file{}, {} recipient{}",
        r.passphrases,
        if r.passphrases == 1 { "" } else { "s" },
        r.recipients,
        if r.recipients == 1 { "" } else { "s" }
    );
    if r.files.is_empty() {
        lines.push(format!("{command}: nothing to change ({what})"));
    } else {
        let verb = if r.dry_run { "would change" } else { "changed" };
        lines.push(format!(
            "{command}: {verb} {} file(s) ({what})",
            r.files.len()
        ));
        for f in &r.files {
            lines.push(format!("  {} {}", f.change, f.path));
        }
        match (&r.commit, &r.branch) {
            (Some(c), Some(b)) if r.pushed => lines.push(format!(
                "committed {} and pushed to {} {b}",
                &c[..12.min(c.len())],
                r.remote.as_deref().unwrap_or("origin")
            )),
            (Some(c), _) => lines.push(format!("committed {} (not pushed)", &c[..12.min(c.len())])),
            _ => {}
        }
    }
    for note in &r.notes {
        lines.push(format!("note: {note}"));
    }
    lines.join("\n")
}

/// The line printed on stderr when a JS call fails while SST evaluates
/// `sst.config.ts` (the process runs `.sst/platform/sst.config.<n>.mjs`):
/// SST itself then shows only "Unexpected error occurred", and this line is
/// the first of what `sst … --print-logs` shows. `None` anywhere else (a
/// deploy script handles the rejection itself).
pub fn sst_eval_error_line(error: &crate::error::Error, script: Option<&str>) -> Option<String> {
    // SST may start it by a relative path (`node .sst/platform/…`)
    let script = format!("/{}", script?.replace('\\', "/"));
    let name = script.rsplit('/').next()?;
    let evaluated_by_sst = script.contains("/.sst/platform/")
        && name.starts_with("sst.config.")
        && name.ends_with(".mjs");
    evaluated_by_sst.then(|| format!("sst-local-state error[{}]: {error}", error.code()))
}

#[cfg(test)]
mod eval_tests {
    use super::*;

    #[test]
    fn only_inside_sst_config_evaluation() {
        let e = crate::error::Error::StageRequired;
        let line = sst_eval_error_line(&e, Some("/p/.sst/platform/sst.config.1795727527013.mjs"));
        assert!(line
            .unwrap()
            .starts_with("sst-local-state error[STAGE_REQUIRED]: "));
        assert!(sst_eval_error_line(&e, Some(".sst/platform/sst.config.1.mjs")).is_some());
        assert!(sst_eval_error_line(&e, Some("/p/deploy.mjs")).is_none());
        assert!(sst_eval_error_line(&e, Some("/p/sst.config.ts")).is_none());
        assert!(sst_eval_error_line(&e, None).is_none());
    }
}
