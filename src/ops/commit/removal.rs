//! The commit of a stage SST removed (`sst remove` with `state.purge`,
//! see [`crate::stage::removal`]): the stage's own files the base holds are
//! removed from the tree, in a commit that says so (`remove: stage removed
//! by SST`, `SST-Command: remove`); history keeps them and `rollback`
//! brings them back. The shared fallback files are never removed.

use super::{Base, Run};
use crate::error::Result;
use crate::git::gitx;
use crate::stage::layout::Kind;
use crate::stage::removal::{removed_by_sst, OWN};

impl<'a> Run<'a> {
    /// Whether SST removed the stage since the last sync (this run's commit
    /// is its removal).
    pub(super) fn removes_the_stage(&self) -> bool {
        let collected = &self.state.collected;
        removed_by_sst(&self.ctx, &self.state.loaded, |k| {
            collected.get(k).is_some()
        })
    }

    /// When SST removed the stage since the last sync: each of its own files
    /// `base` holds, with its kind (a passphrase in either form, except in
    /// env mode, where the repository's passphrase is not this tool's);
    /// else nothing.
    pub(super) fn removed_at(&self, base: &Base<'a>) -> Result<Vec<(Kind, String)>> {
        let (true, Some(commit)) = (self.removes_the_stage(), &base.commit) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for kind in OWN {
            if self.ctx.passphrase_mode.mode.keeps_out(kind) {
                continue;
            }
            let forms = [
                Some(self.tree_paths[kind].as_str()),
                self.sealed_paths[kind].as_deref(),
            ];
            for path in forms.into_iter().flatten() {
                if gitx::blob_at(commit, path)?.is_some() {
                    out.push((kind, path.to_string()));
                }
            }
        }
        Ok(out)
    }
}
