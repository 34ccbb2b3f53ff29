//! A locked prepare starts from the branch's newest state: under the stage
//! lock, the stage's files in the worktree are brought up to the remote
//! branch's tip (fetched), so a run that waited for the lock deploys from
//! what the run before it saved, not from its own older checkout.

use camino::Utf8Path;
use git2::{Oid, Repository};

use crate::error::Result;
use crate::fsx;
use crate::gitx;
use crate::guard;
use crate::layout::{self, state_files};
use crate::project::StageContext;
use crate::remote::{git_error, Remote};

/// Fetches `branch` and writes each of the stage's files its tip holds
/// (state files, sealed passphrases, the recipients list) into the
/// worktree where the worktree's differs; returns the tip (None: the
/// remote has no such branch, nothing changed). Files the tip lacks are
/// left as they are; HEAD and the index are not touched.
pub fn refresh(
    ctx: &StageContext,
    repo: &Repository,
    remote: &Remote<'_>,
    branch: &str,
) -> Result<Option<Oid>> {
    let files = state_files(ctx);
    guard::check_repo_paths(ctx, &files)?;
    let Some(tip) = remote.fetch_branch(branch)? else {
        return Ok(None);
    };
    let commit = repo
        .find_commit(tip)
        .map_err(|e| git_error("reading the fetched tip", &e))?;
    let workdir = gitx::workdir(repo, &ctx.project_root)?;
    let rel_root = gitx::relative_to(&workdir, &ctx.project_root)?;
    let git_dir = gitx::utf8(repo.path())?;
    let mut wanted = vec![(layout::recipients_rel(ctx), false)];
    for file in files {
        wanted.push((file.repo_rel.clone(), file.kind.is_private()));
        if let Some(sealed) = file.sealed_rel {
            wanted.push((sealed, false));
        }
    }
    for (rel, private) in wanted {
        let path = gitx::tree_path(&rel_root, &rel);
        let Some(blob) = gitx::blob_at(&commit, &path)? else {
            continue;
        };
        let file = workdir.join(&path);
        fsx::refuse_symlinks(&workdir, Utf8Path::new(&path))?;
        if fsx::blob_hash_file(&file)? == Some(blob.into()) {
            continue;
        }
        let content = repo
            .find_blob(blob)
            .map_err(|e| git_error("reading a blob", &e))?;
        fsx::write_atomic_via(&file, content.content(), private, &git_dir)?;
    }
    Ok(Some(tip))
}
