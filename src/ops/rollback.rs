//! `rollback`: under the stage lock, restores the stage's state files
//! (`app/<stage>.json`, `secret/<stage>.json`, its passphrase) as they were
//! at a revision, as a NEW commit on the branch's tip (history is never
//! rewritten), pushed like a state commit: a compare-and-swap on the branch
//! with the lock released in the same atomic push. Refused when the
//! passphrase at the revision differs from the current one (the secrets set
//! since would become unreadable) unless forced; forced where no key
//! decrypts both, the tip's passphrase file is kept (older ciphertext may
//! open with a key a rekey removed since). Cloud resources change only at
//! the next deploy.

use std::time::Instant;

use git2::{Oid, Repository};
use serde::Serialize;

use crate::env::Env;
use crate::error::{Error, ErrorCode, Result};
use crate::git::gitx::{self, TreeBlob};
use crate::git::remote::{git_error, Remote};
use crate::ops::follow;
use crate::ops::history::open_repo;
use crate::ops::land::{self, Build, Landing, Lane, Tip, Why, PUSH_TIMEOUT_ENV};
use crate::ops::lock::{Carried, LockRequest, StageLock};
use crate::ops::message;
use crate::stage::layout::{state_files, Kind};
use crate::stage::project::{self, CommonOptions, StageContext};
use crate::stage::seal::Keyring;
use crate::warning::Warning;

/// What the user is told after every rollback.
pub const CLOUD_NOTE: &str = "Only the state in the repository was rolled back: cloud resources change at the next deploy, which makes them match this state. Run `sst refresh` first (after `sst-local-state prepare`) to see how the cloud differs from it.";

/// Options of [`rollback`].
#[derive(Debug, Clone, Default)]
pub struct RollbackOptions {
    /// Stage, app, paths.
    pub common: CommonOptions,
    /// The revision to restore the stage's files from.
    pub to: String,
    /// Restore even when the passphrase at `to` differs from the current one.
    pub force: bool,
    /// Branch; else env, `package.json`, CI variables, the checked-out branch.
    pub branch: Option<String>,
    /// Remote; else env `SST_LOCAL_STATE_REMOTE`, `package.json`, `origin`.
    pub remote: Option<String>,
    /// How to take the stage lock.
    pub lock: LockRequest,
}

/// One stage file the rollback changes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolledFile {
    /// What the file holds (`app`, `secret`, `passphrase`).
    pub kind: Kind,
    /// Path in the repository, from its root.
    pub path: String,
    /// `restored` (content as at the revision) or `removed` (absent there).
    pub change: &'static str,
    /// The blob restored (None when removed).
    pub blob: Option<String>,
}

/// The result of [`rollback`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackReport {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The revision as given.
    pub rev: String,
    /// The commit it names (`Rollback-To`).
    pub to: String,
    /// The branch tip the rollback was built on (`Rollback-From`).
    pub from: String,
    /// The new commit (None: the tip already holds the revision's files).
    pub commit: Option<String>,
    /// Whether a commit was made and pushed.
    pub committed: bool,
    /// The branch.
    pub branch: String,
    /// The remote's name.
    pub remote: String,
    /// The files changed.
    pub files: Vec<RolledFile>,
    /// The passphrase was rolled back too: the revision's differs from the
    /// tip's (only with `force`).
    pub passphrase_changed: bool,
    /// Whether the two passphrases were compared. False only with `force`
    /// when no key at hand decrypts both: the tip's passphrase file is then
    /// kept as it is (never older ciphertext, which keys removed since may
    /// open) and `note` says so.
    pub passphrase_compared: bool,
    /// The stage lock held during the rollback.
    pub lock_ref: String,
    /// Whether the lock was released.
    pub lock_released: bool,
    /// Push attempts.
    pub attempts: u32,
    /// The commit message.
    pub message: Option<String>,
    /// What a rollback does and does not do (cloud resources, `sst refresh`).
    pub note: String,
    /// Whether this checkout's HEAD (and the stage's files in its worktree)
    /// moved to the new commit: when HEAD was at the tip it was built on.
    pub head_updated: bool,
    /// Findings that did not stop the rollback (`CHECKOUT_BEHIND`: the exact
    /// command that brings the new commit into this checkout).
    pub warnings: Vec<Warning>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// Paths (from the repository's root) of the stage's own files: its
