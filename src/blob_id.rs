//! [`BlobId`]: a git blob id, the content hash every comparison of state
//! files uses (the marker's records, the conflict rule, the repository's
//! blobs).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha1::Digest;

/// A git blob id: the SHA-1 of `blob <len>\0<content>`, so the hash of a
/// config-dir file equals the id of the blob git stores for the same bytes.
/// Written as 40 hex digits (in the marker, in JSON reports).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobId(git2::Oid);

impl BlobId {
    /// The blob id of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobId {
        let mut hasher = Hasher::new(bytes.len() as u64);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The id as git2 uses it.
    pub fn oid(self) -> git2::Oid {
        self.0
    }
}

/// Computes a [`BlobId`] from content fed in pieces (whose total length is
/// known up front, as git's header needs it).
pub struct Hasher(sha1::Sha1);

impl Hasher {
    /// A hasher of `len` bytes of content.
    pub fn new(len: u64) -> Hasher {
        let mut sha = sha1::Sha1::new();
        sha.update(format!("blob {len}\0").as_bytes());
        Hasher(sha)
    }

    /// Feeds the next piece.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The id of what was fed.
    pub fn finish(self) -> BlobId {
        let digest = self.0.finalize();
        BlobId(git2::Oid::from_bytes(&digest).expect("a SHA-1 digest is 20 bytes"))
    }
}

impl From<git2::Oid> for BlobId {
    fn from(oid: git2::Oid) -> BlobId {
        BlobId(oid)
    }
}

impl From<BlobId> for git2::Oid {
    fn from(id: BlobId) -> git2::Oid {
        id.0
    }
}

impl PartialEq<git2::Oid> for BlobId {
    fn eq(&self, other: &git2::Oid) -> bool {
        self.0 == *other
    }
}

impl FromStr for BlobId {
    type Err = git2::Error;

    /// Parses 40 hex digits.
    fn from_str(hex: &str) -> Result<BlobId, git2::Error> {
        if hex.len() != 40 {
            return Err(git2::Error::from_str("a blob id is 40 hex digits"));
        }
        git2::Oid::from_str(hex).map(BlobId)
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", self.0)
    }
}

impl Serialize for BlobId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BlobId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BlobId, D::Error> {
        let hex = String::deserialize(deserializer)?;
        hex.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_of_bytes_is_the_id_git_gives_the_blob() {
        let bytes = b"hello\n";
        let git = git2::Oid::hash_object(git2::ObjectType::Blob, bytes).unwrap();
        assert_eq!(BlobId::of(bytes), git);
        assert_eq!(BlobId::of(bytes).to_string(), git.to_string());
        assert_eq!(
            BlobId::of(b"").to_string(),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    #[test]
    fn hex_round_trips_and_bad_hex_is_refused() {
        let id = BlobId::of(b"x");
        assert_eq!(id.to_string().parse::<BlobId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<BlobId>(&json).unwrap(), id);
        for bad in ["", "abc", &"g".repeat(40), &"a".repeat(41)] {
            assert!(bad.parse::<BlobId>().is_err(), "{bad:?}");
        }
    }
}
