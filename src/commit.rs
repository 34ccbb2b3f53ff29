//! Commit: save what SST left in its config dir for a stage back into the
//! repository as one small commit on the remote branch's tip, and push it
//! without force. Only our paths are committed (built on the base tree with
//! a `TreeUpdateBuilder`: the user's index and other files are untouched);
//! a branch that moved under us is retried on the new tip when the stage's
//! state did not change there, and is a `STATE_CONFLICT` (our state pushed to
//! a rescue branch, nothing overwritten) when it did.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use git2::{build::TreeUpdateBuilder, FileMode, Oid, Repository};
use serde::Serialize;

use crate::ci_env;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsx;
use crate::guard;
use crate::layout;
use crate::layout::{state_files, Kind, StateFile};
use crate::marker::{Loaded, Marker};
use crate::message::{self, MessageFacts};
use crate::project::{self, Caller, CommonOptions, StageContext};
use crate::remote::{git_error, PushOutcome, Remote};
use crate::seal;
use crate::state::{check_checkpoint, StateSet};

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
}

/// One changed state file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedFile {
    /// What the file holds.
    pub kind: Kind,
    /// Path in the repository, relative to its root.
    pub path: String,
    /// `added` or `modified`.
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
    pub warnings: Vec<String>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

struct Timer {
    started: Instant,
    last: Instant,
    steps: Vec<Step>,
}

impl Timer {
    fn step(&mut self, name: impl Into<String>) {
        let now = Instant::now();
        self.steps.push(Step {
            name: name.into(),
            ms: now.duration_since(self.last).as_millis() as u64,
        });
        self.last = now;
    }
}

