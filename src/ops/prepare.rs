//! Prepare: restore a stage's complete SST state from the repository into
//! SST's config dir. Every file is checked before anything is written;
//! config-dir files holding unsaved changes are never overwritten (unless
//! forced, and then only after a backup); writes are atomic and ordered so
//! an interrupted run never pairs state with a missing passphrase.

use std::time::Instant;

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::blob_id::BlobId;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsx;
use crate::git::gitx;
use crate::ops::lock::{LockReport, LockRequest, StageLock};
use crate::ops::tip;
use crate::sst::lock::{read_sst_lock, SstLock};
use crate::stage::guard;
use crate::stage::layout::{self, state_files, tool_dir, Kind, StateFile};
use crate::stage::marker::{Loaded, Marker};
use crate::stage::new_stage::{self, Policy};
use crate::stage::per_kind::PerKind;
use crate::stage::project::{self, CommonOptions, StageContext};
use crate::stage::removal;
use crate::stage::repo::read_repo_state;
use crate::stage::seal::Keyring;
use crate::stage::state::{CheckpointInfo, StateSet};
use crate::warning::Warning;

/// Options of [`prepare`].
#[derive(Debug, Clone, Default)]
pub struct PrepareOptions {
    /// Stage, app, paths.
    pub common: CommonOptions,
    /// Overwrite diverged config-dir files and remove those the repository
    /// lacks; every config-dir file it overwrites or removes is backed up first.
    pub force: bool,
    /// Report what would change; write nothing.
    pub dry_run: bool,
    /// Fail with `STATE_MISSING` when the repository has no checkpoint for the stage.
    pub require_state: bool,
    /// Take the stage's lock before writing anything, and start from the
    /// branch's newest state (see [`crate::ops::tip`]); not on a dry run.
    pub lock: Option<LockRequest>,
    /// The branch whose newest state a locked prepare starts from; else as commit picks it.
    pub branch: Option<String>,
    /// The remote holding the lock and the branch; else as commit picks it.
    pub remote: Option<String>,
    /// Whether a new stage (none of whose state the repository holds) may be
    /// deployed; else env `SST_LOCAL_STATE_NEW_STAGES`, `package.json`
    /// `sstLocalState.newStages`, then: yes outside CI, no in CI
    /// (`STAGE_UNKNOWN`, see [`crate::stage::new_stage`]).
    pub allow_new_stage: Option<bool>,
}

/// What prepare did (or would do) to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Copied from the repository into the config dir.
    Written,
    /// The config dir already held the repository's version.
    Unchanged,
    /// In neither place.
    Absent,
    /// Removed from the config dir: the repository has no such file (with
    /// `force`, after a backup; or under the lock, where the fetched branch
    /// tip removed it and the config dir held it as last synced).
    Removed,
    /// Left as it is: SST changed it since the last sync (a deploy, `sst
    /// secret set`) and the repository did not; `commit` saves it.
    Kept,
}

impl Action {
    /// The action's name in JSON and JS (`written`, `kept`, ...), the same
    /// as its serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Written => "written",
            Action::Unchanged => "unchanged",
            Action::Absent => "absent",
            Action::Removed => "removed",
            Action::Kept => "kept",
        }
    }
}

/// What the three-way comparison of one file decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    /// Nothing to decide: this action.
    Take(Action),
    /// Only the config dir moved since the last sync: keep it.
    Kept,
    /// Both moved, differently: a real divergence (`UNSAVED_STATE`).
    Diverged,
    /// The repository lacks a file the config dir holds and we synced.
    MissingInRepo,
}

