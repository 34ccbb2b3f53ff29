//! After the commit landed: the worktree shows the new state files, HEAD
//! follows by compare-and-swap where the commit was built on it, and the
//! stage's marker records what was saved (and, before a push, what is
//! being pushed).

use camino::Utf8Path;

use super::rule::Ids;
use super::{CommitReport, Landed, Outcome, Output, Plan, Run, Target};
use crate::blob_id::BlobId;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsx;
use crate::git::gitx::{self, move_head, HeadMove};
use crate::stage::guard;
use crate::stage::layout::{state_files, Kind};
use crate::stage::marker::{Loaded, Marker};
use crate::stage::per_kind::PerKind;
use crate::stage::project::StageContext;
use crate::stage::state::StateSet;
use crate::warning::Warning;

impl<'a> Run<'a> {
    /// The worktree, HEAD and the marker show the landed commit; the report.
    pub(super) fn finish(
        mut self,
        target: Option<&Target<'a>>,
        plan: Plan<'a>,
        landed: Landed,
    ) -> Result<CommitReport> {
        // state-branch mode: the checkout is never written
        let in_tree = self.ctx.state_branch.is_none();
        if in_tree {
            write(&self.ctx, &self.workdir, &self.git_dir, &plan.outputs)?;
            remove(&self.ctx, &self.workdir, &plan.removed)?;
        }
        let head_updated = in_tree && self.follow_with_head(target, &landed)?;
        if head_updated {
            if let Err(e) = gitx::drop_index_entries(self.repo, &plan.removed) {
                self.warnings.push(Warning::IndexNotRefreshed {
                    reason: e.message().to_string(),
                });
            }
        }
        record_synced(&self.ctx, self.env, &self.state.collected, &landed.recorded)?;
        if in_tree {
            self.timer.step("updated the worktree");
        }
        let outcome = Outcome {
            oid: landed.oid,
            message: Some(plan.message),
            attempts: landed.attempts,
            head_updated,
        };
        Ok(self.report(target, plan.files, outcome))
    }

    /// HEAD follows only when the commit was built directly on it (so the
    /// worktree differs from it in our paths alone), and only if it still
    /// points where it did when this run read it.
    fn follow_with_head(&mut self, target: Option<&Target<'a>>, landed: &Landed) -> Result<bool> {
        let head_id = self.head.as_ref().map(|h| h.id());
        let Some(new) = landed.oid else {
            return Ok(false);
        };
        if head_id != landed.parent {
            self.warnings.push(Warning::HeadNotMoved {
                why: "the commit was built on the remote branch's tip, which is not HEAD (a PR merge checkout, a checkout behind the remote, or another branch checked out)",
            });
            return Ok(false);
        }
        let branch = target.map(|t| t.branch.as_str());
        match move_head(self.repo, new, head_id, branch, &self.workdir, &landed.blobs)? {
            HeadMove::Moved(index_warning) => {
                self.warnings.extend(index_warning);
                Ok(true)
            }
            HeadMove::OtherBranch => {
                self.warnings.push(Warning::HeadNotMoved {
                    why: "another branch is checked out",
                });
                Ok(false)
            }
            HeadMove::Raced if target.is_none() => Err(Error::Git {
                action: "moving HEAD to the state commit".into(),
                message: format!("HEAD moved while this run committed (a commit of yours?); the state commit {new} was not applied and nothing was saved; the stage's state is untouched in {}: run commit again", self.ctx.config_dir),
            }),
            HeadMove::Raced => {
                self.warnings.push(Warning::HeadMoved {
                    commit: new.to_string(),
                });
                Ok(false)
            }
        }
    }
}

/// Writes the committed files into the worktree, staging each in the git
/// dir (never a stray temporary file in the worktree) and never through a
/// symbolic link (checked again right before writing).
pub(super) fn write(
    ctx: &StageContext,
    workdir: &Utf8Path,
    git_dir: &Utf8Path,
    outputs: &[Output],
) -> Result<()> {
    guard::check_repo_paths(ctx, &state_files(ctx))?;
    for o in outputs {
        let path = workdir.join(&o.path);
        if let Ok(rel) = path.strip_prefix(workdir) {
            fsx::refuse_symlinks(workdir, rel)?;
        }
        fsx::write_atomic_via(&path, &o.bytes, o.private, git_dir)?;
    }
    Ok(())
}

/// Removes the files the commit removed (paths in the tree) from the
/// worktree, never through a symbolic link.
fn remove(ctx: &StageContext, workdir: &Utf8Path, removed: &[String]) -> Result<()> {
    guard::check_repo_paths(ctx, &state_files(ctx))?;
    for path in removed {
        fsx::refuse_symlinks(workdir, Utf8Path::new(path))?;
        fsx::remove_optional(&workdir.join(path))?;
    }
    Ok(())
}

/// Notes in the stage's marker what this run is about to push (under the
/// config dir's lock, unless a prepare rewrote the marker since this run
/// read it): a run killed after its push landed, before it could record
/// it, is then recognised by the next commit as its own lineage instead of
/// a conflicting run. Returns the marker as now on disk.
pub(super) fn note_pushing(
    ctx: &StageContext,
    env: &Env,
    read: &Loaded,
    started_from: &Ids,
    ours: &Ids,
    kinds: impl Iterator<Item = Kind>,
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
            files: started_from.clone(),
            ..Marker::default()
        },
    };
    for kind in kinds {
        if let Some(id) = ours[kind] {
            let list = &mut marker.pushing[kind];
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
pub(super) fn record_synced(
    ctx: &StageContext,
    env: &Env,
    collected: &StateSet,
    read: &Loaded,
) -> Result<()> {
    // nothing read and nothing recorded before: nothing to record (and no
    // config dir to create)
    if collected.is_empty() && *read == Loaded::Absent {
        return Ok(());
    }
    let _lock = guard::lock_config_dir(ctx, env)?;
    if Marker::load(ctx)? != *read {
        return Ok(());
    }
    let marker = Marker {
        files: PerKind::from_fn(|kind| collected.get(kind).map(BlobId::of)),
        ..Marker::default()
    };
    marker.save(ctx)
}