/// Saves the stage's config-dir state to the repository, commits and pushes it.
pub fn commit(options: &CommitOptions, env: &Env) -> Result<CommitReport> {
    let now = Instant::now();
    let mut timer = Timer {
        started: now,
        last: now,
        steps: Vec::new(),
    };
    let ctx = project::resolve(&options.common, env)?;
    let files = state_files(&ctx);
    guard::check_repo_paths(&ctx, &files)?;

    // 1. Collect and check what SST left in the config dir (under its lock,
    // so a concurrent prepare cannot hand us half of another state).
    let lock = (!options.dry_run)
        .then(|| guard::lock_config_dir(&ctx, env))
        .transpose()?;
    guard::check_config_files(&files)?;
    let mut collected = StateSet::default();
    for file in &files {
        if let Some(bytes) = fsx::read_optional(&file.config_path)? {
            collected.insert(file.kind, file.config_path.clone(), bytes);
        }
    }
    let loaded = Marker::load(&ctx)?;
    drop(lock);
    // checks (a JSON scan of the checkpoint) and hashing run side by side
    let (info, ours) = std::thread::scope(|scope| {
        let hashes = scope.spawn(|| {
            Kind::ALL
                .iter()
                .map(|&k| {
                    let oid = collected.get(k).map(|b| {
                        Oid::from_str(&fsx::blob_hash(b)).expect("a blob hash is a valid oid")
                    });
                    (k, oid)
                })
                .collect::<BTreeMap<Kind, Option<Oid>>>()
        });
        let info = collected.check(|kind| path_of(&files, kind).config_path.clone());
        (info, hashes.join().expect("hashing does not panic"))
    });
    let info = info?;
    timer.step("read and checked the config dir");

    // 2. The repository and the paths of our files in it.
    let repo = Repository::discover(&ctx.project_root).map_err(|_| Error::NotAGitRepo {
        path: ctx.project_root.clone(),
    })?;
    let workdir = repo_workdir(&repo, &ctx.project_root)?;
    let rel_root = relative_to(&workdir, &ctx.project_root)?;
    let tree_paths: BTreeMap<Kind, String> = files
        .iter()
        .map(|f| (f.kind, tree_path(&rel_root, &f.repo_rel)))
        .collect();

    // 3. The base: the remote branch's tip (fetched), or HEAD without push.
    let mut warnings = ctx.warnings.clone();
    let push = !options.no_push;
    let (remote, branch) = if push {
        let remote_name = pick(
            &options.remote,
            env.non_empty("SST_LOCAL_STATE_REMOTE"),
            &ctx.settings.remote,
        )
        .unwrap_or_else(|| "origin".into());
        let remote = Remote::open(&repo, &remote_name, env)?;
        let branch = pick_branch(options, &ctx, env, &repo)?;
        (Some(remote), Some(branch))
    } else {
        (None, None)
    };
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let git_dir = utf8(repo.path())?;
    if !options.dry_run {
        guard::clean_worktree_temps(&ctx, &files, &git_dir);
    }
    let sealed_paths: BTreeMap<Kind, String> = files
        .iter()
        .filter_map(|f| Some((f.kind, tree_path(&rel_root, f.sealed_rel.as_ref()?))))
        .collect();
    let identities = std::cell::OnceCell::new();
    // The content id of each state file in a commit; an age-encrypted
    // passphrase counts as its plaintext (decrypted with the configured key,
    // or, without one, trusted to be what prepare last recorded).
    let ids_in = |commit: Option<&git2::Commit>| -> Result<BTreeMap<Kind, Option<Oid>>> {
        let mut ids = blobs_in(&repo, commit, &tree_paths)?;
        for (kind, path) in &sealed_paths {
            let Some(sealed) = commit
                .map(|c| blob_at(&repo, c, path))
                .transpose()?
                .flatten()
            else {
                continue;
            };
            let keys = match identities.get() {
                Some(keys) => keys,
                None => {
                    let keys = seal::identities(env, &seal::default_key_file(&ctx.config_dir))?;
                    identities.get_or_init(|| keys)
                }
            };
            let plain: Option<&Vec<age::x25519::Identity>> = Some(keys).filter(|k| !k.is_empty());
            let id = match (plain, &loaded) {
                (Some(keys), _) => {
                    let blob = repo
                        .find_blob(sealed)
                        .map_err(|e| git_error("reading a blob", &e, &[]))?;
                    let bytes = seal::open(Utf8Path::new(path), blob.content(), keys)?;
                    Oid::from_str(&fsx::blob_hash(&bytes)).ok()
                }
                (None, Loaded::Found(m)) if m.hash(*kind).is_some() => {
                    m.hash(*kind).and_then(|h| Oid::from_str(h).ok())
                }
                (None, _) => {
                    return Err(Error::AgeKeyMissing {
                        file: workdir.join(path),
                    })
                }
            };
            ids.insert(*kind, id);
        }
        Ok(ids)
    };
    // What this run's deploy started from: what prepare restored (or the
    // last commit saved), else HEAD's version. Another run's change to these
    // files since then is a conflict, whatever the branch looks like now.
    let started_from: BTreeMap<Kind, Option<Oid>> = match &loaded {
        Loaded::Found(marker) => Kind::ALL
            .iter()
            .map(|&k| (k, marker.hash(k).and_then(|h| Oid::from_str(h).ok())))
            .collect(),
        Loaded::Absent | Loaded::Corrupt => ids_in(head.as_ref())?,
    };
    // What an earlier run of ours on this config dir was pushing when it
    // ended without recording it (killed after the push landed?): ours too.
    let pending = |kind: Kind| -> Vec<Oid> {
        match &loaded {
            Loaded::Found(m) => m
                .pushing
                .get(&kind)
                .into_iter()
                .flatten()
                .filter_map(|h| Oid::from_str(h).ok())
                .collect(),
            Loaded::Absent | Loaded::Corrupt => Vec::new(),
        }
    };
    // The base: the branch's last known tip (`refs/remotes/<remote>/<branch>`,
    // checked by the push itself, which fails if the branch moved), else a
    // fetch of it; HEAD without push.
    let conflicts_at = |tip: Option<&git2::Commit>| -> Result<Vec<String>> {
        let at_tip = ids_in(tip)?;
        Ok(tree_paths
            .iter()
            .filter(|(k, _)| !k.is_fallback() || ours[*k] != started_from[*k])
            .filter(|(k, _)| at_tip[*k] != started_from[*k] && at_tip[*k] != ours[*k])
            .filter(|(k, _)| !at_tip[*k].is_some_and(|id| pending(**k).contains(&id)))
            .map(|(_, path)| path.clone())
            .collect())
    };
    let fetch = |remote: &Remote<'_>,
                 branch: &str,
                 timer: &mut Timer|
     -> Result<Option<git2::Commit<'_>>> {
        let fetched = remote.fetch_branch(branch)?;
        timer.step(format!("fetched {} {branch}", remote.name));
        fetched
            .map(|oid| repo.find_commit(oid))
            .transpose()
            .map_err(|e| git_error("reading the fetched tip", &e, &[]))
    };
    // `expected`: where the remote branch points as far as this run knows
    // (None: absent); the push is a compare-and-swap against it
    let mut expected: Option<Oid> = None;
    let mut base = match (&remote, &branch) {
        (Some(remote), Some(branch)) => {
            let known = repo
                .find_reference(&format!("refs/remotes/{}/{branch}", remote.name))
                .ok()
                .and_then(|r| r.peel_to_commit().ok());
            let tip = match known {
                // a stale known tip is caught by the push; one that does not
                // hold what this run started from is fetched right away
                Some(commit) if conflicts_at(Some(&commit))?.is_empty() => {
                    timer.step(format!(
                        "based on {}/{branch} {}",
                        remote.name,
                        &commit.id().to_string()[..12]
                    ));
                    Some(commit)
                }
                _ => fetch(remote, branch, &mut timer).map_err(|e| kept(e, &ctx.config_dir))?,
            };
            if tip.is_none() {
                warnings.push(format!(
                    "branch {branch} does not exist on {}: it will be created from HEAD",
                    remote.name
                ));
            }
            expected = tip.as_ref().map(|c| c.id());
            tip.or_else(|| head.clone())
        }
        _ => head.clone(),
    };

    // 4. What changed against the base.
    // Kinds whose config-dir content differs from the base (files absent
    // from the config dir are never deleted from the repository).
    let at_base = ids_in(base.as_ref())?;
    let changes = changed_kinds(&ours, &started_from, &at_base);
    if changes.is_empty() {
        if !options.dry_run {
            record_synced(&ctx, env, &collected, &loaded)?;
        }
        timer.step("nothing changed");
        return Ok(report(
            &ctx,
            &timer,
            options,
            remote.as_ref(),
            branch,
            Vec::new(),
            None,
            warnings,
        ));
    }
    // Never replace the repository's passphrase: that would orphan every secret.
    for kind in [Kind::Passphrase, Kind::FallbackPassphrase] {
        if changes.contains(&kind) && at_base[&kind].is_some() {
            // name the file the repository really holds (.age or .json)
            let sealed_in_base = base
                .as_ref()
                .map(|b| blob_at(&repo, b, &sealed_paths[&kind]))
                .transpose()?
                .flatten()
                .is_some();
            let file = path_of(&files, kind);
            return Err(Error::PassphraseMismatch {
                file: file.config_path.clone(),
                repo_file: match (&file.sealed_rel, sealed_in_base) {
                    (Some(sealed), true) => ctx.project_root.join(sealed),
                    _ => file.repo_path.clone(),
                },
            });
        }
    }

    // What to write: a new passphrase only ever encrypted to the team's age
    // recipients (or in plain text when explicitly allowed).
    let recipients_rel = layout::recipients_rel(&ctx);
    let recipients_file = ctx.project_root.join(&recipients_rel);
    let sealing = changes.iter().any(|k| k.passphrase_kind());
    let recipients = match fsx::read_optional(&recipients_file)? {
        Some(bytes) => {
            let parsed = seal::parse_recipients(&recipients_file, &String::from_utf8_lossy(&bytes));
            match parsed {
                Ok(keys) => Some((keys, bytes)),
                // only a new passphrase needs the recipients: a state-only
                // commit must not be blocked (in CI the state would be lost)
                Err(e) if sealing => return Err(e),
                Err(e) => {
                    warnings.push(format!(
                        "[RECIPIENTS_INVALID] {e}; not needed by this commit (no new passphrase), but the next new stage's passphrase cannot be encrypted until it is fixed"
                    ));
                    None
                }
            }
        }
        None => None,
    };
    let plaintext_ok = env
        .non_empty(seal::PLAINTEXT_ENV)
        .is_some_and(|v| v != "0" && v != "false")
        || ctx.settings.plaintext_passphrase == Some(true);
    let mut outputs: Vec<Output> = Vec::new();
    for &kind in &changes {
        let bytes = collected.get(kind).expect("changed files were collected");
        let output = match (kind.passphrase_kind(), &recipients) {
            (true, Some((keys, _))) => Output {
                kind: Some(kind),
                path: sealed_paths[&kind].clone(),
                bytes: Cow::Owned(seal::seal(bytes, keys)),
                private: false,
            },
            (true, None) if !plaintext_ok => {
                return Err(Error::PlaintextPassphrase {
                    file: path_of(&files, kind).repo_path.clone(),
                    recipients: recipients_file,
                })
            }
            (true, None) => {
                warnings.push(format!(
                    "[PLAINTEXT_PASSPHRASE] committing {} in plain text ({} is set)",
                    tree_paths[&kind],
                    seal::PLAINTEXT_ENV
                ));
                Output {
                    kind: Some(kind),
                    path: tree_paths[&kind].clone(),
                    bytes: Cow::Borrowed(bytes),
                    private: true,
                }
            }
            (false, _) => Output {
                kind: Some(kind),
                path: tree_paths[&kind].clone(),
                bytes: Cow::Borrowed(bytes),
                private: kind.is_private(),
            },
        };
        outputs.push(output);
    }
    // the recipients file travels with the first encrypted passphrase
    if let Some((_, text)) = &recipients {
        let path = tree_path(&rel_root, &recipients_rel);
        let in_base = base
            .as_ref()
            .map(|b| blob_at(&repo, b, &path))
            .transpose()?
            .flatten();
        // only where the branch has none yet: a list someone changed on the
        // branch since is theirs, not ours to overwrite
        if outputs.iter().any(|o| o.path.ends_with(".age")) && in_base.is_none() {
            outputs.push(Output {
                kind: None,
                path,
                bytes: Cow::Borrowed(text),
                private: false,
            });
        }
    }

    let facts = MessageFacts {
        changed: changes.clone(),
        resources_before: base
            .as_ref()
            .and_then(|b| checkpoint_resources(&repo, b, &tree_paths[&Kind::App])),
        resources_after: info.checkpoint.map(|c| c.resources),
        update: message::newest_update(&ctx),
        ci_run_url: ci_env::detect(env).and_then(|ci| ci.run_url),
    };
    let template = options
        .message
        .clone()
        .or_else(|| ctx.settings.message.clone());
    let msg = message::compose(&ctx, template.as_deref(), &facts);
    let changed_files: Vec<ChangedFile> = outputs
        .iter()
        .filter_map(|o| {
            Some(ChangedFile {
                kind: o.kind?,
                path: o.path.clone(),
                change: if at_base[&o.kind?].is_some() {
                    "modified"
                } else {
                    "added"
                },
                bytes: o.bytes.len() as u64,
            })
        })
        .collect();
    if options.dry_run {
        timer.step("dry run: nothing written");
        return Ok(report(
            &ctx,
            &timer,
            options,
            remote.as_ref(),
            branch,
            changed_files,
            Some((None, msg, 0, false)),
            warnings,
        ));
    }

    // 5. Commit (only our paths) and push, rebuilding on a moved tip.
    let (author, committer) = message::identities(&repo, env)?;
    let blobs: Vec<(String, Oid)> = outputs
        .iter()
        .map(|o| {
            repo.blob(&o.bytes)
                .map(|oid| (o.path.clone(), oid))
                .map_err(|e| git_error("writing a blob", &e, &[]))
        })
        .collect::<Result<_>>()?;
    // A commit of what `parent` does not hold yet (None: it holds all of
    // it, as after a rerun whose earlier push landed): never an empty commit.
    let make_commit = |parent: Option<&git2::Commit>| -> Result<Option<Oid>> {
        let at = ids_in(parent)?;
        let mut needed = Vec::new();
        for (output, (path, blob)) in outputs.iter().zip(&blobs) {
            let missing = match output.kind {
                Some(kind) => at[&kind] != ours[&kind],
                None => {
                    parent
                        .map(|p| blob_at(&repo, p, path))
                        .transpose()?
                        .flatten()
                        .is_none()
                        && needed
                            .iter()
                            .any(|(p, _): &(String, Oid)| p.ends_with(".age"))
                }
            };
            if missing {
                needed.push((path.clone(), *blob));
            }
        }
        if needed.is_empty() {
            return Ok(None);
        }
        let tree = build_tree(&repo, parent, &needed)?;
        if parent.is_some_and(|p| p.tree_id() == tree.id()) {
            return Ok(None);
        }
        let parents: Vec<&git2::Commit> = parent.into_iter().collect();
        repo.commit(None, &author, &committer, &msg, &tree, &parents)
            .map(Some)
            .map_err(|e| git_error("creating the commit", &e, &[]))
    };
    // a changed file is never in the base already, so there is a commit
    let first = make_commit(base.as_ref())?.ok_or_else(|| Error::Git {
        action: "building the commit".into(),
        message: "internal error: the changed files are already in the base".into(),
    })?;
    let mut oid = Some(first);
    timer.step(format!("committed {}", &first.to_string()[..12]));
    let mut attempts = 0;
    let mut recorded = loaded.clone();
    if let (Some(remote), Some(branch)) = (&remote, &branch) {
        let conflicts = conflicts_at(base.as_ref())?;
        if !conflicts.is_empty() {
            write_worktree(&ctx, &workdir, &git_dir, &outputs)?;
            return Err(rescue(&ctx, &repo, remote, branch, first, conflicts));
        }
        let budget = push_budget(env)?;
        recorded = note_pushing(&ctx, env, &loaded, &started_from, &ours, &changes)?;
        let pushing = Instant::now();
        while let Some(pushed_oid) = oid {
            attempts += 1;
            let pushed = remote
                .push(pushed_oid, branch, expected)
                .map_err(|e| kept(e, &ctx.config_dir))?;
            let reason = match pushed {
                PushOutcome::Accepted => {
                    timer.step(format!("pushed to {} {branch}", remote.name));
                    // as git does: the remote-tracking ref follows the push
                    let _ = repo.reference(
                        &format!("refs/remotes/{}/{branch}", remote.name),
                        pushed_oid,
                        true,
                        "sst-local-state: push",
                    );
                    break;
                }
                PushOutcome::Moved(reason) => reason,
            };
            timer.step(format!("push rejected ({reason}): {branch} moved"));
            let tip = fetch(remote, branch, &mut timer).map_err(|e| kept(e, &ctx.config_dir))?;
            let conflicts = conflicts_at(tip.as_ref())?;
            if !conflicts.is_empty() {
                write_worktree(&ctx, &workdir, &git_dir, &outputs)?;
                return Err(rescue(&ctx, &repo, remote, branch, pushed_oid, conflicts));
            }
            expected = tip.as_ref().map(|c| c.id());
            base = tip.or_else(|| head.clone());
            oid = make_commit(base.as_ref())?;
            let Some(rebuilt) = oid else {
                warnings.push(format!(
                    "{branch} already holds this state (commit {}): nothing pushed",
                    base.as_ref()
                        .map_or_else(String::new, |b| b.id().to_string())
                ));
                timer.step("the new tip already holds this state");
                break;
            };
            // unrelated moves (other stages, other commits) are retried with
            // growing, jittered pauses until the time budget runs out
            let Some(pause) = backoff(attempts, budget.saturating_sub(pushing.elapsed())) else {
                write_worktree(&ctx, &workdir, &git_dir, &outputs)?;
                return Err(busy(&ctx, &repo, remote, branch, rebuilt, attempts, budget));
            };
            std::thread::sleep(pause);
            timer.step(format!(
                "rebuilt on the new tip as {}",
                &rebuilt.to_string()[..12]
            ));
        }
    }

    // 6. The worktree and HEAD show the new state.
    write_worktree(&ctx, &workdir, &git_dir, &outputs)?;
    // HEAD follows only when the commit was built directly on it (so the
    // worktree differs from it in our paths alone), and only if it still
    // points where it did when this run read it
    let head_id = head.as_ref().map(|h| h.id());
    let mut raced = false;
    let head_updated = match oid {
        Some(new) if head_id == base.as_ref().map(|b| b.id()) => {
            match move_head(&repo, new, head_id, branch.as_deref(), &workdir, &blobs)? {
                HeadMove::Moved(index_warning) => {
                    warnings.extend(index_warning);
                    true
                }
                HeadMove::OtherBranch => false,
                HeadMove::Raced if remote.is_none() => {
                    return Err(Error::Git {
                        action: "moving HEAD to the state commit".into(),
                        message: format!("HEAD moved while this run committed (a commit of yours?); the state commit {new} was not applied and nothing was saved; the stage's state is untouched in {}: run commit again", ctx.config_dir),
                    });
                }
                HeadMove::Raced => {
                    raced = true;
                    warnings.push(format!(
                        "HEAD moved while this run committed (a commit of yours?): it was left where it is; the state commit {new} is on the remote branch"
                    ));
                    false
                }
            }
        }
        _ => false,
    };
    if oid.is_some() && !head_updated && !raced {
        warnings.push("HEAD was left where it was: the commit was built on the remote branch's tip, which is not HEAD (a PR merge checkout, a checkout behind the remote, or another branch checked out); the state files in the worktree are updated".into());
    }
    record_synced(&ctx, env, &collected, &recorded)?;
    timer.step("updated the worktree");
    Ok(report(
        &ctx,
        &timer,
        options,
        remote.as_ref(),
        branch,
        changed_files,
        Some((oid, msg, attempts, head_updated)),
        warnings,
    ))
}

