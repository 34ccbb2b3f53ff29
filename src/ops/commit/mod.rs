//! Commit: save what SST left in its config dir for a stage back into the
//! repository as one small commit on the remote branch's tip, and push it
//! as a compare-and-swap. Only our paths are committed (upserted into the
//! base tree: the user's index and other files are untouched); a branch
//! that moved under us is retried on the new tip when the stage's state did
//! not change there, and is a `STATE_CONFLICT` (our state pushed to a
//! rescue branch, nothing overwritten) when it did.
//!
//! The run is a pipeline of named steps on one `Run`: read and check the
//! config dir → choose the base → plan the files (sealing included) →
//! build the commit → push with retry or rescue → update the worktree.
//! The rules that decide what to write and when to stop are pure functions
//! in [`rule`].

mod push;
mod removal;
mod reseal;
pub mod rule;
mod worktree;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::time::Instant;

use camino::Utf8PathBuf;
use git2::{Oid, Repository};
use serde::Serialize;

use crate::blob_id::BlobId;
use crate::ci_env;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsx;
use crate::git::gitx::{self, TreeBlob};
use crate::git::remote::{git_error, Remote};
use crate::ops::lock;
use crate::ops::message::{self, MessageFacts};
use crate::stage::guard;
use crate::stage::layout::{self, state_files, Kind, StateFile};
use crate::stage::marker::{Loaded, Marker};
use crate::stage::per_kind::PerKind;
use crate::stage::project::{self, CommonOptions, StageContext};
use crate::stage::seal::{self, Keyring};
use crate::stage::state::{check_checkpoint, SetInfo, StateSet};
use crate::warning::Warning;

use rule::{Ids, Pending};

/// Options of [`commit`].
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// Stage, app, paths.
    pub common: CommonOptions,
    /// Message template (`{app}`, `{stage}`, `{summary}`); default [`message::DEFAULT_TEMPLATE`].
    pub message: Option<String>,
    /// Branch to push to; else env, `package.json`, CI variables, the checked-out branch.
    pub branch: Option<String>,
    /// Remote; default `origin`.
    pub remote: Option<String>,
    /// `false`: commit on HEAD locally, push nothing.
    pub no_push: bool,
    /// Report what would be committed; write nothing.
    pub dry_run: bool,
    /// Keep the stage lock this checkout holds (renewed for its ttl) instead
    /// of releasing it with the push.
    pub keep_lock: bool,
    /// More trailers for the message (`Key: value`).
    pub trailers: Vec<String>,
    /// The `run` committing: the lock carried is the one that run took
    /// (none: the lock this checkout holds, unless a live run's).
    pub run_lock: Option<lock::RunLock>,
}

/// One changed state file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedFile {
    /// What the file holds.
    pub kind: Kind,
    /// Path in the repository, relative to its root.
    pub path: String,
    /// `added`, `modified`, or `removed` (SST removed the stage: `sst
    /// remove` with `state.purge`).
    pub change: &'static str,
    /// Size in bytes.
    pub bytes: u64,
}

/// One step of the run and its wall time.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// What was done.
    pub name: String,
    /// How long it took.
    pub ms: u64,
}

/// The result of [`commit`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitReport {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// Whether a commit was made.
    pub committed: bool,
    /// The commit's id.
    pub commit: Option<String>,
    /// Whether it was pushed.
    pub pushed: bool,
    /// The branch pushed to (None with `noPush`).
    pub branch: Option<String>,
    /// The remote's name.
    pub remote: Option<String>,
    /// The remote's URL, credentials redacted.
    pub remote_url: Option<String>,
    /// Files that changed.
    pub files: Vec<ChangedFile>,
    /// Push attempts made.
    pub attempts: u32,
    /// The commit message.
    pub message: Option<String>,
    /// Whether HEAD now points at the commit.
    pub head_updated: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Steps with their times.
    pub steps: Vec<Step>,
    /// Findings that did not stop the run.
    pub warnings: Vec<Warning>,
    /// The stage lock this checkout held, carried in the push.
    pub lock_ref: Option<String>,
    /// Whether that lock was released (false: kept, or not held).
    pub lock_released: bool,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// Saves the stage's config-dir state to the repository, commits and pushes it.
