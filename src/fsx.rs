//! Safe file writes and reads for state files ("fs extras"): atomic writes
//! (temp file in the same directory + fsync + rename + directory fsync),
//! staged writes renamed into place together, the OS lock on a directory
//! ([`DirLock`]), symlink refusal, optional reads, and content hashes (git
//! blob ids, so a file can be compared with a git tree entry without reading
//! the tree's blob).

use std::io::Write;

use camino::{Utf8Path, Utf8PathBuf};

use crate::blob_id::{self, BlobId};
use crate::error::{Error, Result};

/// Writes `bytes` to `path` so that a reader sees either the old content or
/// the new one, never a truncated file. Creates missing directories.
/// `private` files get mode 0600 on Unix, others 0644.
pub fn write_atomic(path: &Utf8Path, bytes: &[u8], private: bool) -> Result<()> {
    let mut staged = Staged::default();
    staged.add(path, bytes, private)?;
    staged.commit()
}

/// Like [`write_atomic`], but the temporary file is made in `temp_dir`
/// (for a git worktree: the repository's git dir, so that a killed run
/// never leaves a stray file where `git add -A` would pick it up). Falls
/// back to a temporary file beside `path` when `temp_dir` is on another
/// file system.
pub fn write_atomic_via(
    path: &Utf8Path,
    bytes: &[u8],
    private: bool,
    temp_dir: &Utf8Path,
) -> Result<()> {
    let dir = parent(path)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
    let tmp = temp_file(temp_dir, path, bytes, private)?;
    match tmp.persist(path) {
        Ok(_) => {
            sync_dir(dir);
            Ok(())
        }
        Err(e) if e.error.kind() == std::io::ErrorKind::CrossesDevices => {
            write_atomic(path, bytes, private)
        }
        Err(e) => Err(Error::io("renaming a temporary file onto", path, e.error)),
    }
}

/// Prefix of every temporary file we create (`.sst-local-state-*.tmp`).
pub const TEMP_PREFIX: &str = ".sst-local-state-";
const TEMP_SUFFIX: &str = ".tmp";

fn parent(path: &Utf8Path) -> Result<&Utf8Path> {
    path.parent().ok_or_else(|| {
        Error::io(
            "writing",
            path,
            std::io::Error::other("no parent directory"),
        )
    })
}

/// A synced temporary file in `dir` holding `bytes`, for `path`.
fn temp_file(
    dir: &Utf8Path,
    path: &Utf8Path,
    bytes: &[u8],
    private: bool,
) -> Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io("creating a temporary file in", dir, e))?;
    set_mode(tmp.as_file(), private).map_err(|e| Error::io("setting permissions of", path, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("writing", path, e))?;
    Ok(tmp)
}

/// A set of files written all-or-nothing as far as a file system allows:
/// every file is first written and synced to a temporary file beside its
/// target ([`Staged::add`]); only when all of them are staged are they
/// renamed into place, in the order added ([`Staged::commit`]). An error
/// while staging (full disk, read-only or missing folder) changes nothing;
/// dropping a `Staged` removes its temporary files.
#[derive(Default)]
pub struct Staged {
    files: Vec<(tempfile::NamedTempFile, Utf8PathBuf)>,
}

impl Staged {
    /// Writes `bytes` for `path` to a synced temporary file beside it
    /// (creating missing folders); `private` files get mode 0600 on Unix.
    pub fn add(&mut self, path: &Utf8Path, bytes: &[u8], private: bool) -> Result<()> {
        let dir = parent(path)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        let tmp = temp_file(dir, path, bytes, private)?;
        self.files.push((tmp, path.to_path_buf()));
        Ok(())
    }

    /// Renames every staged file onto its target, in the order added.
    pub fn commit(self) -> Result<()> {
        for (tmp, path) in self.files {
            tmp.persist(&path)
                .map_err(|e| Error::io("renaming a temporary file onto", &path, e.error))?;
            sync_dir(parent(&path)?);
        }
        Ok(())
    }
}

/// Removes temporary files of ours (`.sst-local-state-*.tmp`) left in `dir`
/// by a killed run; with `min_age`, only those not modified for that long
/// (another run may be writing a younger one). Best effort.
pub fn remove_stale_temps(
    dir: &Utf8Path,
    min_age: Option<std::time::Duration>,
) -> Vec<Utf8PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = dir.read_dir_utf8() else {
        return removed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let old_enough = min_age.is_none_or(|age| {
            meta.modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|elapsed| elapsed >= age)
        });
        if old_enough && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path().to_path_buf());
        }
    }
    removed
}

/// Refuses a symbolic link at `root/rel` or at any folder between `root`
/// and it (`root` itself may be reached through links). Stops at the first
/// component that does not exist.
pub fn refuse_symlinks(root: &Utf8Path, rel: &Utf8Path) -> Result<()> {
    let mut path = root.to_path_buf();
    let count = rel.components().count();
    for (i, component) in rel.components().enumerate() {
        path.push(component);
        let what = if i + 1 == count { "file" } else { "directory" };
        refuse_symlink(&path, what)?;
        if !path.exists() {
            break;
        }
    }
    Ok(())
}

/// Refuses `path` itself being a symbolic link (a missing path is fine).
pub fn refuse_symlink(path: &Utf8Path, what: &'static str) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::StateSymlink {
            path: path.to_path_buf(),
            target: std::fs::read_link(path)
                .map(|t| format!(" to {}", t.display()))
                .unwrap_or_default(),
            what,
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("reading", path, e)),
    }
}

/// An exclusive OS lock (`flock`/`LockFileEx`) on a config dir, released
/// when dropped or when the process dies. Every sst-local-state run that
/// reads or writes a config dir's state holds it, so two prepares (or a
/// prepare and a commit) on one machine never interleave their files.
#[derive(Debug)]
pub struct DirLock {
    _file: std::fs::File,
}

/// Env variable: seconds to wait for a config dir's lock (default 120).
pub const LOCK_TIMEOUT_ENV: &str = "SST_LOCAL_STATE_CONFIG_DIR_LOCK_TIMEOUT";

/// The former name of [`LOCK_TIMEOUT_ENV`], still read when that is unset:
/// it was easy to take for the stage lock's `--lock-timeout`.
pub const LOCK_TIMEOUT_ENV_OLD: &str = "SST_LOCAL_STATE_LOCK_TIMEOUT";

impl DirLock {
    /// Waits up to `wait` for `<config_dir>/sst-local-state/lock`.
    pub fn acquire(config_dir: &Utf8Path, wait: std::time::Duration) -> Result<DirLock> {
        let dir = config_dir.join("sst-local-state");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating directory", &dir, e))?;
        let path = dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("opening", &path, e))?;
        let started = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(DirLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::ConfigDirLocked {
                        lock: path,
                        seconds: wait.as_secs(),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("locking", &path, e)),
            }
        }
    }
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

/// The git blob id of the file at `path`, streamed; `None` when it does not exist.
pub fn blob_hash_file(path: &Utf8Path) -> Result<Option<BlobId>> {
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
    let mut hasher = blob_id::Hasher::new(len);
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
    Ok(Some(hasher.finish()))
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
            BlobId::of(b"hello").to_string(),
            "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8Path::from_path(dir.path()).unwrap().join("f");
        assert_eq!(blob_hash_file(&path).unwrap(), None);
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(blob_hash_file(&path).unwrap(), Some(BlobId::of(b"hello")));
        assert_eq!(utc_stamp().len(), "20261126T153239Z".len());
    }
}