#[allow(clippy::too_many_arguments)]
fn report(
    ctx: &StageContext,
    timer: &Timer,
    options: &CommitOptions,
    remote: Option<&Remote<'_>>,
    branch: Option<String>,
    files: Vec<ChangedFile>,
    made: Option<(Option<Oid>, String, u32, bool)>,
    warnings: Vec<String>,
) -> CommitReport {
    let (commit, message, attempts, head_updated) = match made {
        Some((oid, msg, attempts, head)) => (oid.map(|o| o.to_string()), Some(msg), attempts, head),
        None => (None, None, 0, false),
    };
    CommitReport {
        app: ctx.app.to_string(),
        stage: ctx.stage.to_string(),
        committed: commit.is_some(),
        pushed: commit.is_some() && remote.is_some(),
        commit,
        branch,
        remote: remote.map(|r| r.name.clone()),
        remote_url: remote.map(|r| r.display_url.clone()),
        files,
        attempts,
        message,
        head_updated,
        dry_run: options.dry_run,
        steps: timer.steps.clone(),
        warnings,
        duration_ms: timer.started.elapsed().as_millis() as u64,
    }
}

/// The kinds this run has to write: present in the config dir, different
/// from the base, and changed by this run. A file this run did not change
/// since prepare (`ours == started_from`) is not ours to write where the
/// base holds another version: for a fallback file (shared by every
/// stage) that version is another stage's newer one, and for a stage file
/// the conflict check reports it.
fn changed_kinds(
    ours: &BTreeMap<Kind, Option<Oid>>,
    started_from: &BTreeMap<Kind, Option<Oid>>,
    at_base: &BTreeMap<Kind, Option<Oid>>,
) -> BTreeSet<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| ours[k].is_some() && ours[k] != at_base[k])
        .filter(|k| at_base[k].is_none() || ours[k] != started_from[k])
        .collect()
}

