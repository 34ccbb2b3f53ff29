//! Revisions the user names (`--rev`, `--to`): the commit a revision names,
//! or, when it names none, why in plain words. An ancestry suffix past the
//! start of the history (`HEAD~100` in a history of 5 commits) says that
//! the history is shorter, and how long it is, not libgit2's "parent 0 does
//! not exist".

use git2::Repository;

/// The commit `rev` names, or why it names none (for an `INVALID_OPTION`
/// message naming the flag).
pub fn commit_named<'r>(
    repo: &'r Repository,
    rev: &str,
) -> std::result::Result<git2::Commit<'r>, String> {
    let error = match repo.revparse_single(rev).and_then(|o| o.peel_to_commit()) {
        Ok(commit) => return Ok(commit),
        Err(e) => e,
    };
    let shallow = if repo.is_shallow() {
        " (this clone is shallow: fetch the history first, `git fetch --unshallow`)"
    } else {
        ""
    };
    Err(match shorter_history(repo, rev) {
        Some((base, id, before)) => format!(
            "the revision {rev:?} does not exist: the history is shorter ({base}, commit {}, has {before} commit{} before it along first parents){shallow}",
            &id.to_string()[..12],
            if before == 1 { "" } else { "s" },
        ),
        None => format!(
            "the revision {rev:?} does not exist ({}){shallow}",
            error.message()
        ),
    })
}

/// For `rev` = `<base>` followed by `~N` / `^N` steps, where `<base>` names a
/// commit: the base, its id, and how many commits precede it along first
/// parents (None when `rev` has no such suffix or its base names nothing).
fn shorter_history(repo: &Repository, rev: &str) -> Option<(String, git2::Oid, usize)> {
    let cut = rev.find(['~', '^'])?;
    let tail = &rev[cut..];
    if cut == 0
        || !tail
            .chars()
            .all(|c| matches!(c, '~' | '^') || c.is_ascii_digit())
    {
        return None;
    }
    let base = &rev[..cut];
    let commit = repo.revparse_single(base).ok()?.peel_to_commit().ok()?;
    let mut walk = repo.revwalk().ok()?;
    walk.push(commit.id()).ok()?;
    walk.simplify_first_parent().ok()?;
    Some((
        base.to_string(),
        commit.id(),
        walk.count().saturating_sub(1),
    ))
}
