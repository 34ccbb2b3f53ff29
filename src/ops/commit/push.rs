//! Building the commit and pushing it: a compare-and-swap push, rebuilt on
//! a moved tip while nothing conflicts, for up to a time budget; a conflict
//! or a spent budget keeps our state on a rescue branch of its own.

use std::time::{Duration, Instant};

use camino::Utf8Path;
use git2::Oid;

use super::{worktree, Base, Landed, Plan, Run, Target};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsx;
use crate::gitx::{self, TreeBlob};
use crate::ops::{advice, tip};
use crate::project::StageContext;
use crate::remote::{git_error, PushOutcome, Remote};

/// Env variable: seconds a commit keeps retrying a branch that other runs
/// keep moving (default 300).
pub const PUSH_TIMEOUT_ENV: &str = "SST_LOCAL_STATE_PUSH_TIMEOUT";

impl<'a> Run<'a> {
    /// Commits the plan on `base` and, with a target, pushes it until it
    /// lands (or the branch already holds it).
    pub(super) fn save(
        &mut self,
        target: Option<&Target<'a>>,
        mut base: Base<'a>,
        plan: &mut Plan<'a>,
    ) -> Result<Landed> {
        let blobs: Vec<TreeBlob> = plan
            .outputs
            .iter()
            .map(|o| {
                self.repo
                    .blob(&o.bytes)
                    .map(|blob| TreeBlob {
                        path: o.path.clone(),
                        blob,
                    })
                    .map_err(|e| git_error("writing a blob", &e))
            })
            .collect::<Result<_>>()?;
        // a changed file is never in the base already, so there is a commit
        let first = self
            .build(base.commit.as_ref(), plan, &blobs)?
            .ok_or_else(|| Error::Git {
                action: "building the commit".into(),
                message: "internal error: the changed files are already in the base".into(),
            })?;
        self.timer
            .step(format!("committed {}", &first.to_string()[..12]));
        let mut landed = Landed {
            oid: Some(first),
            parent: base.commit.as_ref().map(|c| c.id()),
            attempts: 0,
            blobs,
            recorded: self.state.loaded.clone(),
        };
        let Some(target) = target else {
            return Ok(landed);
        };
        let conflicts = self.conflicts_at(base.commit.as_ref())?;
        if !conflicts.is_empty() {
            return Err(self.rescue(target, first, conflicts, base.commit.as_ref()));
        }
        landed.recorded = worktree::note_pushing(
            &self.ctx,
            self.env,
            &self.state.loaded,
            &self.started_from,
            &self.state.ours,
            plan.outputs.iter().filter_map(|o| o.kind),
        )?;
        self.push_until_landed(target, &mut base, plan, landed)
    }

    /// A commit on `parent` of what `parent` does not hold yet, and without
    /// the removed files it still holds (None: nothing to do, as after a
    /// rerun whose earlier push landed): never an empty commit.
    fn build(
        &self,
        parent: Option<&git2::Commit>,
        plan: &Plan<'a>,
        blobs: &[TreeBlob],
    ) -> Result<Option<Oid>> {
        let at = self.ids_in(parent)?;
        let mut needed: Vec<TreeBlob> = Vec::new();
        for (output, written) in plan.outputs.iter().zip(blobs) {
            let missing = match output.kind {
                Some(kind) => at[kind] != self.state.ours[kind],
                // the recipients file goes with an encrypted passphrase
                None => {
                    parent
                        .map(|p| gitx::blob_at(p, &written.path))
                        .transpose()?
                        .flatten()
                        .is_none()
                        && needed.iter().any(|n| n.path.ends_with(".age"))
                }
            };
            if missing {
                needed.push(written.clone());
            }
        }
        let mut gone = Vec::new();
        if let Some(p) = parent {
            for path in &plan.removed {
                if gitx::blob_at(p, path)?.is_some() {
                    gone.push(path.clone());
                }
            }
        }
        if needed.is_empty() && gone.is_empty() {
            return Ok(None);
        }
        let tree = gitx::tree_edited(self.repo, parent, &needed, &gone)?;
        if parent.is_some_and(|p| p.tree_id() == tree.id()) {
            return Ok(None);
        }
        let (author, committer) = crate::message::identities(self.repo, self.env)?;
        let parents: Vec<&git2::Commit> = parent.into_iter().collect();
        self.repo
            .commit(None, &author, &committer, &plan.message, &tree, &parents)
            .map(Some)
            .map_err(|e| git_error("creating the commit", &e))
    }