/// checkpoint, secrets and passphrase (plain and sealed); the fallback
/// files are every stage's, never rolled back.
struct Paths {
    app: String,
    secret: String,
    passphrase: String,
    sealed: String,
}

impl Paths {
    fn of(ctx: &StageContext, rel_root: &camino::Utf8Path) -> Paths {
        let files = state_files(ctx);
        let file = |kind: Kind| &files[kind];
        let path = |rel: &camino::Utf8Path| gitx::tree_path(rel_root, rel);
        let passphrase = file(Kind::Passphrase);
        Paths {
            app: path(&file(Kind::App).repo_rel),
            secret: path(&file(Kind::Secret).repo_rel),
            passphrase: path(&passphrase.repo_rel),
            sealed: path(
                passphrase
                    .sealed_rel
                    .as_ref()
                    .expect("a passphrase has a sealed form"),
            ),
        }
    }

    fn kind(&self, path: &str) -> Kind {
        if path == self.app {
            Kind::App
        } else if path == self.secret {
            Kind::Secret
        } else {
            Kind::Passphrase
        }
    }

    fn passphrase_paths(&self) -> [&String; 2] {
        [&self.passphrase, &self.sealed]
    }

    fn all(&self) -> [&String; 4] {
        [&self.app, &self.secret, &self.passphrase, &self.sealed]
    }
}

/// The stage's files in one commit: (path, blob) for each of [`Paths::all`].
fn files_at(commit: &git2::Commit, paths: &Paths) -> Result<Vec<(String, Option<Oid>)>> {
    paths
        .all()
        .into_iter()
        .map(|p| Ok((p.clone(), gitx::blob_at(commit, p)?)))
        .collect()
}

/// The passphrase's plain bytes in `commit` (None: it has none).
fn passphrase_at(
    repo: &Repository,
    commit: &git2::Commit,
    paths: &Paths,
    keys: &Keyring,
) -> Result<Option<Vec<u8>>> {
    let read = |oid: Oid| {
        repo.find_blob(oid)
            .map(|b| b.content().to_vec())
            .map_err(|e| git_error("reading the passphrase", &e))
    };
    if let Some(sealed) = gitx::blob_at(commit, &paths.sealed)? {
        let shown = format!("{}:{}", &commit.id().to_string()[..12], paths.sealed);
        return Ok(Some(
            keys.open(camino::Utf8Path::new(&shown), &read(sealed)?)?,
        ));
    }
    gitx::blob_at(commit, &paths.passphrase)?
        .map(read)
        .transpose()
        .map(|p| p.map(|b| String::from_utf8_lossy(&b).trim().as_bytes().to_vec()))
}

/// Whether the passphrase differs between the two commits (same blobs:
/// never; a tip without one, as after the stage's removal, has no secrets
/// to orphan: never; else the decrypted contents are compared).
fn passphrase_differs(
    repo: &Repository,
    to: &git2::Commit,
    tip: &git2::Commit,
    paths: &Paths,
    keys: &Keyring,
) -> Result<bool> {
    let same_blobs = paths
        .passphrase_paths()
        .into_iter()
        .map(|p| Ok(gitx::blob_at(to, p)? == gitx::blob_at(tip, p)?))
        .collect::<Result<Vec<bool>>>()?
        .into_iter()
        .all(|same| same);
    if same_blobs {
        return Ok(false);
    }
    let plain = |bytes: Option<Vec<u8>>| bytes.map(|b| trimmed(&b));
    let Some(now) = plain(passphrase_at(repo, tip, paths, keys)?) else {
        return Ok(false);
    };
    Ok(plain(passphrase_at(repo, to, paths, keys)?) != Some(now))
}