pub fn commit(options: &CommitOptions, env: &Env) -> Result<CommitReport> {
    let timer = Timer::start();
    let ctx = project::resolve(&options.common, env)?;
    commit_resolved(options, env, ctx, timer)
}

/// [`commit`] of the stage `ctx`, resolved already from `options.common`
/// (`run` resolves its stage once, for its prepare, its lock heartbeat and
/// its commit).
pub fn commit_with_context(
    options: &CommitOptions,
    ctx: StageContext,
    env: &Env,
) -> Result<CommitReport> {
    commit_resolved(options, env, ctx, Timer::start())
}

/// [`commit`] once the stage is resolved; `timer` started with the run.
fn commit_resolved(
    options: &CommitOptions,
    env: &Env,
    ctx: StageContext,
    mut timer: Timer,
) -> Result<CommitReport> {
    // before anything is read: state-branch mode never writes HEAD
    if let (true, Some(_)) = (options.no_push, &ctx.state_branch) {
        return Err(Error::option(
            options.common.caller.name("push", "no-push"),
            "commits on HEAD, which state-branch mode never writes: push to the state branch, or leave state-branch mode",
        ));
    }
    let files = state_files(&ctx);
    guard::check_repo_paths(&ctx, &files)?;
    let state = ConfigDir::read(&ctx, &files, env, options.dry_run)?;
    timer.step("read and checked the config dir");
    let repo = gitx::discover(&ctx.project_root)?;
    let mut run = Run::new(options, env, ctx, files, &state, &repo, timer)?;
    let target = run.target()?;
    if let (Some(t), false) = (&target, options.dry_run) {
        let by = options.run_lock.as_ref();
        run.carried =
            lock::Carried::held(&repo, &run.ctx, &t.remote.name, options.keep_lock, env, by)?;
    }
    let base = run.choose_base(target.as_ref())?;
    let mut plan = run.plan(&base)?;
    if plan.is_empty() {
        if !options.dry_run {
            worktree::record_synced(&run.ctx, env, &state.collected, &state.loaded)?;
            run.lock_alone(target.as_ref())?;
        }
        run.timer.step("nothing changed");
        return Ok(run.report(target.as_ref(), Vec::new(), Outcome::default()));
    }
    if options.dry_run {
        run.timer.step("dry run: nothing written");
        let outcome = Outcome {
            message: Some(plan.message.clone()),
            ..Outcome::default()
        };
        return Ok(run.report(target.as_ref(), plan.files, outcome));
    }
    let landed = run.save(target.as_ref(), base, &mut plan)?;
    run.lock_alone(target.as_ref())?;
    run.finish(target.as_ref(), plan, landed)
}

/// Wall time of the run and of each step.
struct Timer {
    started: Instant,
    last: Instant,
    steps: Vec<Step>,
}

impl Timer {
    fn start() -> Timer {
        let now = Instant::now();
        Timer {
            started: now,
            last: now,
            steps: Vec::new(),
        }
    }

    fn step(&mut self, name: impl Into<String>) {
        let now = Instant::now();
        self.steps.push(Step {
            name: name.into(),
            ms: now.duration_since(self.last).as_millis() as u64,
        });
        self.last = now;
    }
}

/// What SST left in the config dir, checked, with content ids, and the
/// record of the last sync; read under the config dir's lock, so a
/// concurrent prepare cannot hand us half of another state.
struct ConfigDir {
    collected: StateSet,
    ours: Ids,
    info: SetInfo,
    loaded: Loaded,
}

