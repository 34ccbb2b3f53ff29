//! This checkout follows a commit that was pushed on top of the branch tip
//! it holds (a rollback): where HEAD is that tip, on the pushed branch or
//! detached, the stage's files in the worktree become the pushed commit's
//! (deletions included), HEAD moves to it by compare-and-swap and the index
//! entries of those files follow, as commit does for a state commit;
//! elsewhere nothing is touched and a warning names the exact command that
//! brings the commit here.

use git2::{Oid, Repository};

use crate::error::Result;
use crate::git::gitx::{self, move_head, HeadMove};
use crate::git::remote::git_error;
use crate::ops::tip;
use crate::stage::project::StageContext;
use crate::warning::Warning;

/// Where the pushed commit is: `remote`'s `branch`, now at `pushed`, built
/// on `tip`.
pub struct PushedCommit<'a> {
    /// The remote's name.
    pub remote: &'a str,
    /// The branch.
    pub branch: &'a str,
    /// The commit now on the branch.
    pub pushed: Oid,
    /// The tip it was built on.
    pub tip: Oid,
}

/// Moves this checkout to `pushed.pushed` when HEAD is at `pushed.tip`
/// (attached to the branch, or detached); returns whether HEAD moved, and
/// the warning that says how to bring the commit here when it did not (a
/// failure to update the worktree too: the commit has landed all the same).
pub fn follow(
    ctx: &StageContext,
    repo: &Repository,
    pushed: &PushedCommit<'_>,
) -> (bool, Option<Warning>) {
    try_follow(ctx, repo, pushed).unwrap_or_else(|e| {
        (
            false,
            Some(Warning::CheckoutBehind {
                why: format!("updating it failed: {e}"),
                commit: pushed.pushed.to_string(),
                command: format!("git pull --ff-only {} {}", pushed.remote, pushed.branch),
            }),
        )
    })
}

/// [`follow`], with its failures.
fn try_follow(
    ctx: &StageContext,
    repo: &Repository,
    pushed: &PushedCommit<'_>,
) -> Result<(bool, Option<Warning>)> {
    let PushedCommit {
        remote,
        branch,
        pushed: oid,
        tip,
    } = *pushed;
    let behind = |why: &str, command: String| {
        Ok((
            false,
            Some(Warning::CheckoutBehind {
                why: why.to_string(),
                commit: oid.to_string(),
                command,
            }),
        ))
    };
    let pull = format!("git pull --ff-only {remote} {branch}");
    let attached = repo
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_string));
    match attached.as_deref() {
        Some(target) if target != format!("refs/heads/{branch}") => {
            return behind(
                "another branch is checked out",
                format!("git switch {branch} && {pull}"),
            )
        }
        Some(_) => {}
        None => {
            if head(repo) != Some(tip) {
                return behind(
                    "HEAD is detached elsewhere than the tip the commit was built on",
                    format!("git checkout --detach {remote}/{branch}"),
                );
            }
        }
    }
    if head(repo) != Some(tip) {
        return behind(
            "the checked-out branch is not at the tip the commit was built on",
            pull,
        );
    }
    let commit = repo
        .find_commit(oid)
        .map_err(|e| git_error("reading the pushed commit", &e))?;
    let synced = tip::worktree_to(ctx, repo, &commit)?;
    let workdir = gitx::workdir(repo, &ctx.project_root)?;
    match move_head(repo, oid, Some(tip), Some(branch), &workdir, &synced.held)? {
        HeadMove::Moved(index) => {
            let index = index.or_else(|| {
                gitx::drop_index_entries(repo, &synced.removed)
                    .err()
                    .map(|e| Warning::IndexNotRefreshed {
                        reason: e.message().to_string(),
                    })
            });
            Ok((true, index))
        }
        HeadMove::OtherBranch | HeadMove::Raced => behind(
            "HEAD moved while the rollback ran (a commit of yours?); the stage's files in the worktree are the pushed commit's",
            pull,
        ),
    }
}

/// The commit HEAD points at (None: unborn).
fn head(repo: &Repository) -> Option<Oid> {
    repo.head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id())
}
