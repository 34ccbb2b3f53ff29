//! The record of what `sst-local-state` last put in (prepare) or saved from
//! (commit) SST's config dir for a stage: a git blob id per state file. A
//! config-dir file that matches neither the repository nor this record holds
//! changes nobody saved. Kept under `<configDir>/sst-local-state/`, which SST
//! never reads.

use serde::{Deserialize, Serialize};

use crate::blob_id::BlobId;
use crate::error::Result;
use crate::fsx;
use crate::layout::{marker_path, Kind};
use crate::per_kind::PerKind;
use crate::project::StageContext;

/// Content hashes (git blob ids) per state file kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Format version.
    pub version: u32,
    /// Hash of each file as last synced; a missing kind was absent.
    pub files: PerKind<Option<BlobId>>,
    /// Hashes a commit was pushing when it last ran, not yet recorded as
    /// synced (its run may have been killed after the push landed): the
    /// next commit takes them for its own lineage, not another run's.
    #[serde(default, skip_serializing_if = "nothing_pushing")]
    pub pushing: PerKind<Vec<BlobId>>,
}

/// The outcome of reading a stage's marker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // a few per run, never in a collection
pub enum Loaded {
    /// Nothing was ever synced for the stage on this machine.
    Absent,
    /// The file exists but is not a marker (treated as empty).
    Corrupt,
    /// The marker.
    Found(Marker),
}

impl Loaded {
    /// The marker, empty when absent or corrupt.
    pub fn marker(&self) -> Marker {
        match self {
            Loaded::Found(m) => m.clone(),
            Loaded::Absent | Loaded::Corrupt => Marker::default(),
        }
    }
}

impl Marker {
    /// Reads the stage's marker.
    pub fn load(ctx: &StageContext) -> Result<Loaded> {
        let path = marker_path(ctx);
        Ok(match fsx::read_optional(&path)? {
            None => Loaded::Absent,
            Some(bytes) => match serde_json::from_slice(&bytes) {
                Ok(marker) => Loaded::Found(marker),
                Err(_) => Loaded::Corrupt,
            },
        })
    }

    /// Writes the marker atomically.
    pub fn save(&self, ctx: &StageContext) -> Result<()> {
        let body = serde_json::to_vec_pretty(&Marker {
            version: 1,
            ..self.clone()
        })
        .expect("a map of blob ids serialises");
        fsx::write_atomic(&marker_path(ctx), &body, false)
    }

    /// The recorded hash for `kind`.
    pub fn hash(&self, kind: Kind) -> Option<BlobId> {
        self.files[kind]
    }
}

/// Whether no kind has hashes being pushed (the field is then left out).
fn nothing_pushing(pushing: &PerKind<Vec<BlobId>>) -> bool {
    pushing.iter().all(Vec::is_empty)
}