/// Env variable: seconds a commit keeps retrying a branch that other runs
/// keep moving (default 300).
pub const PUSH_TIMEOUT_ENV: &str = "SST_LOCAL_STATE_PUSH_TIMEOUT";

fn push_budget(env: &Env) -> Result<Duration> {
    match env.non_empty(PUSH_TIMEOUT_ENV) {
        None => Ok(Duration::from_secs(300)),
        Some(v) => v.trim().parse().map(Duration::from_secs).map_err(|_| {
            Error::option(
                format!("env {PUSH_TIMEOUT_ENV}"),
                format!("{v:?} is not a whole number of seconds"),
            )
        }),
    }
}

/// The pause before push attempt `attempts + 1`: random in the upper half
/// of 100 ms × 2^(attempts-1), capped at 3 s, so racing runs spread out;
/// `None` when it would not fit in what is left of the budget.
fn backoff(attempts: u32, left: Duration) -> Option<Duration> {
    use std::hash::{BuildHasher, Hasher};
    let ceiling = Duration::from_millis(100u64.saturating_mul(1 << attempts.min(10)) / 2)
        .min(Duration::from_secs(3));
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let random = hasher.finish() % 1000;
    let pause = ceiling / 2 + ceiling / 2 * (random as u32) / 1000;
    (pause < left).then_some(pause)
}

