//! One commit of passphrase files for the whole project (not one stage):
//! what `rekey` and `encrypt` write. Planned on the remote branch's tip and
//! landed as every commit is (see [`crate::ops::land`]); when the branch
//! moved, the plan is made again on the new tip (so another run's
//! passphrase is re-encrypted too, never overwritten).
//! Also the record of whom the `.age` files are encrypted to.

use std::time::Instant;

use camino::{Utf8Path, Utf8PathBuf};
use git2::{Oid, Repository};
use serde::Serialize;

use crate::ci_env;
use crate::env::Env;
use crate::error::Result;
use crate::fsx;
use crate::git::gitx::{self, TreeBlob};
use crate::git::remote::{git_error, Remote};
use crate::ops::land::{self, Build, Landing, Lane};
use crate::stage::project::{self, CommonOptions, Location};
use crate::stage::seal;
use crate::warning::Warning;

pub use crate::stage::seal::SEALED_TO_FILE;

/// Options of `rekey` and `encrypt`.
#[derive(Debug, Clone, Default)]
pub struct PassphrasesOptions {
    /// Project and paths (the stage is not used).
    pub common: CommonOptions,
    /// Branch to push to; else env, `package.json`, CI variables, the checked-out branch.
    pub branch: Option<String>,
    /// Remote; default `origin`.
    pub remote: Option<String>,
    /// Commit on HEAD locally, push nothing.
    pub no_push: bool,
    /// Report what would change; write nothing.
    pub dry_run: bool,
}

/// One file the commit changes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassphraseFile {
    /// Path in the repository, relative to its root.
    pub path: String,
    /// `rekeyed`, `encrypted`, `removed` or `updated`.
    pub change: &'static str,
}

/// The result of `rekey` and `encrypt`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassphrasesReport {
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
    /// The passphrase files checked (`.age` and plain).
    pub passphrases: usize,
    /// How many recipients the files are now encrypted to.
    pub recipients: usize,
    /// Files changed.
    pub files: Vec<PassphraseFile>,
    /// Push attempts.
    pub attempts: u32,
    /// The commit message.
    pub message: Option<String>,
    /// Whether HEAD now points at the commit.
    pub head_updated: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// What to know about the result (e.g. git history still holding plaintext).
    pub notes: Vec<String>,
    /// Findings that did not stop the run.
    pub warnings: Vec<Warning>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// A file to write (`bytes`) or remove (None), by path in the tree.
pub struct Change {
    /// Path in the tree.
    pub path: String,
    /// New content; None removes the file.
    pub bytes: Option<Vec<u8>>,
    /// How the report names the change.
    pub label: &'static str,
}

/// What a plan made on one base commit.
#[derive(Default)]
pub struct Planned {
    /// Files to change (empty: nothing to commit).
    pub changes: Vec<Change>,
    /// Passphrase files looked at.
    pub passphrases: usize,
    /// Recipients the files are encrypted to.
    pub recipients: usize,
    /// Commit message.
    pub message: String,
    /// Notes for the report.
    pub notes: Vec<String>,
}

/// The repository and the project's place in it, for plans.
pub struct Scope<'r> {
    /// The repository.
    pub repo: &'r Repository,
    /// Project root, state folder, config dir.
    pub location: Location,
    workdir: Utf8PathBuf,
    rel_root: Utf8PathBuf,
}

impl Scope<'_> {
    /// The tree path of `rel` (relative to the state folder).
    pub fn tree_path(&self, rel: &str) -> String {
        gitx::tree_path(&self.rel_root, &self.location.state_dir.join(rel))
    }

    /// The worktree path of a tree path.
    pub fn work_path(&self, tree_path: &str) -> Utf8PathBuf {
        self.workdir.join(tree_path)
    }

    /// The content of `path` in `commit` (None: absent, or no commit).
    pub fn read(&self, commit: Option<&git2::Commit>, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(oid) = commit
            .map(|c| gitx::blob_at(c, path))
            .transpose()?
            .flatten()
        else {
            return Ok(None);
        };
        let blob = self
            .repo
            .find_blob(oid)
            .map_err(|e| git_error("reading a blob", &e))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// The names of the files directly in folder `path` of `commit`.
    pub fn list(&self, commit: Option<&git2::Commit>, path: &str) -> Result<Vec<String>> {
        let Some(commit) = commit else {
            return Ok(Vec::new());
        };
        let tree = commit.tree().map_err(|e| git_error("reading a tree", &e))?;
        let Ok(entry) = tree.get_path(std::path::Path::new(path)) else {
            return Ok(Vec::new());
        };
        let Ok(folder) = self.repo.find_tree(entry.id()) else {
            return Ok(Vec::new());
        };
        Ok(folder
            .iter()
            .filter(|e| e.kind() == Some(git2::ObjectType::Blob))
            .filter_map(|e| e.name().ok().map(str::to_string))
            .collect())
    }

    /// The recipients file as the user has it (the worktree's), parsed, with its bytes.
    pub fn recipients(&self) -> Result<Option<(Vec<age::x25519::Recipient>, Vec<u8>)>> {
        let file = self.work_path(&self.tree_path(seal::RECIPIENTS_FILE));
        fsx::refuse_symlinks(
            &self.workdir,
            &file
                .strip_prefix(&self.workdir)
                .unwrap_or(&file)
                .to_path_buf(),
        )?;
        let Some(bytes) = fsx::read_optional(&file)? else {
            return Ok(None);
        };
        let keys = seal::parse_recipients(&file, &String::from_utf8_lossy(&bytes))?;
        Ok(Some((keys, bytes)))
    }
}