/// The three-way rule of prepare for one file, with the last synced
/// version (`base`, from the marker) as the common ancestor of the
/// repository's (`repo`) and the config dir's (`config`); content hashes,
/// `None` for absent.
///
/// | repository | config dir | outcome |
/// |---|---|---|
/// | = config dir | | nothing to do |
/// | moved | = base | restored from the repository |
/// | = base | moved | kept: SST changed it, `commit` saves it |
/// | moved | moved | `UNSAVED_STATE` (`force`: backed up, restored) |
/// | present | absent | restored |
/// | absent | present, synced before | `STATE_MISSING_IN_REPO` (`force`: backed up, removed) |
/// | absent | present, never synced | kept (a first deploy not committed yet) |
///
/// `from_tip`: the repository is the branch's tip, fetched under the stage
/// lock, so a file it lacks was removed there (a rollback, a removed
/// stage), not an old checkout's gap: a synced file the config dir holds
/// unchanged is removed (it is in git history), one SST changed since is a
/// divergence (`UNSAVED_STATE`).
fn three_way(
    repo: Option<BlobId>,
    config: Option<BlobId>,
    base: Option<BlobId>,
    from_tip: bool,
) -> Merge {
    match (repo, config) {
        (None, None) => Merge::Take(Action::Absent),
        (Some(r), Some(c)) if r == c => Merge::Take(Action::Unchanged),
        (Some(_), None) => Merge::Take(Action::Written),
        (Some(_), Some(c)) if Some(c) == base => Merge::Take(Action::Written),
        (Some(r), Some(_)) if Some(r) == base => Merge::Kept,
        (Some(_), Some(_)) => Merge::Diverged,
        (None, Some(_)) if base.is_none() => Merge::Kept,
        (None, Some(c)) if from_tip && Some(c) == base => Merge::Take(Action::Removed),
        (None, Some(_)) if from_tip => Merge::Diverged,
        (None, Some(_)) => Merge::MissingInRepo,
    }
}

/// One state file in a prepare result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileOutcome {
    /// What the file holds.
    pub kind: Kind,
    /// Path in the repository.
    pub repo_path: Utf8PathBuf,
    /// Path in SST's config dir.
    pub config_path: Utf8PathBuf,
    /// What happened.
    pub action: Action,
    /// Size of the repository's version (0 when absent).
    pub bytes: u64,
}

/// The result of [`prepare`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareReport {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// Directory holding `sst.config.ts`.
    pub project_root: Utf8PathBuf,
    /// SST's config dir.
    pub config_dir: Utf8PathBuf,
    /// The state folder in the repository.
    pub state_dir: Utf8PathBuf,
    /// Per-file outcome, passphrases first.
    pub files: Vec<FileOutcome>,
    /// The repository has no checkpoint for the stage: SST will start a new one.
    pub first_deploy: bool,
    /// The stages the repository's state folder holds state for (a
    /// checkpoint, secrets or a passphrase), sorted.
    pub known_stages: Vec<String>,
    /// The counts of the checkpoint SST starts from: the config dir's when
    /// it is kept (SST changed it since the last sync), else the repository's.
    pub checkpoint: Option<CheckpointInfo>,
    /// Where the config-dir files a forced prepare overwrote or removed were
    /// backed up (with `force`, when it replaced any).
    pub backup_dir: Option<Utf8PathBuf>,
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// SST's lock for the stage, when one is left in the config dir.
    pub sst_lock: Option<SstLock>,
    /// Things worth knowing that did not stop the run.
    pub warnings: Vec<Warning>,
    /// The stage lock taken first (with `lock`).
    pub lock: Option<LockReport>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// Restores the stage's state from the repository into SST's config dir;
/// with `lock`, under the stage lock, from the branch's newest state (the
/// lock is released again when the restore fails).
pub fn prepare(options: &PrepareOptions, env: &Env) -> Result<PrepareReport> {
    let started = Instant::now();
    let ctx = project::resolve(&options.common, env)?;
    prepare_resolved(options, env, ctx, started)
}

/// [`prepare`] of the stage `ctx`, resolved already from `options.common`
/// (`run` resolves its stage once, for its prepare, its lock heartbeat and
/// its commit).
pub fn prepare_with_context(
    options: &PrepareOptions,
    ctx: StageContext,
    env: &Env,
) -> Result<PrepareReport> {
    prepare_resolved(options, env, ctx, Instant::now())
}