impl ConfigDir {
    fn read(
        ctx: &StageContext,
        files: &PerKind<StateFile>,
        env: &Env,
        dry_run: bool,
    ) -> Result<Self> {
        // a config dir that does not exist holds nothing to read, and a
        // commit must not create it (a mistyped --config-dir changes nothing)
        let lock = (!dry_run && ctx.config_dir.is_dir())
            .then(|| guard::lock_config_dir(ctx, env))
            .transpose()?;
        guard::check_config_files(files)?;
        let mut collected = StateSet::default();
        for file in files {
            if let Some(bytes) = fsx::read_optional(&file.config_path)? {
                collected.insert(file.kind, file.config_path.clone(), bytes);
            }
        }
        let loaded = Marker::load(ctx)?;
        drop(lock);
        // checks (a JSON scan of the checkpoint) and hashing run side by side
        crate::stage::passphrase_mode::check_config_passphrase(ctx, files, &collected, env)?;
        let (info, ours) = std::thread::scope(|scope| {
            let hashes = scope.spawn(|| {
                // env mode: the passphrase is never ours to commit
                Ids::from_fn(|k| collected.get(k).map(BlobId::of))
                    .map(|k, id| id.filter(|_| !ctx.passphrase_mode.mode.keeps_out(k)))
            });
            let info = collected.check(|kind| files[kind].config_path.clone());
            (info, hashes.join().expect("hashing does not panic"))
        });
        Ok(ConfigDir {
            info: info?,
            ours,
            collected,
            loaded,
        })
    }
}

/// Where the commit goes: a remote and its branch.
struct Target<'r> {
    remote: Remote<'r>,
    branch: String,
}

/// What the commit is built on, and where the remote branch points as far
/// as this run knows (`expected`, None: absent): the push is a
/// compare-and-swap against it.
struct Base<'r> {
    commit: Option<git2::Commit<'r>>,
    expected: Option<Oid>,
}

/// A file the commit writes.
struct Output<'a> {
    /// The state file it is (None for the recipients file).
    kind: Option<Kind>,
    /// Path in the tree.
    path: String,
    /// Content as committed (an encrypted passphrase is ciphertext; the
    /// others borrow what was read, so a big checkpoint is held once).
    bytes: Cow<'a, [u8]>,
    /// Mode 0600 in the worktree.
    private: bool,
}

/// What to write (and remove), and how to say it.
struct Plan<'a> {
    outputs: Vec<Output<'a>>,
    /// Paths in the tree the commit removes (SST removed the stage).
    removed: Vec<String>,
    files: Vec<ChangedFile>,
    message: String,
}

impl Plan<'_> {
    /// Nothing to write or remove.
    fn is_empty(&self) -> bool {
        self.outputs.is_empty() && self.removed.is_empty()
    }
}

/// How the commit ended on the branch.
struct Landed {
    /// The commit that holds our state on the branch (None: the branch
    /// already held it, nothing new was pushed).
    oid: Option<Oid>,
    /// What it was built on.
    parent: Option<Oid>,
    /// Push attempts.
    attempts: u32,
    /// The committed blobs.
    blobs: Vec<TreeBlob>,
    /// The stage's marker as this run last wrote it.
    recorded: Loaded,
}

/// What a report says of the commit.
#[derive(Default)]
struct Outcome {
    oid: Option<Oid>,
    message: Option<String>,
    attempts: u32,
    head_updated: bool,
}

/// One commit run: the stage, the repository and what was read.
struct Run<'a> {
    options: &'a CommitOptions,
    env: &'a Env,
    ctx: StageContext,
    files: PerKind<StateFile>,
    state: &'a ConfigDir,
    repo: &'a Repository,
    workdir: Utf8PathBuf,
    git_dir: Utf8PathBuf,
    /// Each file's path in the tree.
    tree_paths: PerKind<String>,
    /// The path of each passphrase's age-encrypted form in the tree.
    sealed_paths: PerKind<Option<String>>,
    recipients_path: String,
    keyring: Keyring<'a>,
    head: Option<git2::Commit<'a>>,
    started_from: Ids,
    timer: Timer,
    warnings: Vec<Warning>,
    /// The stage lock this checkout holds, updated with the push.
    carried: Option<lock::Carried>,
    /// Whether the lock's update landed.
    lock_landed: bool,
}

