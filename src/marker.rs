//! The record of what `sst-local-state` last put in (prepare) or saved from
//! (commit) SST's config dir for a stage: a git blob id per state file. A
//! config-dir file that matches neither the repository nor this record holds
//! changes nobody saved. Kept under `<configDir>/sst-local-state/`, which SST
//! never reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::fsx;
use crate::layout::{marker_path, Kind};
use crate::project::StageContext;

/// Content hashes (git blob ids) per state file kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Format version.
    pub version: u32,
    /// Hash of each file as last synced; a missing kind was absent.
    pub files: BTreeMap<Kind, String>,
}

impl Marker {
    /// The stage's marker; an absent or unreadable one is empty (`false` in
    /// the second field when it existed but could not be parsed).
    pub fn load(ctx: &StageContext) -> Result<(Marker, bool)> {
        let path = marker_path(ctx);
        match fsx::read_optional(&path)? {
            None => Ok((Marker::default(), true)),
            Some(bytes) => match serde_json::from_slice(&bytes) {
                Ok(marker) => Ok((marker, true)),
                Err(_) => Ok((Marker::default(), false)),
            },
        }
    }

    /// Writes the marker atomically.
    pub fn save(&self, ctx: &StageContext) -> Result<()> {
        let body = serde_json::to_vec_pretty(&Marker {
            version: 1,
            files: self.files.clone(),
        })
        .expect("a map of strings serialises");
        fsx::write_atomic(&marker_path(ctx), &body, false)
    }

    /// The recorded hash for `kind`.
    pub fn hash(&self, kind: Kind) -> Option<&str> {
        self.files.get(&kind).map(String::as_str)
    }
}