/// [`prepare`] once the stage is resolved; `started`: when the run began.
fn prepare_resolved(
    options: &PrepareOptions,
    env: &Env,
    ctx: StageContext,
    started: Instant,
) -> Result<PrepareReport> {
    let Some(request) = options.lock.as_ref().filter(|_| !options.dry_run) else {
        if ctx.state_branch.is_some() {
            return restore_from_state_branch(options, env, ctx, None, started);
        }
        return restore(options, env, ctx, None, started, Source::default());
    };
    let repo = gitx::discover(&ctx.project_root)?;
    let caller = options.common.caller;
    let lock = StageLock::open(&ctx, &repo, env, &options.remote, &request.prefix, caller)?;
    let taken = lock.take(request, env, &mut |line| {
        eprintln!("sst-local-state: {line}")
    })?;
    let already_held = taken.already_held;
    let restored = if ctx.state_branch.is_some() {
        restore_from_state_branch(options, env, ctx.clone(), Some(taken), started)
    } else {
        restore_from_branch(options, env, &ctx, &repo, &lock.remote, taken, started)
    };
    if restored.is_err() && !already_held {
        let _ = lock.release(false);
    }
    restored
}

/// A locked prepare of the code branch: the stage's files in the worktree
/// are brought to the fetched branch tip first.
fn restore_from_branch(
    options: &PrepareOptions,
    env: &Env,
    ctx: &StageContext,
    repo: &git2::Repository,
    remote: &crate::git::remote::Remote<'_>,
    taken: LockReport,
    started: Instant,
) -> Result<PrepareReport> {
    let caller = options.common.caller;
    project::pick_branch(&options.branch, caller, &ctx.settings, env, repo)
        .and_then(|branch| tip::refresh(ctx, repo, remote, &branch))
        .and_then(|tip| {
            let source = Source {
                from_tip: tip.is_some(),
                known_stages: None,
            };
            restore(options, env, ctx.clone(), Some(taken), started, source)
        })
}

/// State-branch mode: the repository's files are those of the state
/// branch's tip on the remote (fetched into a folder of their own: the
/// checkout is not touched), with the same checks, three-way rule and
/// writes; a file the tip lacks was removed there (as under the lock).
fn restore_from_state_branch(
    options: &PrepareOptions,
    env: &Env,
    ctx: StageContext,
    lock: Option<LockReport>,
    started: Instant,
) -> Result<PrepareReport> {
    let branch = ctx.state_branch.clone().unwrap_or_default();
    let repo = gitx::discover(&ctx.project_root)?;
    let remote_name = project::remote_name(&options.remote, env, &ctx.settings);
    let remote = crate::git::remote::Remote::open(&repo, &remote_name, env)?;
    let at_tip = tip::state_branch_files(&ctx, &repo, &remote, &branch)?;
    let tip_ctx = StageContext {
        project_root: at_tip.project_root.clone(),
        ..ctx.clone()
    };
    let source = Source {
        from_tip: at_tip.tip.is_some(),
        known_stages: Some(at_tip.known_stages.clone()),
    };
    let mut report = restore(options, env, tip_ctx, lock, started, source)?;
    // the report names the checkout's paths, not the fetched folder's
    for file in &mut report.files {
        if let Ok(rel) = file.repo_path.strip_prefix(&at_tip.project_root) {
            file.repo_path = ctx.project_root.join(rel);
        }
    }
    report.project_root = ctx.project_root.clone();
    report.state_dir = ctx.state_dir_abs();
    Ok(report)
}

/// Where prepare's repository files come from.
#[derive(Debug, Default)]
struct Source {
    /// The files are a fetched branch tip's (the worktree's brought to it
    /// under the lock, or a state branch's), so a file it lacks was removed
    /// there (see [`three_way`]).
    from_tip: bool,
    /// The stages the repository holds (None: those of the state folder read).
    known_stages: Option<Vec<String>>,
}