impl<'a> Run<'a> {
    fn new(
        options: &'a CommitOptions,
        env: &'a Env,
        ctx: StageContext,
        files: PerKind<StateFile>,
        state: &'a ConfigDir,
        repo: &'a Repository,
        timer: Timer,
    ) -> Result<Self> {
        let workdir = gitx::workdir(repo, &ctx.project_root)?;
        let rel_root = gitx::relative_to(&workdir, &ctx.project_root)?;
        let git_dir = gitx::utf8(repo.path())?;
        if !options.dry_run {
            guard::clean_worktree_temps(&ctx, &files, &git_dir);
        }
        let tree_path = |rel: &camino::Utf8Path| gitx::tree_path(&rel_root, rel);
        let mut run = Run {
            tree_paths: files.map(|_, f| tree_path(&f.repo_rel)),
            sealed_paths: files.map(|_, f| f.sealed_rel.as_deref().map(tree_path)),
            recipients_path: tree_path(&layout::recipients_rel(&ctx)),
            // state-branch mode: the checkout's HEAD has nothing to do with the state
            head: match ctx.state_branch {
                Some(_) => None,
                None => repo.head().ok().and_then(|h| h.peel_to_commit().ok()),
            },
            warnings: ctx.warnings.clone(),
            keyring: Keyring::new(env, &ctx.config_dir),
            started_from: Ids::default(),
            carried: None,
            lock_landed: false,
            options,
            env,
            ctx,
            files,
            state,
            repo,
            workdir,
            git_dir,
            timer,
        };
        run.started_from = run.started_from()?;
        Ok(run)
    }

    /// The lock's update landed (and was settled: the checkout records it).
    fn lock_landed(&mut self) {
        if let Some(carried) = &self.carried {
            self.lock_landed = true;
            let done = if carried.next.is_some() {
                "renewed"
            } else {
                "released"
            };
            self.timer.step(format!("{done} the stage lock"));
        }
    }

    /// Releases (or renews) the lock in a push of its own, when no state
    /// push carried it (nothing to save, or the branch held it already).
    fn lock_alone(&mut self, target: Option<&Target<'a>>) -> Result<()> {
        let (Some(carried), Some(target), false) = (&self.carried, target, self.lock_landed) else {
            return Ok(());
        };
        if carried.push_alone(&target.remote)? {
            self.lock_landed();
        } else {
            self.warnings.push(Warning::LockNotHeld {
                lock_ref: carried.lock_ref.clone(),
            });
        }
        Ok(())
    }

    /// What this run's deploy started from: what prepare restored (or the
    /// last commit saved), else HEAD's version. Another run's change to
    /// these files since then is a conflict, whatever the branch looks
    /// like now.
    fn started_from(&self) -> Result<Ids> {
        match &self.state.loaded {
            Loaded::Found(marker) => Ok(marker.files.clone()),
            Loaded::Absent | Loaded::Corrupt => self.ids_in(self.head.as_ref()),
        }
    }

    /// What an earlier run of ours on this config dir was pushing when it
    /// ended without recording it (killed after the push landed?).
    fn pending(&self) -> Pending {
        match &self.state.loaded {
            Loaded::Found(m) => m.pushing.clone(),
            Loaded::Absent | Loaded::Corrupt => Pending::default(),
        }
    }

    /// The content id of each state file in `commit`; an age-encrypted
    /// passphrase counts as its plaintext (decrypted with the configured
    /// key, or, without one, trusted to be what prepare last recorded).
    fn ids_in(&self, commit: Option<&git2::Commit>) -> Result<Ids> {
        let mut ids = Ids::default();
        for (kind, path) in self.tree_paths.entries() {
            ids[kind] = match commit {
                Some(c) => gitx::blob_at(c, path)?.map(BlobId::from),
                None => None,
            };
        }
        for (kind, path) in self.sealed_paths.present() {
            if let Some(sealed) = commit
                .map(|c| gitx::blob_at(c, path))
                .transpose()?
                .flatten()
            {
                // env mode: a passphrase the repository may still hold is not the stage's
                let kept_out = self.ctx.passphrase_mode.mode.keeps_out(kind);
                if !kept_out {
                    ids[kind] = self.plaintext_id(kind, path, sealed)?;
                }
            }
        }
        for kind in Kind::ALL {
            if self.ctx.passphrase_mode.mode.keeps_out(kind) {
                ids[kind] = None;
            }
        }
        Ok(ids)
    }

