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
///
/// Plain bytes, not a `git2::Oid`: making an `Oid` initialises libgit2 (and
/// with it OpenSSL, which reads the CA bundle: about 5 ms and 5 MiB), which
/// a prepare that only hashes files never needs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobId([u8; 20]);

impl BlobId {
    /// The blob id of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobId {
        let mut hasher = Hasher::new(bytes.len() as u64);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The id as git2 uses it.
    pub fn oid(self) -> git2::Oid {
        git2::Oid::from_bytes(&self.0).expect("20 bytes are an oid")
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
        BlobId(self.0.finalize().into())
    }
}

impl From<git2::Oid> for BlobId {
    fn from(oid: git2::Oid) -> BlobId {
        BlobId(oid.as_bytes().try_into().expect("a SHA-1 oid is 20 bytes"))
    }
}

impl From<BlobId> for git2::Oid {
    fn from(id: BlobId) -> git2::Oid {
        id.oid()
    }
}

impl PartialEq<git2::Oid> for BlobId {
    fn eq(&self, other: &git2::Oid) -> bool {
        self.0 == other.as_bytes()
    }
}

/// Why a string is not a [`BlobId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotABlobId;

impl fmt::Display for NotABlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a blob id is 40 hex digits")
    }
}

impl std::error::Error for NotABlobId {}

impl FromStr for BlobId {
    type Err = NotABlobId;

    /// Parses 40 hex digits (either case).
    fn from_str(hex: &str) -> Result<BlobId, NotABlobId> {
        let digits = hex.as_bytes();
        if digits.len() != 40 {
            return Err(NotABlobId);
        }
        let nibble = |c: u8| (c as char).to_digit(16).ok_or(NotABlobId);
        let mut bytes = [0u8; 20];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4 | nibble(pair[1])?) as u8;
        }
        Ok(BlobId(bytes))
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({self})")
    }
}

impl Serialize for BlobId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
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
        assert_eq!(id.to_string().to_uppercase().parse::<BlobId>().unwrap(), id);
        let oid: git2::Oid = id.into();
        assert_eq!(oid.to_string(), id.to_string());
        assert_eq!(BlobId::from(oid), id);
        assert!(id == oid);
        for bad in ["", "abc", &"g".repeat(40), &"a".repeat(41), &"é".repeat(20)] {
            assert!(bad.parse::<BlobId>().is_err(), "{bad:?}");
        }
    }
}