/// Prepare's work once the lock (if any) is held, reading the repository's
/// files as `source` says.
fn restore(
    options: &PrepareOptions,
    env: &Env,
    ctx: StageContext,
    lock: Option<LockReport>,
    started: Instant,
    source: Source,
) -> Result<PrepareReport> {
    let from_tip = source.from_tip;
    let files = state_files(&ctx);
    guard::check_repo_paths(&ctx, &files)?;
    let mut warnings = ctx.warnings.clone();
    let repo = RepoState::read(&ctx, &files, env, &mut warnings)?;
    if repo.set.get(Kind::App).is_none() && options.require_state {
        return Err(Error::StateMissing {
            file: files[Kind::App].repo_path.clone(),
        });
    }
    let known_stages = source
        .known_stages
        .unwrap_or_else(|| new_stage::known_stages(&ctx));
    let caller = options.common.caller;
    let policy = Policy::resolve(options.allow_new_stage, caller, env, &ctx.settings)?;
    let config_has_checkpoint = files[Kind::App].config_path.is_file();
    new_stage::check(&ctx, &known_stages, &policy, caller, config_has_checkpoint)?;

    // one run at a time per config dir: a concurrent prepare (another
    // project or stage: fallback files are shared) must not interleave
    // (a dry run creates nothing, not even the lock file)
    let _lock = (!options.dry_run)
        .then(|| guard::lock_config_dir(&ctx, env))
        .transpose()?;
    guard::check_config_files(&files)?;
    if !options.dry_run {
        guard::clean_config_temps(&ctx, &files);
    }
    let loaded = Marker::load(&ctx)?;
    refuse_unsaved_removal(&ctx, &files, &repo, &loaded, options)?;
    if loaded == Loaded::Corrupt {
        warnings.push(Warning::MarkerCorrupt {
            file: crate::stage::layout::marker_path(&ctx),
        });
    }
    let plan = Plan::make(&files, &repo, &loaded.marker(), from_tip, &mut warnings)?;
    plan.refusals(options)?;
    let backup_dir = plan.needs_backup(options.force).then(|| {
        tool_dir(&ctx)
            .join("backup")
            .join(ctx.app.as_str())
            .join(ctx.stage.as_str())
            .join(fsx::utc_stamp())
    });
    let checkpoint = plan.checkpoint(&files, &repo);
    let sst_lock = notices(&ctx, checkpoint, &mut warnings);
    if !options.dry_run {
        plan.apply(&ctx, &files, &repo, backup_dir.as_deref())?;
    }
    Ok(PrepareReport {
        app: ctx.app.to_string(),
        stage: ctx.stage.to_string(),
        project_root: ctx.project_root.clone(),
        config_dir: ctx.config_dir.clone(),
        state_dir: ctx.state_dir_abs(),
        first_deploy: plan.first_deploy(&repo),
        known_stages,
        files: plan.outcomes,
        checkpoint,
        backup_dir,
        dry_run: options.dry_run,
        sst_lock,
        warnings,
        lock,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// The stage's files in the repository, checked, with their content ids.
struct RepoState {
    set: StateSet,
    info: crate::stage::state::SetInfo,
    /// Content id of each file.
    hashes: PerKind<Option<BlobId>>,
}

impl RepoState {
    /// Reads and checks the repository's files (a JSON scan of the
    /// checkpoint and hashing side by side), before the config dir is even
    /// locked: a bad file in the repository changes nothing there.
    fn read(
        ctx: &StageContext,
        files: &PerKind<StateFile>,
        env: &Env,
        warnings: &mut Vec<Warning>,
    ) -> Result<RepoState> {
        let keyring = Keyring::new(env, &ctx.config_dir);
        let read = read_repo_state(ctx, files, env, &keyring, true, warnings)?;
        debug_assert!(read.unreadable.is_empty());
        let set = read.set;
        let (info, hashes) = std::thread::scope(|scope| {
            let hashes = scope.spawn(|| PerKind::from_fn(|kind| set.get(kind).map(BlobId::of)));
            let info = set.check(|kind| files[kind].repo_path.clone());
            (info, hashes.join().expect("hashing does not panic"))
        });
        Ok(RepoState {
            info: info?,
            set,
            hashes,
        })
    }
}

/// What prepare does to each file, decided by [`three_way`].
struct Plan {
    outcomes: Vec<FileOutcome>,
    /// Config-dir files that diverged from the repository.
    unsaved: Vec<StateFile>,
    /// Config-dir files the repository lacks, synced before.
    missing_in_repo: Vec<StateFile>,
    /// Config-dir files this prepare overwrites or removes (backed up first
    /// with `force`).
    replaced: Vec<StateFile>,
    /// The record of the sync this prepare makes.
    marker: Marker,
}

impl Plan {
    fn make(
        files: &PerKind<StateFile>,
        repo: &RepoState,
        base: &Marker,
        from_tip: bool,
        warnings: &mut Vec<Warning>,
    ) -> Result<Plan> {
        let mut plan = Plan {
            outcomes: Vec::new(),
            unsaved: Vec::new(),
            missing_in_repo: Vec::new(),
            replaced: Vec::new(),
            marker: Marker::default(),
        };
        for file in files {
            let repo_hash = repo.hashes[file.kind];
            let config_hash = fsx::blob_hash_file(&file.config_path)?;
            let action = match three_way(repo_hash, config_hash, base.hash(file.kind), from_tip) {
                Merge::Diverged => {
                    plan.unsaved.push(file.clone());
                    if repo_hash.is_some() {
                        Action::Written
                    } else {
                        Action::Removed
                    }
                }
                Merge::MissingInRepo => {
                    plan.missing_in_repo.push(file.clone());
                    Action::Removed
                }
                Merge::Kept => {
                    warnings.push(Warning::Unsaved {
                        file: file.config_path.clone(),
                    });
                    Action::Kept
                }
                Merge::Take(action) => action,
            };
            let overwritten = action == Action::Written && config_hash.is_some();
            if overwritten || action == Action::Removed {
                plan.replaced.push(file.clone());
            }
            plan.marker.files[file.kind] = repo_hash;
            plan.outcomes.push(FileOutcome {
                kind: file.kind,
                repo_path: repo
                    .set
                    .path(file.kind)
                    .map_or_else(|| file.repo_path.clone(), Utf8Path::to_path_buf),
                config_path: file.config_path.clone(),
                action,
                bytes: repo.set.get(file.kind).map_or(0, |b| b.len() as u64),
            });
        }
        Ok(plan)
    }

    /// Without `force`: state the repository lacks, then diverged files,
    /// are refused, naming a way out in the caller's words.
    fn refusals(&self, options: &PrepareOptions) -> Result<()> {
        if options.force {
            return Ok(());
        }
        let force = options.common.caller.force_flag();
        if !self.missing_in_repo.is_empty() {
            return Err(Error::StateMissingInRepo {
                files: self
                    .missing_in_repo
                    .iter()
                    .map(|f| f.repo_path.clone())
                    .collect(),
                force,
            });
        }
        if !self.unsaved.is_empty() {
            return Err(Error::UnsavedState {
                files: self.unsaved.iter().map(|f| f.config_path.clone()).collect(),
                force,
                passphrase: self.unsaved.iter().any(|f| f.kind.is_passphrase()),
            });
        }
        Ok(())
    }

    /// Whether a forced prepare replaces config-dir files (then it backs
    /// every one of them up first, whatever the reason it replaces them).
    fn needs_backup(&self, force: bool) -> bool {
        force && !self.replaced.is_empty()
    }

    /// The counts of the checkpoint SST will start from: the config dir's
    /// when it is kept (SST changed it since the last sync), else the
    /// repository's.
    fn checkpoint(&self, files: &PerKind<StateFile>, repo: &RepoState) -> Option<CheckpointInfo> {
        let kept = self
            .outcomes
            .iter()
            .any(|f| f.kind == Kind::App && f.action == Action::Kept);
        if !kept {
            return repo.info.checkpoint;
        }
        let path = &files[Kind::App].config_path;
        let bytes = fsx::read_optional(path).ok()??;
        crate::stage::state::check_checkpoint(path, &bytes).ok()
    }

    /// Neither the repository nor the config dir holds a checkpoint.
    fn first_deploy(&self, repo: &RepoState) -> bool {
        repo.set.get(Kind::App).is_none()
            && self
                .outcomes
                .iter()
                .all(|f| f.kind != Kind::App || f.action != Action::Kept)
    }

    /// Backs up what `force` overrides, then writes: every file staged
    /// (written and synced beside its target) before any is renamed into
    /// place, so an I/O error while staging changes nothing; renames follow
    /// [`Kind::ALL`] (passphrases first); removals after; the marker last.
    fn apply(
        &self,
        ctx: &StageContext,
        files: &[StateFile],
        repo: &RepoState,
        backup_dir: Option<&Utf8Path>,
    ) -> Result<()> {
        if let Some(dir) = backup_dir {
            back_up(ctx, dir, &self.replaced)?;
        }
        let mut staged = fsx::Staged::default();
        for (file, outcome) in files.iter().zip(&self.outcomes) {
            if outcome.action == Action::Written {
                let bytes = repo
                    .set
                    .get(file.kind)
                    .expect("written files come from the repo");
                staged.add(&file.config_path, bytes, file.kind.is_private())?;
            }
        }
        staged.commit()?;
        for (file, outcome) in files.iter().zip(&self.outcomes) {
            if outcome.action == Action::Removed {
                fsx::remove_optional(&file.config_path)?;
            }
        }
        self.marker.save(ctx)
    }
}

/// `REMOVAL_UNSAVED` (unless forced) when SST removed the stage from its
/// config dir since the last sync (see [`crate::stage::removal`]) and the
/// repository still holds the stage: restoring it would undo a removal
/// nobody committed; `commit` saves it.
fn refuse_unsaved_removal(
    ctx: &StageContext,
    files: &PerKind<StateFile>,
    repo: &RepoState,
    synced: &Loaded,
    options: &PrepareOptions,
) -> Result<()> {
    if options.force || !removal::removed_by_sst(ctx, synced, |k| files[k].config_path.exists()) {
        return Ok(());
    }
    let held: Vec<Utf8PathBuf> = removal::OWN
        .into_iter()
        .filter(|&k| !ctx.passphrase_mode.mode.keeps_out(k))
        .filter_map(|k| repo.set.path(k).map(Utf8Path::to_path_buf))
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    Err(Error::RemovalUnsaved {
        stage: ctx.stage.to_string(),
        files: held,
        force: options.common.caller.force_flag(),
    })
}

/// Warnings about SST's own lock and an interrupted run; the lock.
fn notices(
    ctx: &StageContext,
    checkpoint: Option<CheckpointInfo>,
    warnings: &mut Vec<Warning>,
) -> Option<SstLock> {
    let sst_lock = read_sst_lock(&layout::sst_lock_path(ctx));
    if let Some(lock) = &sst_lock {
        warnings.push(Warning::SstLock {
            path: lock.path.clone(),
            command: lock.command.clone(),
            created: lock.created.clone(),
            stage: ctx.stage.to_string(),
        });
    }
    if checkpoint.is_some_and(|c| c.pending_operations > 0) {
        warnings.push(Warning::PendingOperations);
    }
    sst_lock
}

/// Copies `files` (their config-dir versions) into `dir`, keeping their
/// path below the config dir.
fn back_up(ctx: &StageContext, dir: &camino::Utf8Path, files: &[StateFile]) -> Result<()> {
    for file in files {
        let bytes = std::fs::read(&file.config_path)
            .map_err(|e| Error::io("reading", &file.config_path, e))?;
        let rel = file
            .config_path
            .strip_prefix(&ctx.config_dir)
            .expect("config paths are below the config dir");
        fsx::write_atomic(&dir.join(rel), &bytes, file.kind.is_private())?;
    }
    Ok(())
}
