//! Bringing the stage's files in the worktree to a commit (the remote
//! branch's tip, or a new commit on it): what a commit holds. A locked
//! prepare starts from the branch's newest state: under the stage lock, the
//! stage's files in the worktree are brought to the remote branch's tip
//! (fetched), deletions included, so a run that waited for the lock deploys
//! from what the run before it saved, not from its own older checkout. A
//! state conflict puts the branch's state back in the worktree (ours is on
//! the rescue branch), and a rollback that landed on the checked-out tip
//! brings the worktree along.

use camino::{Utf8Path, Utf8PathBuf};
use git2::{Oid, Repository};

use crate::error::{Error, Result};
use crate::fsx;
use crate::git::gitx::{self, TreeBlob};
use crate::git::remote::{git_error, Remote};
use crate::stage::guard;
use crate::stage::layout::{self, state_files};
use crate::stage::new_stage;
use crate::stage::project::StageContext;

/// Fetches `branch` and makes the stage's files in the worktree what its
/// tip holds (see [`worktree_to`]); returns the tip (None: the remote has
/// no such branch, nothing changed).
pub fn refresh(
    ctx: &StageContext,
    repo: &Repository,
    remote: &Remote<'_>,
    branch: &str,
) -> Result<Option<Oid>> {
    guard::check_repo_paths(ctx, &state_files(ctx))?;
    let Some(tip) = remote.fetch_branch(branch)? else {
        return Ok(None);
    };
    let commit = repo
        .find_commit(tip)
        .map_err(|e| git_error("reading the fetched tip", &e))?;
    worktree_to(ctx, repo, &commit)?;
    Ok(Some(tip))
}

/// What [`worktree_to`] changed in the worktree.
#[derive(Debug, Default)]
pub struct Synced {
    /// The files the worktree now holds, with their blobs (written or
    /// already equal).
    pub held: Vec<TreeBlob>,
    /// Files removed (paths in the tree).
    pub removed: Vec<String>,
}

/// Makes the stage's files in the worktree what `commit` holds: its state
/// files (the shared fallback files too), sealed passphrases and the
/// recipients list are written where the worktree's differ (mode 0600 for
/// keys and secrets, staged in the git dir, never through a symbolic
/// link); a state file or sealed passphrase `commit` lacks is removed (a
/// recipients list it lacks is left: it may be a member's `init` not
/// committed yet). HEAD and the index are not touched.
pub fn worktree_to(
    ctx: &StageContext,
    repo: &Repository,
    commit: &git2::Commit<'_>,
) -> Result<Synced> {
    guard::check_repo_paths(ctx, &state_files(ctx))?;
    let workdir = gitx::workdir(repo, &ctx.project_root)?;
    let rel_root = gitx::relative_to(&workdir, &ctx.project_root)?;
    let git_dir = gitx::utf8(repo.path())?;
    files_to(ctx, repo, commit, &workdir, &rel_root, &git_dir)
}

/// [`worktree_to`] into `root`, a folder laid out as the worktree (the
/// project at `rel_root` below it), staging each write in `git_dir`.
fn files_to(
    ctx: &StageContext,
    repo: &Repository,
    commit: &git2::Commit<'_>,
    workdir: &Utf8Path,
    rel_root: &Utf8Path,
    git_dir: &Utf8Path,
) -> Result<Synced> {
    let files = state_files(ctx);
    // (path from the project root, private, removed when the commit lacks it)
    let mut wanted = vec![(layout::recipients_rel(ctx), false, false)];
    for file in files {
        wanted.push((file.repo_rel.clone(), file.kind.is_private(), true));
        if let Some(sealed) = file.sealed_rel {
            wanted.push((sealed, false, true));
        }
    }
    let mut synced = Synced::default();
    for (rel, private, removable) in wanted {
        let path = gitx::tree_path(rel_root, &rel);
        let file = workdir.join(&path);
        fsx::refuse_symlinks(workdir, Utf8Path::new(&path))?;
        let Some(blob) = gitx::blob_at(commit, &path)? else {
            if removable && file.exists() {
                fsx::remove_optional(&file)?;
                synced.removed.push(path);
            }
            continue;
        };
        if fsx::blob_hash_file(&file)? != Some(blob.into()) {
            let content = repo
                .find_blob(blob)
                .map_err(|e| git_error("reading a blob", &e))?;
            fsx::write_atomic_via(&file, content.content(), private, git_dir)?;
        }
        synced.held.push(TreeBlob { path, blob });
    }
    Ok(synced)
}

/// The stage's files as a state branch's tip on the remote holds them (see
/// [`state_branch_files`]).
pub struct TipFiles {
    /// The branch's tip (None: the remote has no such branch yet).
    pub tip: Option<Oid>,
    /// Where the project's root is in the copy (its state folder below it
    /// holds the tip's files).
    pub project_root: Utf8PathBuf,
    /// The stages the tip holds state for (the copy holds only this one's).
    pub known_stages: Vec<String>,
}

/// State-branch mode: fetches `branch` (that branch alone) and writes the
/// stage's files its tip holds into a folder of the stage's below the git
/// dir (`sst-local-state/state-branch/<branch>/<app>/<stage>/`, laid out as
/// the worktree is, made afresh each time and kept: messages name its
/// files); the checkout (worktree, index, HEAD, the code branch) is not
/// touched.
pub fn state_branch_files(
    ctx: &StageContext,
    repo: &Repository,
    remote: &Remote<'_>,
    branch: &str,
) -> Result<TipFiles> {
    guard::check_repo_paths(ctx, &state_files(ctx))?;
    let workdir = gitx::workdir(repo, &ctx.project_root)?;
    let rel_root = gitx::relative_to(&workdir, &ctx.project_root)?;
    let git_dir = gitx::utf8(repo.path())?;
    let tip = remote.fetch_branch(branch)?;
    let root = git_dir
        .join("sst-local-state")
        .join("state-branch")
        .join(branch)
        .join(ctx.app.as_str())
        .join(ctx.stage.as_str());
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| Error::io("removing", &root, e))?;
    }
    let project_root = root.join(&rel_root);
    std::fs::create_dir_all(&project_root).map_err(|e| Error::io("creating", &project_root, e))?;
    let mut known_stages = Vec::new();
    if let Some(tip) = tip {
        let commit = repo
            .find_commit(tip)
            .map_err(|e| git_error("reading the fetched tip", &e))?;
        files_to(ctx, repo, &commit, &root, &rel_root, &git_dir)?;
        known_stages = stages_at(ctx, repo, &commit, &rel_root)?;
    }
    Ok(TipFiles {
        tip,
        project_root,
        known_stages,
    })
}

/// The stages `commit` holds state for (see [`new_stage::known_stages`]).
fn stages_at(
    ctx: &StageContext,
    repo: &Repository,
    commit: &git2::Commit<'_>,
    rel_root: &Utf8Path,
) -> Result<Vec<String>> {
    let read = |e: git2::Error| git_error("reading the fetched tip", &e);
    let tree = commit.tree().map_err(read)?;
    let mut stems = Vec::new();
    for key in new_stage::STAGE_FOLDERS {
        let folder = gitx::tree_path(rel_root, &ctx.state_dir.join(key));
        let Ok(entry) = tree.get_path(std::path::Path::new(&folder)) else {
            continue;
        };
        if entry.kind() != Some(git2::ObjectType::Tree) {
            continue;
        }
        let files = repo.find_tree(entry.id()).map_err(read)?;
        stems.extend(
            files
                .iter()
                .filter_map(|f| f.name().ok().and_then(new_stage::stem)),
        );
    }
    Ok(new_stage::stages_named(stems.into_iter()))
}