fn utf8(path: &std::path::Path) -> Result<Utf8PathBuf> {
    Utf8PathBuf::from_path_buf(path.to_path_buf())
        .map_err(|p| Error::option("cwd", format!("{} is not UTF-8", p.display())))
}

fn path_of(files: &[StateFile], kind: Kind) -> &StateFile {
    files
        .iter()
        .find(|f| f.kind == kind)
        .expect("every kind has a file")
}

fn pick(explicit: &Option<String>, env: Option<&str>, settings: &Option<String>) -> Option<String> {
    explicit
        .clone()
        .or_else(|| env.map(str::to_string))
        .or_else(|| settings.clone())
}

/// `--branch` > env > `package.json` > CI variables > the checked-out branch.
fn pick_branch(
    options: &CommitOptions,
    ctx: &StageContext,
    env: &Env,
    repo: &Repository,
) -> Result<String> {
    let flag = Caller::name(options.common.caller, "branch", "branch");
    let chosen = pick(
        &options.branch,
        env.non_empty("SST_LOCAL_STATE_BRANCH"),
        &ctx.settings.branch,
    )
    .or_else(|| ci_env::detect(env).and_then(|ci| ci.branch))
    .or_else(|| {
        let head = repo.head().ok()?;
        head.is_branch()
            .then(|| head.shorthand().ok().map(str::to_string))
            .flatten()
    })
    .ok_or(Error::NoBranch)?;
    let branch = chosen
        .strip_prefix("refs/heads/")
        .unwrap_or(&chosen)
        .to_string();
    if !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
        return Err(Error::option(
            flag,
            format!("{branch:?} is not a valid branch name"),
        ));
    }
    Ok(branch)
}