    /// Pushes, and on a moved branch fetches, checks for conflicts and
    /// rebuilds on the new tip, with growing jittered pauses until the
    /// time budget runs out.
    fn push_until_landed(
        &mut self,
        target: &Target<'a>,
        base: &mut Base<'a>,
        plan: &mut Plan<'a>,
        mut landed: Landed,
    ) -> Result<Landed> {
        let Target { remote, branch } = target;
        let budget = push_budget(self.env)?;
        let started = Instant::now();
        while let Some(oid) = landed.oid {
            landed.attempts += 1;
            let along: Vec<_> = self.carried.iter().map(|c| c.update()).collect();
            let reason = match remote
                .push_along(oid, branch, base.expected, &along)
                .map_err(|e| kept(e, &self.ctx.config_dir))?
            {
                PushOutcome::AlongRefused { dst, reason } => {
                    return Err(self.lock_lost(target, oid, dst, reason, base.commit.as_ref()));
                }
                PushOutcome::Accepted => {
                    self.lock_landed()?;
                    self.timer
                        .step(format!("pushed to {} {branch}", remote.name));
                    // as git does: the remote-tracking ref follows the push
                    let _ = self.repo.reference(
                        &format!("refs/remotes/{}/{branch}", remote.name),
                        oid,
                        true,
                        "sst-local-state: push",
                    );
                    return Ok(landed);
                }
                PushOutcome::Moved(reason) => reason,
            };
            self.timer
                .step(format!("push rejected ({reason}): {branch} moved"));
            let tip = self.fetch(remote, branch)?;
            let conflicts = self.conflicts_at(tip.as_ref())?;
            if !conflicts.is_empty() {
                return Err(self.rescue(target, oid, conflicts, tip.as_ref()));
            }
            base.expected = tip.as_ref().map(|c| c.id());
            base.commit = tip.or_else(|| self.head.clone());
            // a new passphrase is encrypted to the new tip's recipients
            self.reseal_on(base.commit.as_ref(), plan, &mut landed.blobs)?;
            landed.parent = base.commit.as_ref().map(|c| c.id());
            landed.oid = self.build(base.commit.as_ref(), plan, &landed.blobs)?;
            let Some(rebuilt) = landed.oid else {
                self.warnings
                    .push(crate::warning::Warning::AlreadyOnBranch {
                        branch: branch.clone(),
                        commit: landed.parent.map_or_else(String::new, |p| p.to_string()),
                    });
                self.timer.step("the new tip already holds this state");
                break;
            };
            let Some(pause) = backoff(landed.attempts, budget.saturating_sub(started.elapsed()))
            else {
                let at = base.commit.as_ref();
                return Err(self.busy(target, rebuilt, landed.attempts, budget, at));
            };
            std::thread::sleep(pause);
            self.timer.step(format!(
                "rebuilt on the new tip as {}",
                &rebuilt.to_string()[..12]
            ));
        }
        Ok(landed)
    }

    /// Pushes our commit to a rescue branch and builds the conflict error;
    /// the worktree gets the branch's state (`at`) back, so that a prepare
    /// afterwards sees the divergence (ours is in the config dir and on the
    /// rescue branch), and the error says both ways out as commands.
    fn rescue(
        &self,
        target: &Target<'a>,
        oid: Oid,
        conflicts: Vec<String>,
        at: Option<&git2::Commit<'a>>,
    ) -> Error {
        let (rescue_branch, kept) = self.keep(target, oid, at);
        let way_out = advice::after_conflict(
            &self.options.common,
            &self.ctx,
            &rescue_branch.clone().unwrap_or_else(|| oid.to_string()),
            (&target.remote.name, &target.branch),
            self.removes_the_stage(),
        );
        Error::StateConflict {
            branch: target.branch.clone(),
            paths: conflicts.join(", "),
            rescue: format!("{kept} {way_out}"),
            rescue_branch,
        }
    }