/// A passphrase as text, without the whitespace around it.
fn trimmed(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// What the new commit changes on `tip`: upserts and removals.
struct Plan {
    upserts: Vec<TreeBlob>,
    removed: Vec<String>,
    files: Vec<RolledFile>,
    passphrase_changed: bool,
    /// Why the passphrases were not compared (forced, no key for both).
    not_compared: Option<String>,
}

/// How the note starts when the passphrases were not compared.
const KEPT_NOTE: &str = "The passphrases could not be compared";

/// The comparison of the revision's passphrase with the current one
/// (`differs`), if it could be made: with `force`, one that needs a key or
/// a variable this machine lacks is no comparison (`Err` with the note
/// saying why and what was kept); any other failure, or any failure
/// without `force`, stops the rollback.
fn compared(differs: Result<bool>, force: bool) -> Result<std::result::Result<bool, String>> {
    match differs {
        Ok(d) => Ok(Ok(d)),
        Err(e)
            if force
                && matches!(
                    e.code(),
                    ErrorCode::AgeKeyMissing | ErrorCode::DecryptFailed | ErrorCode::PassphraseMissing
                ) =>
        {
            Ok(Err(format!("{KEPT_NOTE} ({}: {e}): the tip's passphrase was kept as it is, never the revision's older ciphertext (a key removed since may open that). If the revision's passphrase differs, the restored secrets will not decrypt with it: run the rollback where a key decrypts both.", e.code())))
        }
        Err(e) => Err(e),
    }
}

/// The stage's passphrase as this run has it, for the comparison with the
/// revision's: the branch's (`tip`), or, in env mode, the environment's.
enum Current<'c> {
    /// The passphrase files on the branch's tip.
    Tip(&'c git2::Commit<'c>),
    /// Env mode: `SST_PASSPHRASE` (the repository holds none, and a
    /// rollback never writes one into it); `PASSPHRASE_MISSING` when unset,
    /// an error only if the revision has a passphrase to compare.
    Env(Result<Vec<u8>>),
}

/// The edits that make the stage's files on `tip` what they were at `to`.
/// An unchanged passphrase stays as the tip has it (it may have been
/// encrypted or rekeyed since); in env mode the passphrase files are never
/// written or removed.
fn plan(
    repo: &Repository,
    to: &git2::Commit,
    tip: &git2::Commit,
    paths: &Paths,
    keys: &Keyring,
    options: &RollbackOptions,
    current: Current,
) -> Result<Plan> {
    let env_mode = matches!(current, Current::Env(_));
    let differs = match current {
        Current::Tip(tip) => passphrase_differs(repo, to, tip, paths, keys),
        Current::Env(now) => passphrase_at(repo, to, paths, keys).and_then(|then| match then {
            None => Ok(false),
            Some(then) => now.map(|now| trimmed(&then) != trimmed(&now)),
        }),
    };
    // forced without a key for both sides: the tip's passphrase stays
    let (differs, not_compared) = match compared(differs, options.force)? {
        Ok(d) => (d, None),
        Err(why) => (false, Some(why)),
    };
    if differs && !options.force {
        return Err(Error::PassphraseChanged {
            to: match to.id().to_string() {
                id if id == options.to => id,
                id => format!("{} ({id})", options.to),
            },
            tip: tip.id().to_string(),
            force: options.common.caller.force_flag(),
        });
    }
    let at_tip = files_at(tip, paths)?;
    // a tip without a passphrase (the stage was removed) gets the revision's
    let tip_has_passphrase = at_tip
        .iter()
        .any(|(p, o)| o.is_some() && paths.passphrase_paths().contains(&p));
    let mut plan = Plan {
        upserts: Vec::new(),
        removed: Vec::new(),
        files: Vec::new(),
        passphrase_changed: differs,
        not_compared,
    };
    for (path, wanted) in files_at(to, paths)? {
        let is_passphrase = paths.passphrase_paths().contains(&&path);
        let now = at_tip
            .iter()
            .find(|(p, _)| *p == path)
            .and_then(|(_, o)| *o);
        let tip_keeps_it = env_mode || (!differs && tip_has_passphrase);
        if (is_passphrase && tip_keeps_it) || now == wanted {
            continue;
        }
        match wanted {
            Some(blob) => plan.upserts.push(TreeBlob {
                path: path.clone(),
                blob,
            }),
            None => plan.removed.push(path.clone()),
        }
        plan.files.push(RolledFile {
            kind: paths.kind(&path),
            change: if wanted.is_some() {
                "restored"
            } else {
                "removed"
            },
            blob: wanted.map(|b| b.to_string()),
            path,
        });
    }
    Ok(plan)
}

