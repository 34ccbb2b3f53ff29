//! The record of what `sst-local-state` last put in (prepare) or saved from
//! (commit) SST's config dir for a stage: a git blob id per state file. A
//! config-dir file that matches neither the repository nor this record holds
//! changes nobody saved. Kept under `<configDir>/sst-local-state/`, which SST
//! never reads.

use serde::{Deserialize, Serialize};

use crate::blob_id::BlobId;
use crate::error::Result;
use crate::fsx;
use crate::stage::layout::{marker_path, Kind};
use crate::stage::per_kind::PerKind;
use crate::stage::project::StageContext;

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
            Some(bytes) => Marker::parse(&bytes),
        })
    }

    /// The marker in `bytes`: corrupt (as a whole) when they are not one,
    /// an id that is not 40 hex digits or an unknown kind included.
    fn parse(bytes: &[u8]) -> Loaded {
        match serde_json::from_slice(bytes) {
            Ok(marker) => Loaded::Found(marker),
            Err(_) => Loaded::Corrupt,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_round_trips_and_anything_else_is_corrupt() {
        let mut marker = Marker::default();
        marker.files[Kind::App] = Some(BlobId::of(b"checkpoint"));
        marker.pushing[Kind::Secret].push(BlobId::of(b"secret"));
        let json = serde_json::to_vec(&marker).unwrap();
        assert_eq!(Marker::parse(&json), Loaded::Found(marker.clone()));
        // the format other versions wrote: hex per kind, `pushing` left out when empty
        let id = BlobId::of(b"checkpoint");
        let written = format!(r#"{{"version":1,"files":{{"app":"{id}"}}}}"#);
        let Loaded::Found(read) = Marker::parse(written.as_bytes()) else {
            panic!("not read")
        };
        assert_eq!(read.hash(Kind::App), Some(id));
        assert_eq!(read.hash(Kind::Secret), None);
        assert!(read.pushing.iter().all(Vec::is_empty));
        for bad in [
            &br#"{"version":1,"files":{"app":"not-hex"}}"#[..],
            br#"{"version":1,"files":{"app":"abc"}}"#,
            br#"{"version":1,"files":{"nope":"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"}}"#,
            br#"{"version":1,"files":{"app":"#,
            b"",
        ] {
            assert_eq!(
                Marker::parse(bad),
                Loaded::Corrupt,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
