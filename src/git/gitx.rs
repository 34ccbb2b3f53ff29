//! Local git plumbing ("git extras", libgit2 on the local repository, no
//! network): where the project sits in its repository, blob lookups in a
//! commit's tree, trees built from a few upserted blobs, index entries for
//! files whose blob is known, and HEAD moved to a new commit by
//! compare-and-swap.

use camino::{Utf8Path, Utf8PathBuf};
use git2::{build::TreeUpdateBuilder, FileMode, Oid, Repository};

use crate::error::{Error, Result};
use crate::git::remote::git_error;
use crate::warning::Warning;

/// The repository holding `project_root` (`NOT_A_GIT_REPO` when none).
pub fn discover(project_root: &Utf8Path) -> Result<Repository> {
    Repository::discover(project_root).map_err(|_| Error::NotAGitRepo {
        path: project_root.to_path_buf(),
    })
}

/// The repository's worktree (a bare repository has none: `NOT_A_GIT_REPO`).
pub fn workdir(repo: &Repository, project_root: &Utf8Path) -> Result<Utf8PathBuf> {
    let workdir = repo.workdir().ok_or_else(|| Error::NotAGitRepo {
        path: project_root.to_path_buf(),
    })?;
    utf8(workdir)
}

/// A path as UTF-8 (every path we print or pass to JS is).
pub fn utf8(path: &std::path::Path) -> Result<Utf8PathBuf> {
    Utf8PathBuf::from_path_buf(path.to_path_buf())
        .map_err(|p| Error::option("cwd", format!("{} is not UTF-8", p.display())))
}

/// `path` relative to `base`, both canonicalised (so symlinked temp dirs agree).
pub fn relative_to(base: &Utf8Path, path: &Utf8Path) -> Result<Utf8PathBuf> {
    let canon = |p: &Utf8Path| -> Result<Utf8PathBuf> {
        utf8(&std::fs::canonicalize(p).map_err(|e| Error::io("resolving", p, e))?)
    };
    let (base, path) = (canon(base)?, canon(path)?);
    path.strip_prefix(&base)
        .map(Utf8Path::to_path_buf)
        .map_err(|_| Error::NotAGitRepo { path })
}

/// A path inside the git tree (always `/`-separated).
pub fn tree_path(rel_root: &Utf8Path, repo_rel: &Utf8Path) -> String {
    rel_root
        .join(repo_rel)
        .components()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// The blob at `path` in `commit`'s tree, if any.
pub fn blob_at(commit: &git2::Commit, path: &str) -> Result<Option<Oid>> {
    let tree = commit.tree().map_err(|e| git_error("reading a tree", &e))?;
    Ok(tree
        .get_path(std::path::Path::new(path))
        .ok()
        .map(|entry| entry.id()))
}

/// A blob at a path of a tree: what a commit writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeBlob {
    /// Path in the tree (`/`-separated).
    pub path: String,
    /// The blob's id (already in the object store).
    pub blob: Oid,
}

/// `commit`'s tree with `blobs` upserted and the files at
/// `removed` taken out; an empty tree as the base when there is no commit.
pub fn tree_edited<'r>(
    repo: &'r Repository,
    commit: Option<&git2::Commit>,
    blobs: &[TreeBlob],
    removed: &[String],
) -> Result<git2::Tree<'r>> {
    let mut update = TreeUpdateBuilder::new();
    for TreeBlob { path, blob } in blobs {
        update.upsert(path.as_str(), *blob, FileMode::Blob);
    }
    for path in removed {
        update.remove(path.as_str());
    }
    let base_tree = match commit {
        Some(c) => c
            .tree()
            .map_err(|e| git_error("reading the base tree", &e))?,
        None => {
            let empty = repo
                .treebuilder(None)
                .and_then(|b| b.write())
                .map_err(|e| git_error("writing an empty tree", &e))?;
            repo.find_tree(empty)
                .map_err(|e| git_error("reading an empty tree", &e))?
        }
    };
    let tree_oid = update
        .create_updated(repo, &base_tree)
        .map_err(|e| git_error("building the commit's tree", &e))?;
    repo.find_tree(tree_oid)
        .map_err(|e| git_error("reading the new tree", &e))
}

/// Points the index entries of `blobs`' paths at those blobs, with the
/// worktree files' stat data (so git sees them as clean without hashing
/// them again); other entries are untouched.
pub fn refresh_index(
    repo: &Repository,
    workdir: &Utf8Path,
    blobs: &[TreeBlob],
) -> std::result::Result<(), git2::Error> {
    let mut index = repo.index()?;
    for TreeBlob { path, blob } in blobs {
        match index_entry(&workdir.join(path), path, *blob) {
            // the blob is already in the object store: no second hash and compression
            Some(entry) => index.add(&entry)?,
            None => index.add_path(std::path::Path::new(path))?,
        }
    }
    index.write()
}

/// Removes the index entries of `paths` (files removed from the worktree
/// and from the commit HEAD now points at); other entries are untouched.
pub fn drop_index_entries(
    repo: &Repository,
    paths: &[String],
) -> std::result::Result<(), git2::Error> {
    if paths.is_empty() {
        return Ok(());
    }
    let mut index = repo.index()?;
    for path in paths {
        // a path the index does not hold is fine
        let _ = index.remove_path(std::path::Path::new(path));
    }
    index.write()
}

/// An index entry for a file we just wrote with content `blob`.
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

/// What [`move_head`] did.
pub enum HeadMove {
    /// HEAD (or its branch) points at the state commit; with a warning
    /// when the index could not be refreshed (a `git` holding its lock).
    Moved(Option<Warning>),
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
pub fn move_head(
    repo: &Repository,
    oid: Oid,
    expected: Option<Oid>,
    branch: Option<&str>,
    workdir: &Utf8Path,
    blobs: &[TreeBlob],
) -> Result<HeadMove> {
    let g = |e: git2::Error| git_error("updating HEAD", &e);
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
            .map(|e| Warning::IndexNotRefreshed {
                reason: e.message().to_string(),
            }),
    ))
}