/// The commit `rev` names (`INVALID_OPTION`, as `--to` / `options.to`, when none).
fn commit_at<'r>(
    repo: &'r Repository,
    rev: &str,
    options: &RollbackOptions,
) -> Result<git2::Commit<'r>> {
    crate::git::revision::commit_named(repo, rev)
        .map_err(|reason| Error::option(options.common.caller.name("to", "to"), reason))
}

/// Restores the stage's files as they were at `options.to` in a new commit
/// on the branch, under the stage lock; `progress` hears the lock wait.
pub fn rollback(
    options: &RollbackOptions,
    env: &Env,
    progress: &mut dyn FnMut(&str),
) -> Result<RollbackReport> {
    let started = Instant::now();
    let ctx = project::resolve(&options.common, env)?;
    ctx.refuse_state_branch("rollback")?;
    let (repo, rel_root) = open_repo(&ctx)?;
    let stage_lock = StageLock::open(
        &ctx,
        &repo,
        env,
        &options.remote,
        &options.lock.prefix,
        options.common.caller,
    )?;
    let request = LockRequest {
        command: Some(
            options
                .lock
                .command
                .clone()
                .unwrap_or_else(|| format!("sst-local-state rollback --to {}", options.to)),
        ),
        ..options.lock.clone()
    };
    let taken = stage_lock.take(&request, env, progress)?;
    let result = under_lock(
        options,
        env,
        &ctx,
        &repo,
        &rel_root,
        &stage_lock.remote,
        started,
    );
    // nothing pushed with the lock: release it here, as commit does; after
    // a failure only a lock this run took (one held before stays held)
    let release = match &result {
        Ok(report) => !report.lock_released,
        Err(_) => !taken.already_held,
    };
    let lost = matches!(result, Err(Error::LockLost { .. }));
    let mut released = false;
    if release {
        match stage_lock.release(false) {
            Ok(r) => released = r.released,
            // as LOCK_LOST says: another run holds it now (never a hint to break it)
            Err(Error::LockNotHeld { .. }) if lost => {}
            Err(e) => progress(&format!("releasing the stage lock failed: {e}")),
        }
    }
    result.map(|r| RollbackReport {
        lock_ref: stage_lock.lock_ref.clone(),
        lock_released: r.lock_released || released,
        ..r
    })
}