fn repo_workdir(repo: &Repository, project_root: &Utf8Path) -> Result<Utf8PathBuf> {
    let workdir = repo.workdir().ok_or_else(|| Error::NotAGitRepo {
        path: project_root.to_path_buf(),
    })?;
    Utf8PathBuf::from_path_buf(workdir.to_path_buf()).map_err(|p| {
        Error::option(
            "cwd",
            format!("the repository path {} is not UTF-8", p.display()),
        )
    })
}

/// `path` relative to `base`, both canonicalised (so symlinked temp dirs agree).
fn relative_to(base: &Utf8Path, path: &Utf8Path) -> Result<Utf8PathBuf> {
    let canon = |p: &Utf8Path| -> Result<Utf8PathBuf> {
        let c = std::fs::canonicalize(p).map_err(|e| Error::io("resolving", p, e))?;
        Utf8PathBuf::from_path_buf(c)
            .map_err(|c| Error::option("cwd", format!("{} is not UTF-8", c.display())))
    };
    let (base, path) = (canon(base)?, canon(path)?);
    path.strip_prefix(&base)
        .map(Utf8Path::to_path_buf)
        .map_err(|_| Error::NotAGitRepo { path })
}

/// A path inside the git tree (always `/`-separated).
fn tree_path(rel_root: &Utf8Path, repo_rel: &Utf8Path) -> String {
    rel_root
        .join(repo_rel)
        .components()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

fn blob_at(repo: &Repository, commit: &git2::Commit, path: &str) -> Result<Option<Oid>> {
    let tree = commit
        .tree()
        .map_err(|e| git_error("reading a tree", &e, &[]))?;
    let found = tree
        .get_path(std::path::Path::new(path))
        .ok()
        .map(|entry| entry.id());
    let _ = repo;
    Ok(found)
}

fn checkpoint_resources(repo: &Repository, commit: &git2::Commit, path: &str) -> Option<u32> {
    let oid = blob_at(repo, commit, path).ok()??;
    let blob = repo.find_blob(oid).ok()?;
    check_checkpoint(Utf8Path::new(path), blob.content())
        .ok()
        .map(|c| c.resources)
}

/// The blob id of each state file in `commit` (None: absent, or no commit).
fn blobs_in(
    repo: &Repository,
    commit: Option<&git2::Commit>,
    paths: &BTreeMap<Kind, String>,
) -> Result<BTreeMap<Kind, Option<Oid>>> {
    paths
        .iter()
        .map(|(&kind, path)| {
            let oid = match commit {
                Some(c) => blob_at(repo, c, path)?,
                None => None,
            };
            Ok((kind, oid))
        })
        .collect()
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

fn build_tree<'r>(
    repo: &'r Repository,
    parent: Option<&git2::Commit>,
    blobs: &[(String, Oid)],
) -> Result<git2::Tree<'r>> {
    let mut update = TreeUpdateBuilder::new();
    for (path, oid) in blobs {
        update.upsert(path.as_str(), *oid, FileMode::Blob);
    }
    let base_tree = match parent {
        Some(p) => p
            .tree()
            .map_err(|e| git_error("reading the base tree", &e, &[]))?,
        None => {
            let empty = repo
                .treebuilder(None)
                .and_then(|b| b.write())
                .map_err(|e| git_error("writing an empty tree", &e, &[]))?;
            repo.find_tree(empty)
                .map_err(|e| git_error("reading an empty tree", &e, &[]))?
        }
    };
    let tree_oid = update
        .create_updated(repo, &base_tree)
        .map_err(|e| git_error("building the commit's tree", &e, &[]))?;
    repo.find_tree(tree_oid)
        .map_err(|e| git_error("reading the new tree", &e, &[]))
}