    /// The content id of the plaintext of the sealed passphrase `sealed`.
    fn plaintext_id(&self, kind: Kind, path: &str, sealed: Oid) -> Result<Option<BlobId>> {
        let keys = self.keyring.identities()?;
        match (keys.is_empty(), &self.state.loaded) {
            (false, _) => {
                let blob = self
                    .repo
                    .find_blob(sealed)
                    .map_err(|e| git_error("reading a blob", &e))?;
                let bytes = seal::open(&self.workdir.join(path), blob.content(), keys)?;
                Ok(Some(BlobId::of(&bytes)))
            }
            (true, Loaded::Found(m)) if m.hash(kind).is_some() => Ok(m.hash(kind)),
            (true, _) => Err(Error::AgeKeyMissing {
                file: self.workdir.join(path),
            }),
        }
    }

    /// The tree path of the age-encrypted form of passphrase `kind`.
    fn sealed_path(&self, kind: Kind) -> &str {
        self.sealed_paths[kind]
            .as_deref()
            .expect("passphrases have a sealed form")
    }

    /// The paths of the files another run changed at `at` since this run
    /// started (see [`rule::conflicts`]).
    fn conflicts_at(&self, at: Option<&git2::Commit>) -> Result<Vec<String>> {
        let at = self.ids_in(at)?;
        Ok(
            rule::conflicts(&self.state.ours, &self.started_from, &at, &self.pending())
                .into_iter()
                .map(|k| self.tree_paths[k].clone())
                .collect(),
        )
    }