/// The rollback proper, under the stage lock: builds the commit on the
/// branch's tip and lands it (see [`land`]), the lock released by the same
/// push, again on the new tip while the branch moves.
fn under_lock(
    options: &RollbackOptions,
    env: &Env,
    ctx: &StageContext,
    repo: &Repository,
    rel_root: &camino::Utf8Path,
    remote: &Remote<'_>,
    started: Instant,
) -> Result<RollbackReport> {
    let run = LockedRollback {
        options,
        env,
        ctx,
        repo,
        remote,
        paths: Paths::of(ctx, rel_root),
        keys: Keyring::new(env, &ctx.config_dir).with_recipients_file(
            ctx.project_root
                .join(crate::stage::layout::recipients_rel(ctx)),
        ),
        branch: project::pick_branch(
            &options.branch,
            options.common.caller,
            &ctx.settings,
            env,
            repo,
        )?,
        started,
    };
    let carried = Carried::held(repo, ctx, &remote.name, false, env, None)?;
    let lane = Lane::new(remote, &run.branch, env)?.carrying(carried.as_ref());
    let mut last = None;
    let landing = land::land(&lane, None, &mut |tip| {
        let (report, made) = run.build(tip)?;
        let built = made.as_ref().map(|m| m.oid);
        last = Some((report, made));
        Ok(built.map_or(Build::Held, Build::Commit))
    })?;
    let (report, made) = last.expect("a landing builds at least once");
    match (landing, made) {
        (Landing::Landed { commit, attempts }, Some(made)) => {
            let (head_updated, warning) = follow::follow(
                ctx,
                repo,
                &follow::PushedCommit {
                    remote: &remote.name,
                    branch: &run.branch,
                    pushed: commit.oid,
                    tip: commit.on.unwrap_or(commit.oid),
                },
            );
            Ok(run.finished(RollbackReport {
                commit: Some(commit.oid.to_string()),
                committed: true,
                lock_released: carried.is_some(),
                attempts,
                message: Some(made.message),
                head_updated,
                warnings: warning.into_iter().collect(),
                ..report
            }))
        }
        (Landing::Unlanded(unlanded), _) => {
            let note = match unlanded.why {
                Why::LockLost { .. } => "The rollback was NOT pushed; run it again once the stage lock is free.".into(),
                _ => format!("The rollback was NOT pushed: run it again when the branch is quieter (or raise {PUSH_TIMEOUT_ENV})."),
            };
            Err(unlanded.error(None, note))
        }
        (Landing::Held { attempts, .. } | Landing::Landed { attempts, .. }, _) => {
            Ok(run.finished(RollbackReport { attempts, ..report }))
        }
    }
}

/// What every attempt of one rollback uses.
struct LockedRollback<'a> {
    /// What was asked.
    options: &'a RollbackOptions,
    /// The environment (identities, key files).
    env: &'a Env,
    /// The stage.
    ctx: &'a StageContext,
    /// The project's repository.
    repo: &'a Repository,
    /// The remote holding the branch and the lock.
    remote: &'a Remote<'a>,
    /// The stage's files, by path from the repository's root.
    paths: Paths,
    /// Keys that open sealed passphrases (to compare them).
    keys: Keyring<'a>,
    /// The branch rolled back.
    branch: String,
    /// When the rollback started.
    started: Instant,
}

/// The rollback commit made on the tip (not pushed yet).
struct Made {
    /// Its id.
    oid: Oid,
    /// Its message.
    message: String,
}

impl<'a> LockedRollback<'a> {
    /// The passphrase the revision's is compared with: the tip's, or in env
    /// mode the environment's.
    fn current<'c>(&self, tip: &'c git2::Commit<'c>) -> Current<'c> {
        if !self.ctx.passphrase_mode.mode.keeps_out(Kind::Passphrase) {
            return Current::Tip(tip);
        }
        Current::Env(crate::stage::passphrase_mode::from_env(
            self.env,
            Kind::Passphrase,
            &self.ctx.passphrase_mode,
        ))
    }

    /// The rollback planned on `tip` (`INVALID_OPTION` when the remote has
    /// no such branch): its report, and its commit unless the tip holds the
    /// revision's files already.
    fn build(&self, tip: &Tip<'_>) -> Result<(RollbackReport, Option<Made>)> {
        let tip = self.tip_commit(tip.id)?;
        let options = self.options;
        let to = commit_at(self.repo, &options.to, options)?;
        self.require_state_at(&to)?;
        let current = self.current(&tip);
        let plan = plan(
            self.repo,
            &to,
            &tip,
            &self.paths,
            &self.keys,
            options,
            current,
        )?;
        let report = self.report(&to, &tip, &plan);
        if plan.files.is_empty() {
            return Ok((report, None));
        }
        Ok((report, Some(self.commit(&to, &tip, &plan)?)))
    }