/// Writes the committed files into the worktree, staging each in the git
/// dir (never a stray temporary file in the worktree) and never through a
/// symbolic link (checked again right before writing).
fn write_worktree(
    ctx: &StageContext,
    workdir: &Utf8Path,
    git_dir: &Utf8Path,
    outputs: &[Output],
) -> Result<()> {
    let files = state_files(ctx);
    guard::check_repo_paths(ctx, &files)?;
    for o in outputs {
        let path = workdir.join(&o.path);
        if let Ok(rel) = path.strip_prefix(workdir) {
            fsx::refuse_symlinks(workdir, rel)?;
        }
        fsx::write_atomic_via(&path, &o.bytes, o.private, git_dir)?;
    }
    Ok(())
}

/// What [`move_head`] did.
enum HeadMove {
    /// HEAD (or its branch) points at the state commit; with a warning
    /// when the index could not be refreshed (a `git` holding its lock).
    Moved(Option<String>),
    /// Another branch is checked out: left alone.
    OtherBranch,
    /// HEAD moved since this run read it (someone committed): left alone.
    Raced,
}

/// Moves HEAD to `oid`, keeping an attached branch attached when it is the
/// pushed branch (any other checked-out branch is left alone), and refreshes
/// the index entries of our paths only. The move is a compare-and-swap
/// against `expected`, where HEAD was when the run read it: a commit made
/// meanwhile (the user's own) is never moved off its branch.
fn move_head(
    repo: &Repository,
    oid: Oid,
    expected: Option<Oid>,
    branch: Option<&str>,
    workdir: &Utf8Path,
    blobs: &[(String, Oid)],
) -> Result<HeadMove> {
    let g = |e: git2::Error| git_error("updating HEAD", &e, &[]);
    let swap = |name: &str| -> Result<bool> {
        let result = match expected {
            Some(current) => {
                repo.reference_matching(name, oid, true, current, "sst-local-state: state commit")
            }
            // an unborn branch: create it only if nobody did meanwhile
            None => repo.reference(name, oid, false, "sst-local-state: state commit"),
        };
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::Modified | git2::ErrorCode::Exists
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(g(e)),
        }
    };
    let head_ref = repo.find_reference("HEAD").map_err(g)?;
    let attached = head_ref
        .symbolic_target()
        .ok()
        .flatten()
        .map(str::to_string);
    let swapped = match (attached, branch) {
        // the checked-out branch is the one we committed to: move it along
        (Some(target), Some(b)) if target == format!("refs/heads/{b}") => swap(&target)?,
        (Some(target), None) => swap(&target)?,
        // another branch is checked out: leave it alone
        (Some(_), Some(_)) => return Ok(HeadMove::OtherBranch),
        (None, _) => swap("HEAD")?,
    };
    if !swapped {
        return Ok(HeadMove::Raced);
    }
    Ok(HeadMove::Moved(
        refresh_index(repo, workdir, blobs)
            .err()
            .map(|e| format!("HEAD points at the state commit, but the index could not be refreshed ({e}): `git status` may list the state files as changed until `git reset -q -- <state folder>`")),
    ))
}

/// Points the index entries of our paths at the committed blobs.
fn refresh_index(
    repo: &Repository,
    workdir: &Utf8Path,
    blobs: &[(String, Oid)],
) -> std::result::Result<(), git2::Error> {
    let mut index = repo.index()?;
    for (path, blob) in blobs {
        match index_entry(&workdir.join(path), path, *blob) {
            // the blob is already in the object store: no second hash and compression
            Some(entry) => index.add(&entry)?,
            None => index.add_path(std::path::Path::new(path))?,
        }
    }
    index.write()
}

/// An index entry for a file we just wrote with content `blob`, with the
/// file's stat data so git sees it as clean without re-hashing it.
#[cfg(unix)]
fn index_entry(file: &Utf8Path, path: &str, blob: Oid) -> Option<git2::IndexEntry> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file).ok()?;
    let time = |secs: i64, nanos: i64| git2::IndexTime::new(secs as i32, nanos as u32);
    Some(git2::IndexEntry {
        ctime: time(meta.ctime(), meta.ctime_nsec()),
        mtime: time(meta.mtime(), meta.mtime_nsec()),
        dev: meta.dev() as u32,
        ino: meta.ino() as u32,
        mode: 0o100644,
        uid: meta.uid(),
        gid: meta.gid(),
        file_size: meta.size() as u32,
        id: blob,
        flags: path.len().min(0xfff) as u16,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    })
}

#[cfg(not(unix))]
fn index_entry(_file: &Utf8Path, _path: &str, _blob: Oid) -> Option<git2::IndexEntry> {
    None
}

