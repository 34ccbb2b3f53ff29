//! A stage SST removed: `sst remove` of an app with `state: { purge: true }`
//! (SST 4.17, `pkg/project/provider/local.go` `purge`) deletes the stage's
//! checkpoint, secrets and passphrase from SST's config dir, and its
//! update, snapshot and event-log folders. After a sync (the record
//! prepare and commit keep, which holds the stage's checkpoint), exactly
//! that is a removal to be committed, never a wiped machine: a machine that
//! lost its config dir lost that record with it, and a config dir that
//! never saw a prepare has none.

use crate::stage::layout::{sst_update_dir, Kind};
use crate::stage::marker::Loaded;
use crate::stage::project::StageContext;

/// The stage's own files (the fallback files belong to every stage).
pub const OWN: [Kind; 3] = [Kind::App, Kind::Secret, Kind::Passphrase];

/// Whether SST removed the stage from its config dir since the last sync:
/// the record of that sync holds the stage's checkpoint, and the config
/// dir holds none of the stage's own files (`present` says which it holds)
/// and no update record of the stage.
pub fn removed_by_sst(ctx: &StageContext, synced: &Loaded, present: impl Fn(Kind) -> bool) -> bool {
    let Loaded::Found(marker) = synced else {
        return false;
    };
    marker.hash(Kind::App).is_some() && !OWN.into_iter().any(present) && !update_records(ctx)
}

/// Whether SST's update folder of the stage holds anything.
fn update_records(ctx: &StageContext) -> bool {
    std::fs::read_dir(sst_update_dir(ctx)).is_ok_and(|mut entries| entries.next().is_some())
}