    /// The lock went while this run was saving: our state goes to a rescue
    /// branch, never onto the branch; the worktree gets the branch's back.
    fn lock_lost(
        &self,
        target: &Target<'a>,
        oid: Oid,
        lock_ref: String,
        reason: String,
        at: Option<&git2::Commit<'a>>,
    ) -> Error {
        let (rescue_branch, kept) = self.keep(target, oid, at);
        Error::LockLost {
            lock_ref,
            reason,
            rescue: format!("{kept} Check what the run that took the lock deployed, then decide which state is right (`sst refresh` reconciles the checkpoint with the cloud)."),
            rescue_branch,
        }
    }

    /// The branch kept moving for the whole budget: our state goes to a
    /// rescue branch too (the worktree gets the branch's back), and the
    /// error says that running commit again is all it takes.
    fn busy(
        &self,
        target: &Target<'a>,
        oid: Oid,
        attempts: u32,
        budget: Duration,
        at: Option<&git2::Commit<'a>>,
    ) -> Error {
        let (rescue_branch, kept) = self.keep(target, oid, at);
        Error::BranchBusy {
            branch: target.branch.clone(),
            attempts,
            seconds: budget.as_secs(),
            kept: format!("{kept} Run commit again when the branch is quieter (or raise {PUSH_TIMEOUT_ENV}); no redeploy is needed."),
            rescue_branch,
        }
    }

    /// Keeps our commit on a rescue branch and puts the branch's state
    /// (`at`, as this run last saw the branch) back in the worktree; the
    /// rescue branch (when its push worked) and what to tell the user.
    fn keep(
        &self,
        target: &Target<'a>,
        oid: Oid,
        at: Option<&git2::Commit<'a>>,
    ) -> (Option<String>, String) {
        let (rescue_branch, kept) =
            keep_on_rescue_branch(&self.ctx, self.repo, &target.remote, oid);
        let worktree = match at.map(|c| tip::worktree_to(&self.ctx, self.repo, c)) {
            Some(Ok(_)) => format!(
                "The worktree's state files are {}'s again.",
                target.branch
            ),
            Some(Err(e)) => format!(
                "Putting {}'s state files back in the worktree failed ({e}): `git checkout {}/{} -- {}` does it.",
                target.branch, target.remote.name, target.branch, self.ctx.state_dir
            ),
            None => String::new(),
        };
        (
            rescue_branch,
            format!("{kept} {worktree}").trim_end().to_string(),
        )
    }
}

pub(crate) fn push_budget(env: &Env) -> Result<Duration> {
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
pub(crate) fn backoff(attempts: u32, left: Duration) -> Option<Duration> {
    let pause =
        crate::ops::pause::jittered(attempts, Duration::from_millis(100), Duration::from_secs(3));
    (pause < left).then_some(pause)
}

/// A fetch or push failure, saying that nothing was lost: the config dir is
/// untouched, so running commit again is safe.
pub(super) fn kept(error: Error, config_dir: &Utf8Path) -> Error {
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
    repo: &git2::Repository,
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
        format!("PUSHING IT TO RESCUE BRANCH {name} FAILED ({why}): this run's state is only on this machine: in SST's config dir {} and in {local_note}. Push it before this machine goes away (`git push {} {name}`).", ctx.config_dir, remote.name)
    };
    match remote.push(oid, &name, None) {
        Ok(PushOutcome::Accepted) => (
            Some(name.clone()),
            format!(
                "This run's state is on branch {name} of {} (commit {oid}) and in SST's config dir.",
                remote.name
            ),
        ),
        Ok(PushOutcome::Moved(reason) | PushOutcome::AlongRefused { reason, .. }) => {
            (None, failed(reason))
        }
        Err(e) => (None, failed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_respects_the_budget() {
        let big = Duration::from_secs(600);
        let first = backoff(1, big).unwrap();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        assert!(backoff(10, big).unwrap() <= Duration::from_secs(3));
        assert!(backoff(1, Duration::ZERO).is_none());
    }
}