/// Notes in the stage's marker what this run is about to push (under the
/// config dir's lock, unless a prepare rewrote the marker since this run
/// read it): a run killed after its push landed, before it could record
/// it, is then recognised by the next commit as its own lineage instead of
/// a conflicting run. Returns the marker as now on disk.
fn note_pushing(
    ctx: &StageContext,
    env: &Env,
    read: &Loaded,
    started_from: &BTreeMap<Kind, Option<Oid>>,
    ours: &BTreeMap<Kind, Option<Oid>>,
    changes: &BTreeSet<Kind>,
) -> Result<Loaded> {
    /// Unrecorded pushes remembered per file (the oldest are dropped).
    const KEEP: usize = 16;
    let _lock = guard::lock_config_dir(ctx, env)?;
    if Marker::load(ctx)? != *read {
        return Ok(read.clone());
    }
    let mut marker = match read {
        Loaded::Found(m) => m.clone(),
        Loaded::Absent | Loaded::Corrupt => Marker {
            files: started_from
                .iter()
                .filter_map(|(k, id)| Some((*k, (*id)?.to_string())))
                .collect(),
            ..Marker::default()
        },
    };
    for kind in changes {
        if let Some(id) = ours[kind] {
            let list = marker.pushing.entry(*kind).or_default();
            let id = id.to_string();
            if !list.contains(&id) {
                list.push(id);
            }
            if list.len() > KEEP {
                list.remove(0);
            }
        }
    }
    marker.save(ctx)?;
    Ok(Loaded::Found(Marker {
        version: 1,
        ..marker
    }))
}

/// Records the config dir's files as saved, so a later prepare on this
/// machine does not take them for unsaved changes. Under the config dir's
/// lock, and only if no prepare rewrote the record since this run read it
/// (the config dir then holds what that prepare restored, not ours).
fn record_synced(ctx: &StageContext, env: &Env, collected: &StateSet, read: &Loaded) -> Result<()> {
    let _lock = guard::lock_config_dir(ctx, env)?;
    if Marker::load(ctx)? != *read {
        return Ok(());
    }
    let mut marker = Marker::default();
    for kind in Kind::ALL {
        if let Some(bytes) = collected.get(kind) {
            marker.files.insert(kind, fsx::blob_hash(bytes));
        }
    }
    marker.save(ctx)
}

/// A fetch or push failure, saying that nothing was lost: the config dir is
/// untouched, so running commit again is safe.
fn kept(error: Error, config_dir: &Utf8Path) -> Error {
    let note = format!(
        "; the stage's state is untouched in {config_dir}: fix the cause and run commit again"
    );
    match error {
        Error::Network { url, message } => Error::Network {
            url,
            message: message + &note,
        },
        Error::PushRejected { branch, reason } => Error::PushRejected {
            branch,
            reason: reason + &note,
        },
        Error::Git { action, message } => Error::Git {
            action,
            message: message + &note,
        },
        other => other,
    }
}

/// Keeps our commit on a rescue branch of its own: a local branch, and the
/// same branch pushed to the remote. The name ends in the commit's id, so
/// two runs never share one (same name means same commit, same bytes).
/// Returns the branch when the push worked, and what to tell the user.
fn keep_on_rescue_branch(
    ctx: &StageContext,
    repo: &Repository,
    remote: &Remote<'_>,
    oid: Oid,
) -> (Option<String>, String) {
    let name = format!(
        "sst-local-state/rescue/{}/{}/{}-{}",
        ctx.app,
        ctx.stage,
        fsx::utc_stamp(),
        &oid.to_string()[..12]
    );
    let local = repo
        .find_commit(oid)
        .and_then(|c| repo.branch(&name, &c, false))
        .is_ok();
    let local_note = if local {
        format!("local branch {name}")
    } else {
        format!("local commit {oid}")
    };
    let failed = |why: String| {
        format!("PUSHING IT TO RESCUE BRANCH {name} FAILED ({why}): this run's state is only on this machine: in SST's config dir {}, in the worktree and in {local_note}. Push it before this machine goes away (`git push {} {name}`).", ctx.config_dir, remote.name)
    };
    match remote.push(oid, &name, None) {
        Ok(PushOutcome::Accepted) => (
            Some(name.clone()),
            format!(
                "This run's state is on branch {name} of {} (commit {oid}), in the worktree and in SST's config dir.",
                remote.name
            ),
        ),
        Ok(PushOutcome::Moved(reason)) => (None, failed(reason)),
        Err(e) => (None, failed(e.to_string())),
    }
}

/// Pushes our commit to a rescue branch and builds the conflict error.
fn rescue(
    ctx: &StageContext,
    repo: &Repository,
    remote: &Remote<'_>,
    branch: &str,
    oid: Oid,
    conflicts: Vec<String>,
) -> Error {
    let (rescue_branch, kept) = keep_on_rescue_branch(ctx, repo, remote, oid);
    Error::StateConflict {
        branch: branch.to_string(),
        paths: conflicts.join(", "),
        rescue: format!("{kept} Resolve by deciding which state is right: compare both, then prepare the right one and deploy again (`sst refresh` reconciles the checkpoint with the cloud)."),
        rescue_branch,
    }
}

/// The branch kept moving for the whole budget: our state goes to a rescue
/// branch too, and the error says that running commit again is all it takes.
fn busy(
    ctx: &StageContext,
    repo: &Repository,
    remote: &Remote<'_>,
    branch: &str,
    oid: Oid,
    attempts: u32,
    budget: Duration,
) -> Error {
    let (rescue_branch, kept) = keep_on_rescue_branch(ctx, repo, remote, oid);
    Error::BranchBusy {
        branch: branch.to_string(),
        attempts,
        seconds: budget.as_secs(),
        kept: format!("{kept} Run commit again when the branch is quieter (or raise {PUSH_TIMEOUT_ENV}); no redeploy is needed."),
        rescue_branch,
    }
}
