//! File-system primitives every command shares: atomic writes (temp file in
//! the same directory + fsync + rename + directory fsync), optional reads,
//! and content hashes (git blob ids, so a file can be compared with a git
//! tree entry without reading the tree's blob).

use std::io::Write;

use camino::Utf8Path;
use sha1::Digest;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` so that a reader sees either the old content or
/// the new one, never a truncated file. Creates missing directories.
/// `private` files get mode 0600 on Unix, others 0644.
pub fn write_atomic(path: &Utf8Path, bytes: &[u8], private: bool) -> Result<()> {
    let dir = path.parent().ok_or_else(|| {
        Error::io(
            "writing",
            path,
            std::io::Error::other("no parent directory"),
        )
    })?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".sst-local-state-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("creating a temporary file in", dir, e))?;
    set_mode(tmp.as_file(), private).map_err(|e| Error::io("setting permissions of", path, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("writing", path, e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("renaming a temporary file onto", path, e.error))?;
    sync_dir(dir);
    Ok(())
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, private: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(if private {
        0o600
    } else {
        0o644
    }))
}

#[cfg(not(unix))]
fn set_mode(_file: &std::fs::File, _private: bool) -> std::io::Result<()> {
    Ok(())
}

/// Makes a rename in `dir` durable (best effort; not supported everywhere).
fn sync_dir(dir: &Utf8Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The content of `path`, or `None` when it does not exist.
pub fn read_optional(path: &Utf8Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading", path, e)),
    }
}

/// Removes `path` if it exists.
pub fn remove_optional(path: &Utf8Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("removing", path, e)),
    }
}

/// The git blob id of `bytes` (hex), our content hash.
pub fn blob_hash(bytes: &[u8]) -> String {
    let mut hasher = blob_hasher(bytes.len() as u64);
    hasher.update(bytes);
    hex(&hasher.finalize())
}

/// The git blob id of the file at `path`, streamed; `None` when it does not exist.
pub fn blob_hash_file(path: &Utf8Path) -> Result<Option<String>> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading", path, e)),
    };
    let len = file
        .metadata()
        .map_err(|e| Error::io("reading", path, e))?
        .len();
    let mut hasher = blob_hasher(len);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    if total != len {
        return Err(Error::io(
            "reading",
            path,
            std::io::Error::other("the file changed while it was read"),
        ));
    }
    Ok(Some(hex(&hasher.finalize())))
}

fn blob_hasher(len: u64) -> sha1::Sha1 {
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {len}\0").as_bytes());
    hasher
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The current UTC time as `YYYYMMDDTHHMMSSZ` (safe in file and ref names).
pub fn utc_stamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_creates_dirs_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        let path = root.join("a/b/c.json");
        write_atomic(&path, b"one", true).unwrap();
        write_atomic(&path, b"two", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(root.join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["c.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            write_atomic(&path, b"three", false).unwrap();
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o644
            );
        }
    }

    #[test]
    fn hashes_match_git() {
        // `printf hello | git hash-object --stdin`
        assert_eq!(
            blob_hash(b"hello"),
            "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8Path::from_path(dir.path()).unwrap().join("f");
        assert_eq!(blob_hash_file(&path).unwrap(), None);
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(
            blob_hash_file(&path).unwrap().as_deref(),
            Some("b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0")
        );
        assert_eq!(utc_stamp().len(), "20261126T153239Z".len());
    }
}