impl Planned {
    /// Adds `path` with `bytes` (labelled `updated`) unless `base` already holds exactly that.
    pub fn update(
        &mut self,
        scope: &Scope,
        base: Option<&git2::Commit>,
        path: String,
        bytes: Vec<u8>,
    ) -> Result<()> {
        if scope.read(base, &path)?.as_deref() != Some(&bytes[..]) {
            self.changes.push(Change {
                path,
                bytes: Some(bytes),
                label: "updated",
            });
        }
        Ok(())
    }
}

impl Planned {
    /// Adds the record `record` (see [`sealed_to`]) unless `base` holds it already.
    pub fn update_record(
        &mut self,
        scope: &Scope,
        base: Option<&git2::Commit>,
        record: Vec<u8>,
    ) -> Result<()> {
        self.update(scope, base, scope.tree_path(SEALED_TO_FILE), record)
    }
}

/// The record of `recipients` (see [`SEALED_TO_FILE`]): sorted, one a line.
/// For people and earlier versions (and `REKEY_NEEDED` after an edit of the
/// list): what rekey decides by is each file's own header
/// ([`crate::stage::sealed_to`]).
pub fn sealed_to(recipients: &[age::x25519::Recipient]) -> Vec<u8> {
    let mut keys: Vec<String> = recipients.iter().map(ToString::to_string).collect();
    keys.sort();
    keys.dedup();
    let mut text = String::from(
        "# written by sst-local-state rekey/encrypt: the recipients they last encrypted the .age files here to\n# (each .age file's header names its own list: rekey checks those, not this record)\n",
    );
    for key in keys {
        text.push_str(&key);
        text.push('\n');
    }
    text.into_bytes()
}

/// Where the commit goes.
struct Target<'r> {
    remote: Remote<'r>,
    branch: String,
}

