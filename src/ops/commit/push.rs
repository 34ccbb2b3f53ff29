//! Building the commit and landing it (see [`crate::ops::land`]): a
//! compare-and-swap push, rebuilt on a moved tip while nothing conflicts,
//! for up to a time budget; a conflict, a lost lock or a spent budget
//! keeps our state on a rescue branch of its own.

use camino::Utf8Path;
use git2::Oid;

use super::{worktree, Base, Landed, Plan, Run, Target};
use crate::error::{Error, Result};
use crate::fsx;
use crate::git::gitx::{self, TreeBlob};
use crate::git::remote::{git_error, PushOutcome, Remote};
use crate::ops::land::{self, Build, Built, Landing, Lane, Tip, Unlanded, Why, PUSH_TIMEOUT_ENV};
use crate::ops::{advice, tip};
use crate::stage::project::StageContext;
use crate::warning::Warning;

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
            let unlanded = Unlanded {
                why: Why::Conflict(conflicts),
                branch: target.branch.clone(),
                commit: Some(Built {
                    oid: first,
                    on: base.expected,
                }),
                tip: base.expected,
                attempts: 0,
                budget: std::time::Duration::ZERO,
            };
            return Err(self.kept_elsewhere(target, unlanded, base.commit.as_ref()));
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
        let (author, committer) = crate::ops::message::identities(self.repo, self.env)?;
        let parents: Vec<&git2::Commit> = parent.into_iter().collect();
        self.repo
            .commit(None, &author, &committer, &plan.message, &tree, &parents)
            .map(Some)
            .map_err(|e| git_error("creating the commit", &e))
    }

    /// Lands the commit (see [`land`]): on a moved branch, checks the new
    /// tip for conflicts and builds on it again (passphrases sealed again
    /// to its recipients), until it lands or the budget is spent; what did
    /// not land is kept on a rescue branch.
    fn push_until_landed(
        &mut self,
        target: &Target<'a>,
        base: &mut Base<'a>,
        plan: &mut Plan<'a>,
        mut landed: Landed,
    ) -> Result<Landed> {
        let Target { remote, branch } = target;
        let carried = self.carried.clone();
        let lane = Lane::new(remote, branch, self.env)?.carrying(carried.as_ref());
        let first = landed.oid.map(|oid| Built {
            oid,
            on: base.expected,
        });
        let landing = land::land(&lane, first, &mut |tip| {
            self.build_on_moved(target, tip, base, plan, &mut landed)
        })
        .map_err(|e| {
            kept(
                protected_hint(e, &self.ctx, self.options),
                &self.ctx.config_dir,
            )
        })?;
        match landing {
            Landing::Landed { attempts, .. } => {
                landed.attempts = attempts;
                self.lock_landed();
                self.timer
                    .step(format!("pushed to {} {branch}", remote.name));
                Ok(landed)
            }
            Landing::Held { attempts, .. } => {
                landed.attempts = attempts;
                Ok(landed)
            }
            Landing::Unlanded(unlanded) => Err(self.not_landed(target, unlanded)),
        }
    }

    /// The commit again on the tip a rejected push found (see
    /// [`land::land`]): a conflict when another run changed our files
    /// there, else the plan rebuilt on it (a new passphrase encrypted to
    /// its recipients); nothing when it holds our state already.
    fn build_on_moved(
        &mut self,
        target: &Target<'a>,
        tip: &Tip<'_>,
        base: &mut Base<'a>,
        plan: &mut Plan<'a>,
        landed: &mut Landed,
    ) -> Result<Build> {
        let Target { remote, branch } = target;
        let reason = tip.moved.unwrap_or_default();
        self.timer
            .step(format!("push rejected ({reason}): {branch} moved"));
        self.timer.step(format!("fetched {} {branch}", remote.name));
        let at = self.commit_at(tip.id)?;
        let conflicts = self.conflicts_at(at.as_ref())?;
        if !conflicts.is_empty() {
            return Ok(Build::Conflict(conflicts));
        }
        base.expected = tip.id;
        base.commit = at.or_else(|| self.head.clone());
        // a new passphrase is encrypted to the new tip's recipients
        self.reseal_on(base.commit.as_ref(), plan, &mut landed.blobs)?;
        landed.parent = base.commit.as_ref().map(|c| c.id());
        landed.oid = self.build(base.commit.as_ref(), plan, &landed.blobs)?;
        let Some(rebuilt) = landed.oid else {
            self.warnings.push(Warning::AlreadyOnBranch {
                branch: branch.clone(),
                commit: landed.parent.map_or_else(String::new, |p| p.to_string()),
            });
            self.timer.step("the new tip already holds this state");
            return Ok(Build::Held);
        };
        self.timer.step(format!(
            "rebuilt on the new tip as {}",
            &rebuilt.to_string()[..12]
        ));
        Ok(Build::Commit(rebuilt))
    }

    /// The commit `id` names (None: none).
    fn commit_at(&self, id: Option<Oid>) -> Result<Option<git2::Commit<'a>>> {
        id.map(|oid| self.repo.find_commit(oid))
            .transpose()
            .map_err(|e| git_error("reading the fetched tip", &e))
    }

    /// The error of a commit that did not land: after a conflict the
    /// worktree gets the new tip's state back, else that of the tip the
    /// commit was built on (see [`Run::kept_elsewhere`]).
    fn not_landed(&self, target: &Target<'a>, unlanded: Unlanded) -> Error {
        let on = unlanded.commit.and_then(|c| c.on);
        let at = match (&unlanded.why, self.commit_at(unlanded.tip)) {
            (_, Ok(Some(tip))) => Some(tip),
            (Why::Conflict(_), _) => None,
            (_, _) => self
                .commit_at(on)
                .ok()
                .flatten()
                .or_else(|| self.head.clone()),
        };
        self.kept_elsewhere(target, unlanded, at.as_ref())
    }

    /// Keeps the commit that did not land on a rescue branch, puts the
    /// branch's state (`at`) back in the worktree, so that a prepare
    /// afterwards sees the divergence (ours is in the config dir and on the
    /// rescue branch), and gives the outcome's error, saying the ways out.
    fn kept_elsewhere(
        &self,
        target: &Target<'a>,
        unlanded: Unlanded,
        at: Option<&git2::Commit<'a>>,
    ) -> Error {
        let Some(Built { oid, .. }) = unlanded.commit else {
            return unlanded.error(None, String::new());
        };
        let (rescue_branch, kept) = self.keep(target, oid, at);
        let note = match &unlanded.why {
            Why::Conflict(_) => {
                let way_out = advice::after_conflict(
                    &self.options.common,
                    &self.ctx,
                    &rescue_branch.clone().unwrap_or_else(|| oid.to_string()),
                    (&target.remote.name, &target.branch),
                    self.removes_the_stage(),
                );
                format!("{kept} {way_out}")
            }
            Why::LockLost { .. } => format!("{kept} Check what the run that took the lock deployed, then decide which state is right (`sst refresh` reconciles the checkpoint with the cloud)."),
            Why::Busy => format!("{kept} Run commit again when the branch is quieter (or raise {PUSH_TIMEOUT_ENV}); no redeploy is needed."),
        };
        unlanded.error(rescue_branch, note)
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
        // state-branch mode: the checkout is never written
        let at = at.filter(|_| self.ctx.state_branch.is_none());
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

/// A push the server refused by a hook (as a protected branch is), in
/// code-branch mode: the message names state-branch mode as the way out.
/// Other refusals are left as they are.
fn protected_hint(error: Error, ctx: &StageContext, options: &super::CommitOptions) -> Error {
    match error {
        Error::PushRejected { branch, reason }
            if ctx.state_branch.is_none() && refused_by_hook(&reason) =>
        {
            let flag = options.common.caller.name("stateBranch", "state-branch");
            let reason = format!("{reason}; the branch looks protected: keep the state on a branch of its own with state-branch mode ({flag} <name>, env {} or package.json sstLocalState.stateBranch; see docs/state-branch.md)", crate::stage::project::STATE_BRANCH_ENV);
            Error::PushRejected { branch, reason }
        }
        other => other,
    }
}

/// Whether a push refusal came from a server-side hook or branch protection.
fn refused_by_hook(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    ["hook declined", "protected branch", "gh006", "gh013"]
        .iter()
        .any(|s| reason.contains(s))
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