    /// The branch's tip, as fetched (`INVALID_OPTION` when the remote has
    /// no such branch).
    fn tip_commit(&self, tip: Option<Oid>) -> Result<git2::Commit<'a>> {
        let tip_id = tip.ok_or_else(|| {
            Error::option(
                self.options.common.caller.name("branch", "branch"),
                format!(
                    "remote {} has no branch {}: nothing to roll back",
                    self.remote.name, self.branch
                ),
            )
        })?;
        self.repo
            .find_commit(tip_id)
            .map_err(|e| git_error("reading the branch tip", &e))
    }

    /// `STATE_MISSING` unless the stage had state (beyond a passphrase) at `to`.
    fn require_state_at(&self, to: &git2::Commit) -> Result<()> {
        let paths = &self.paths;
        if files_at(to, paths)?
            .iter()
            .all(|(p, o)| o.is_none() || paths.passphrase_paths().contains(&p))
        {
            return Err(Error::StateMissing {
                file: format!(
                    "{}:{} (the stage {} had no state at that revision)",
                    self.options.to, paths.app, self.ctx.stage
                )
                .into(),
            });
        }
        Ok(())
    }

    /// The report of `plan` on `tip`, nothing committed yet.
    fn report(&self, to: &git2::Commit, tip: &git2::Commit, plan: &Plan) -> RollbackReport {
        RollbackReport {
            app: self.ctx.app.to_string(),
            stage: self.ctx.stage.to_string(),
            rev: self.options.to.clone(),
            to: to.id().to_string(),
            from: tip.id().to_string(),
            commit: None,
            committed: false,
            branch: self.branch.clone(),
            remote: self.remote.name.clone(),
            files: plan.files.clone(),
            passphrase_changed: plan.passphrase_changed,
            passphrase_compared: plan.not_compared.is_none(),
            lock_ref: String::new(),
            lock_released: false,
            attempts: 0,
            message: None,
            note: match &plan.not_compared {
                None => CLOUD_NOTE.into(),
                Some(why) => format!("{why} {CLOUD_NOTE}"),
            },
            head_updated: false,
            warnings: Vec::new(),
            duration_ms: 0,
        }
    }

    /// `report` with the wall time so far.
    fn finished(&self, report: RollbackReport) -> RollbackReport {
        RollbackReport {
            duration_ms: self.started.elapsed().as_millis() as u64,
            ..report
        }
    }

    /// The rollback commit of `plan` on `tip` (in the object store only).
    fn commit(&self, to: &git2::Commit, tip: &git2::Commit, plan: &Plan) -> Result<Made> {
        let repo = self.repo;
        let message = rollback_message(self.ctx, &self.options.to, to, tip, plan);
        let tree = gitx::tree_edited(repo, Some(tip), &plan.upserts, &plan.removed)?;
        let (author, committer) = message::identities(repo, self.env)?;
        let oid = repo
            .commit(None, &author, &committer, &message, &tree, &[tip])
            .map_err(|e| git_error("creating the rollback commit", &e))?;
        Ok(Made { oid, message })
    }
}

/// The rollback commit's message: subject and trailers naming the rollback.
fn rollback_message(
    ctx: &StageContext,
    rev: &str,
    to: &git2::Commit,
    tip: &git2::Commit,
    plan: &Plan,
) -> String {
    let short = &to.id().to_string()[..12];
    let template = format!("chore(sst-state): {{app}}/{{stage}} roll back to {short} [skip ci]");
    let mut extra = vec![
        "SST-Command: rollback".to_string(),
        format!("Rollback-To: {}", to.id()),
        format!("Rollback-From: {}", tip.id()),
    ];
    if rev != to.id().to_string() {
        extra.push(format!("Rollback-Rev: {}", rev.replace('\n', " ")));
    }
    if plan.passphrase_changed {
        extra.push("Rollback-Passphrase-Changed: forced".into());
    }
    if plan.not_compared.is_some() {
        extra.push(
            "Rollback-Passphrase-Kept: forced, not compared (no key at hand decrypts both)".into(),
        );
    }
    let facts = message::MessageFacts {
        changed: plan.files.iter().map(|f| f.kind).collect(),
        extra,
        removed: false,
        ..message::MessageFacts::default()
    };
    message::compose(ctx, Some(&template), &facts)
}