    /// The remote and branch to push to (None with `no_push`).
    fn target(&self) -> Result<Option<Target<'a>>> {
        let caller = self.options.common.caller;
        if self.options.no_push {
            return Ok(None);
        }
        let remote_name = project::remote_name(&self.options.remote, self.env, &self.ctx.settings);
        let remote = Remote::open(self.repo, &remote_name, self.env)?;
        let branch = match &self.ctx.state_branch {
            Some(state_branch) => state_branch.clone(),
            None => project::pick_branch(
                &self.options.branch,
                caller,
                &self.ctx.settings,
                self.env,
                self.repo,
            )?,
        };
        Ok(Some(Target { remote, branch }))
    }

    /// The base: the branch's last known tip (`refs/remotes/<remote>/<branch>`,
    /// checked by the push itself), else a fetch of it; HEAD without push or
    /// when the branch does not exist yet.
    fn choose_base(&mut self, target: Option<&Target<'a>>) -> Result<Base<'a>> {
        let Some(Target { remote, branch }) = target else {
            return Ok(Base {
                commit: self.head.clone(),
                expected: None,
            });
        };
        let known = self
            .repo
            .find_reference(&format!("refs/remotes/{}/{branch}", remote.name))
            .ok()
            .and_then(|r| r.peel_to_commit().ok());
        let tip = match known {
            // a stale known tip is caught by the push; one that does not
            // hold what this run started from is fetched right away
            Some(commit) if self.conflicts_at(Some(&commit))?.is_empty() => {
                self.timer.step(format!(
                    "based on {}/{branch} {}",
                    remote.name,
                    &commit.id().to_string()[..12]
                ));
                Some(commit)
            }
            _ => self.fetch(remote, branch)?,
        };
        if tip.is_none() {
            self.warnings.push(Warning::BranchCreated {
                branch: branch.clone(),
                remote: remote.name.clone(),
            });
        }
        Ok(Base {
            expected: tip.as_ref().map(|c| c.id()),
            commit: tip.or_else(|| self.head.clone()),
        })
    }

    /// Fetches the branch; its tip (None: the remote has no such branch).
    fn fetch(&mut self, remote: &Remote<'a>, branch: &str) -> Result<Option<git2::Commit<'a>>> {
        let fetched = remote
            .fetch_branch(branch)
            .map_err(|e| push::kept(e, &self.ctx.config_dir))?;
        self.timer.step(format!("fetched {} {branch}", remote.name));
        fetched
            .map(|oid| self.repo.find_commit(oid))
            .transpose()
            .map_err(|e| git_error("reading the fetched tip", &e))
    }

    /// What to write on `base`, the message and the report's file list.
    fn plan(&mut self, base: &Base<'a>) -> Result<Plan<'a>> {
        let at_base = self.ids_in(base.commit.as_ref())?;
        let changes = rule::changed_kinds(&self.state.ours, &self.started_from, &at_base);
        let removed = self.removed_at(base)?;
        if changes.is_empty() && removed.is_empty() {
            return Ok(Plan {
                outputs: Vec::new(),
                removed: Vec::new(),
                files: Vec::new(),
                message: String::new(),
            });
        }
        self.refuse_new_passphrase_over_the_repos(&changes, &at_base, base)?;
        let outputs = self.outputs(&changes, base)?;
        let mut files: Vec<ChangedFile> = outputs
            .iter()
            .filter_map(|o| {
                let kind = o.kind?;
                Some(ChangedFile {
                    kind,
                    path: o.path.clone(),
                    change: if at_base[kind].is_some() {
                        "modified"
                    } else {
                        "added"
                    },
                    bytes: o.bytes.len() as u64,
                })
            })
            .collect();
        files.extend(removed.iter().map(|(kind, path)| ChangedFile {
            kind: *kind,
            path: path.clone(),
            change: "removed",
            bytes: 0,
        }));
        let all = changes
            .iter()
            .copied()
            .chain(removed.iter().map(|(k, _)| *k));
        Ok(Plan {
            message: self.message(all.collect(), base, !removed.is_empty()),
            outputs,
            removed: removed.into_iter().map(|(_, path)| path).collect(),
            files,
        })
    }

    /// Never replace the repository's passphrase: that would orphan every
    /// secret (`PASSPHRASE_MISMATCH`, naming the file the repository holds).
    fn refuse_new_passphrase_over_the_repos(
        &self,
        changes: &BTreeSet<Kind>,
        at_base: &Ids,
        base: &Base<'a>,
    ) -> Result<()> {
        for kind in [Kind::Passphrase, Kind::FallbackPassphrase] {
            if changes.contains(&kind) && at_base[kind].is_some() {
                let sealed_in_base = base
                    .commit
                    .as_ref()
                    .map(|b| gitx::blob_at(b, self.sealed_path(kind)))
                    .transpose()?
                    .flatten()
                    .is_some();
                let file = &self.files[kind];
                return Err(Error::PassphraseMismatch {
                    file: file.config_path.clone(),
                    repo_file: match (&file.sealed_rel, sealed_in_base) {
                        (Some(sealed), true) => self.ctx.project_root.join(sealed),
                        _ => file.repo_path.clone(),
                    },
                });
            }
        }
        Ok(())
    }

    /// The files to write: a new passphrase only ever encrypted to the
    /// team's age recipients as the base lists them (see [`reseal`]; or in
    /// plain text when explicitly allowed), and the recipients file with
    /// the first encrypted passphrase.
    fn outputs(&mut self, changes: &BTreeSet<Kind>, base: &Base<'a>) -> Result<Vec<Output<'a>>> {
        let recipients = match self.ctx.passphrase_mode.mode {
            crate::stage::passphrase_mode::PassphraseMode::Plain => None,
            _ => self.recipients_on(
                base.commit.as_ref(),
                changes.iter().any(|k| k.is_passphrase()),
            )?,
        };
        let state: &'a ConfigDir = self.state;
        let mut outputs = Vec::new();
        for &kind in changes {
            let bytes = state
                .collected
                .get(kind)
                .expect("changed files were collected");
            let plain = |path: &String| Output {
                kind: Some(kind),
                path: path.clone(),
                bytes: Cow::Borrowed(bytes),
                private: kind.is_private(),
            };
            outputs.push(match (kind.is_passphrase(), &recipients) {
                (false, _) => plain(&self.tree_paths[kind]),
                (true, Some((keys, _))) => Output {
                    kind: Some(kind),
                    path: self.sealed_path(kind).to_string(),
                    bytes: Cow::Owned(seal::seal(bytes, keys)),
                    private: false,
                },
                (true, None) if !self.plaintext_allowed() => {
                    return Err(Error::PlaintextPassphrase {
                        file: self.files[kind].repo_path.clone(),
                        recipients: self
                            .ctx
                            .project_root
                            .join(layout::recipients_rel(&self.ctx)),
                    })
                }
                (true, None) => {
                    self.warnings.push(Warning::PlaintextPassphraseCommitted {
                        path: self.tree_paths[kind].clone(),
                        allowed_by: seal::PLAINTEXT_ENV,
                    });
                    plain(&self.tree_paths[kind])
                }
            });
        }
        // only where the branch has none yet: a list someone changed on the
        // branch since is theirs, not ours to overwrite
        if let Some((_, text)) = recipients {
            let in_base = base
                .commit
                .as_ref()
                .map(|b| gitx::blob_at(b, &self.recipients_path))
                .transpose()?
                .flatten();
            if outputs.iter().any(|o| o.path.ends_with(".age")) && in_base.is_none() {
                outputs.push(Output {
                    kind: None,
                    path: self.recipients_path.clone(),
                    bytes: Cow::Owned(text),
                    private: false,
                });
            }
        }
        Ok(outputs)
    }

    fn plaintext_allowed(&self) -> bool {
        self.env
            .non_empty(seal::PLAINTEXT_ENV)
            .is_some_and(|v| v != "0" && v != "false")
            || self.ctx.settings.plaintext_passphrase == Some(true)
            || self.ctx.passphrase_mode.mode == crate::stage::passphrase_mode::PassphraseMode::Plain
    }

    /// The commit message: summary and audit trailers.
    fn message(&self, changes: BTreeSet<Kind>, base: &Base<'a>, removed: bool) -> String {
        let facts = MessageFacts {
            changed: changes,
            resources_before: base
                .commit
                .as_ref()
                .and_then(|b| checkpoint_resources(self.repo, b, &self.tree_paths[Kind::App])),
            resources_after: (self.state.info.checkpoint.map(|c| c.resources))
                .or(removed.then_some(0)),
            update: message::newest_update(&self.ctx),
            ci_run_url: ci_env::detect(self.env).and_then(|ci| ci.run_url),
            extra: self.options.trailers.clone(),
            removed,
        };
        let template = self
            .options
            .message
            .clone()
            .or_else(|| self.ctx.settings.message.clone());
        message::compose(&self.ctx, template.as_deref(), &facts)
    }

    /// The report of this run.
    fn report(
        &self,
        target: Option<&Target<'a>>,
        files: Vec<ChangedFile>,
        outcome: Outcome,
    ) -> CommitReport {
        let commit = outcome.oid.map(|o| o.to_string());
        CommitReport {
            app: self.ctx.app.to_string(),
            stage: self.ctx.stage.to_string(),
            committed: commit.is_some(),
            pushed: commit.is_some() && target.is_some(),
            commit,
            branch: target.map(|t| t.branch.clone()),
            remote: target.map(|t| t.remote.name.clone()),
            remote_url: target.map(|t| t.remote.display_url.clone()),
            files,
            attempts: outcome.attempts,
            message: outcome.message,
            head_updated: outcome.head_updated,
            dry_run: self.options.dry_run,
            steps: self.timer.steps.clone(),
            warnings: self.warnings.clone(),
            lock_ref: self.carried.as_ref().map(|c| c.lock_ref.clone()),
            lock_released: self.lock_landed
                && self.carried.as_ref().is_some_and(|c| c.next.is_none()),
            duration_ms: self.timer.started.elapsed().as_millis() as u64,
        }
    }
}

fn checkpoint_resources(repo: &Repository, commit: &git2::Commit, path: &str) -> Option<u32> {
    let oid = gitx::blob_at(commit, path).ok()??;
    let blob = repo.find_blob(oid).ok()?;
    check_checkpoint(camino::Utf8Path::new(path), blob.content())
        .ok()
        .map(|c| c.resources)
}