/// Plans on the branch's tip, commits and lands the commit (see the module docs).
pub fn run<'r>(
    options: &PassphrasesOptions,
    env: &Env,
    repo: &'r Repository,
    location: Location,
    plan: impl FnMut(&Scope<'r>, Option<&git2::Commit<'r>>) -> Result<Planned>,
) -> Result<PassphrasesReport> {
    let started = Instant::now();
    let scope = Scope::new(repo, location)?;
    let git_dir = gitx::utf8(repo.path())?;
    let target = target(options, env, repo, &scope.location)?;
    let mut planner = Planner {
        scope: &scope,
        env,
        head: repo.head().ok().and_then(|h| h.peel_to_commit().ok()),
        ci_run: ci_env::detect(env).and_then(|ci| ci.run_url),
        plan,
        report: PassphrasesReport::empty(options, target.as_ref()),
        last: None,
    };
    let pushed_to = match (&target, options.dry_run) {
        (Some(t), false) => planner.land(t)?,
        (Some(t), true) => {
            planner.make(t.remote.fetch_branch(&t.branch)?, false)?;
            None
        }
        (None, dry_run) => planner.make(None, !dry_run)?,
    };
    let Planner {
        mut report,
        last,
        head,
        ..
    } = planner;
    if let (Some(oid), Some((planned, parent))) = (pushed_to, last) {
        report.committed = true;
        report.pushed = target.is_some();
        report.commit = Some(oid.to_string());
        let landed = Landed {
            changes: &planned.changes,
            head: head.as_ref(),
            parent: parent.as_ref(),
            oid,
            branch: target.as_ref().map(|t| t.branch.as_str()),
        };
        finish(&scope, &git_dir, &landed, &mut report)?;
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Plans on a base and makes the commit of the plan; keeps the report and
/// the last plan.
struct Planner<'s, 'r, P> {
    scope: &'s Scope<'r>,
    env: &'s Env,
    head: Option<git2::Commit<'r>>,
    ci_run: Option<String>,
    plan: P,
    report: PassphrasesReport,
    /// The last plan and the commit it was made on.
    last: Option<(Planned, Option<git2::Commit<'r>>)>,
}

impl<'r, P> Planner<'_, 'r, P>
where
    P: FnMut(&Scope<'r>, Option<&git2::Commit<'r>>) -> Result<Planned>,
{
    /// Plans on `tip` (None: on HEAD) and, with `write`, commits the plan
    /// unless it changes nothing; the commit.
    fn make(&mut self, tip: Option<Oid>, write: bool) -> Result<Option<Oid>> {
        let repo = self.scope.repo;
        let base = tip_commit(repo, tip)?.or_else(|| self.head.clone());
        let mut planned = (self.plan)(self.scope, base.as_ref())?;
        if let Some(url) = &self.ci_run {
            planned.message.push_str(&format!("CI-Run: {url}\n"));
        }
        self.report.record(&planned);
        let changes = !planned.changes.is_empty();
        self.report.message = changes.then(|| planned.message.clone());
        let oid = match changes && write {
            true => Some(build(repo, self.env, base.as_ref(), &planned)?),
            false => None,
        };
        self.last = Some((planned, base));
        Ok(oid)
    }

    /// Lands the plan's commit on `target`'s branch, planned again on the
    /// new tip while the branch moves; the commit that landed (None: the
    /// tip needs no change).
    fn land(&mut self, target: &Target<'_>) -> Result<Option<Oid>> {
        let lane = Lane::new(&target.remote, &target.branch, self.env)?;
        let landing = land::land(&lane, None, &mut |tip| {
            Ok(self.make(tip.id, true)?.map_or(Build::Held, Build::Commit))
        })?;
        match landing {
            Landing::Landed { commit, attempts } => {
                self.report.attempts = attempts;
                Ok(Some(commit.oid))
            }
            Landing::Held { attempts, .. } => {
                self.report.attempts = attempts;
                Ok(None)
            }
            Landing::Unlanded(unlanded) => Err(unlanded.error(None, "Nothing was pushed and nothing in the worktree changed: run the command again when the branch is quieter.".into())),
        }
    }
}

impl<'r> Scope<'r> {
    /// The scope of the project at `location` in `repo`.
    fn new(repo: &'r Repository, location: Location) -> Result<Scope<'r>> {
        let workdir = gitx::workdir(repo, &location.project_root)?;
        let rel_root = gitx::relative_to(&workdir, &location.project_root)?;
        Ok(Scope {
            repo,
            location,
            workdir,
            rel_root,
        })
    }
}

impl PassphrasesReport {
    /// The report before any plan: where it would push, nothing done.
    fn empty(options: &PassphrasesOptions, target: Option<&Target>) -> PassphrasesReport {
        PassphrasesReport {
            committed: false,
            commit: None,
            pushed: false,
            branch: target.map(|t| t.branch.clone()),
            remote: target.map(|t| t.remote.name.clone()),
            remote_url: target.map(|t| t.remote.display_url.clone()),
            passphrases: 0,
            recipients: 0,
            files: Vec::new(),
            attempts: 0,
            message: None,
            head_updated: false,
            dry_run: options.dry_run,
            notes: Vec::new(),
            warnings: Vec::new(),
            duration_ms: 0,
        }
    }

    /// Takes what `planned` found and would change.
    fn record(&mut self, planned: &Planned) {
        self.passphrases = planned.passphrases;
        self.recipients = planned.recipients;
        self.notes = planned.notes.clone();
        self.files = planned
            .changes
            .iter()
            .map(|c| PassphraseFile {
                path: c.path.clone(),
                change: c.label,
            })
            .collect();
    }
}

/// The fetched tip's commit (None: the branch does not exist).
fn tip_commit(repo: &Repository, tip: Option<Oid>) -> Result<Option<git2::Commit<'_>>> {
    tip.map(|oid| repo.find_commit(oid))
        .transpose()
        .map_err(|e| git_error("reading the fetched tip", &e))
}

/// The commit that landed: its changes, what it was built on, where it went.
struct Landed<'a, 'r> {
    changes: &'a [Change],
    head: Option<&'a git2::Commit<'r>>,
    parent: Option<&'a git2::Commit<'r>>,
    oid: Oid,
    branch: Option<&'a str>,
}

/// The remote and branch (None with `no_push`), resolved as `commit` resolves them.
fn target<'r>(
    options: &PassphrasesOptions,
    env: &Env,
    repo: &'r Repository,
    location: &Location,
) -> Result<Option<Target<'r>>> {
    if options.no_push {
        return Ok(None);
    }
    let settings = &location.settings;
    let remote_name = project::remote_name(&options.remote, env, settings);
    let remote = Remote::open(repo, &remote_name, env)?;
    let branch = project::pick_branch(&options.branch, options.common.caller, settings, env, repo)?;
    Ok(Some(Target { remote, branch }))
}

/// The commit of `planned` on `parent`.
fn build(
    repo: &Repository,
    env: &Env,
    parent: Option<&git2::Commit>,
    planned: &Planned,
) -> Result<Oid> {
    let g = |action: &str, e: git2::Error| git_error(action, &e);
    let mut update = git2::build::TreeUpdateBuilder::new();
    for change in &planned.changes {
        match &change.bytes {
            Some(bytes) => {
                let blob = repo.blob(bytes).map_err(|e| g("writing a blob", e))?;
                update.upsert(change.path.as_str(), blob, git2::FileMode::Blob);
            }
            None => {
                update.remove(change.path.as_str());
            }
        }
    }
    let base_tree = match parent {
        Some(c) => c.tree().map_err(|e| g("reading the base tree", e))?,
        None => {
            let empty = repo
                .treebuilder(None)
                .and_then(|b| b.write())
                .map_err(|e| g("writing an empty tree", e))?;
            repo.find_tree(empty).map_err(|e| g("reading a tree", e))?
        }
    };
    let tree_id = update
        .create_updated(repo, &base_tree)
        .map_err(|e| g("building the commit's tree", e))?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(|e| g("reading a tree", e))?;
    let (author, committer) = crate::ops::message::identities(repo, env)?;
    let parents: Vec<&git2::Commit> = parent.into_iter().collect();
    repo.commit(None, &author, &committer, &planned.message, &tree, &parents)
        .map_err(|e| g("creating the commit", e))
}

/// The worktree shows the committed files (removed ones are deleted), and
/// HEAD follows by compare-and-swap when the commit was built on it.
fn finish(
    scope: &Scope,
    git_dir: &Utf8Path,
    landed: &Landed,
    report: &mut PassphrasesReport,
) -> Result<()> {
    let Landed {
        changes,
        head,
        parent,
        oid,
        branch,
    } = *landed;
    for change in changes {
        let path = scope.work_path(&change.path);
        if let Ok(rel) = path.strip_prefix(&scope.workdir) {
            fsx::refuse_symlinks(&scope.workdir, rel)?;
        }
        match &change.bytes {
            Some(bytes) => fsx::write_atomic_via(&path, bytes, false, git_dir)?,
            None => fsx::remove_optional(&path)?,
        }
    }
    let head_id = head.map(|h| h.id());
    if head_id.is_none() || head_id != parent.map(|p| p.id()) {
        report.warnings.push(Warning::HeadNotMoved {
            why: "the commit was built on the remote branch's tip, which is not HEAD",
        });
        return Ok(());
    }
    let repo = scope.repo;
    let head_ref = repo
        .find_reference("HEAD")
        .map_err(|e| git_error("reading HEAD", &e))?;
    let name = match (head_ref.symbolic_target().ok().flatten(), branch) {
        (Some(t), Some(b)) if t == format!("refs/heads/{b}") => t.to_string(),
        (Some(t), None) => t.to_string(),
        (Some(_), Some(_)) => {
            report.warnings.push(Warning::HeadNotMoved {
                why: "another branch is checked out",
            });
            return Ok(());
        }
        (None, _) => "HEAD".to_string(),
    };
    let expected = head_id.expect("checked above");
    match repo.reference_matching(&name, oid, true, expected, "sst-local-state: passphrases") {
        Ok(_) => report.head_updated = true,
        Err(_) => {
            report.warnings.push(Warning::HeadMoved {
                commit: oid.to_string(),
            });
            return Ok(());
        }
    }
    // the index follows for our paths only
    if let Ok(mut index) = repo.index() {
        for change in changes {
            if change.bytes.is_none() {
                let _ = index.remove_path(std::path::Path::new(&change.path));
            }
        }
        let _ = index.write();
    }
    let blobs: Vec<TreeBlob> = changes
        .iter()
        .filter(|c| c.bytes.is_some())
        .filter_map(|c| {
            let commit = repo.find_commit(oid).ok()?;
            let blob = gitx::blob_at(&commit, &c.path).ok()??;
            Some(TreeBlob {
                path: c.path.clone(),
                blob,
            })
        })
        .collect();
    if let Err(e) = gitx::refresh_index(repo, &scope.workdir, &blobs) {
        report.warnings.push(Warning::IndexNotRefreshed {
            reason: e.message().to_string(),
        });
    }
    Ok(())
}

/// The repository and location of `options`.
pub fn open(options: &PassphrasesOptions, env: &Env) -> Result<(Repository, Location)> {
    let location = project::resolve_location(&options.common, env)?;
    project::refuse_state_branch(location.state_branch.as_deref(), "rekey and encrypt")?;
    let repo = gitx::discover(&location.project_root)?;
    Ok((repo, location))
}
