//! What a checkout remembers of a stage lock it holds: one record per app
//! and stage, `<git dir>/sst-local-state/locks/<app>/<stage>.json` (before:
//! `lock-<app>-<stage>.json`, a name two stages could share, such as app
//! `a-b` stage `c` and app `a` stage `b-c`; such a record is still read
//! when its lock ref names this app and stage).
//!
//! A lock `run` takes is that run's, not the checkout's: its record names
//! the run, and while the run lives (it holds an exclusive file lock on
//! `<git dir>/sst-local-state/runs/<nonce>.lock`) no other caller uses
//! it, not a second `run` and not a `commit` or `unlock` in the same
//! checkout. Once the run has ended, the record is the checkout's again:
//! a later `commit` there saves the state and releases the lock.

use std::sync::{Arc, Mutex, PoisonError};

use camino::{Utf8Path, Utf8PathBuf};
use git2::Repository;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsx;
use crate::git::gitx;
use crate::ops::pause;
use crate::stage::project::StageContext;

/// What this checkout remembers of a lock it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    /// The lock ref.
    pub lock_ref: String,
    /// Our lock commit.
    pub commit: String,
    /// The remote it is on.
    pub remote: String,
    /// The `run` the lock belongs to (none: the checkout's, taken by
    /// `lock` or `prepare --lock`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Owner>,
}

/// The `run` a lock belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    /// Random: names the run's liveness file.
    pub nonce: String,
    /// The process the run is in (for people reading the record).
    pub pid: u32,
}

impl Owner {
    /// Whether the run still lives: its liveness file is locked. A record
    /// naming a malformed nonce names no run.
    fn alive(&self, git_dir: &Utf8Path) -> bool {
        let Some(path) = live_path(git_dir, &self.nonce) else {
            return false;
        };
        let Ok(file) = std::fs::File::open(&path) else {
            return false; // removed when the run ended
        };
        match file.try_lock() {
            Ok(()) => {
                drop(file);
                let _ = std::fs::remove_file(&path); // a killed run's
                false
            }
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(_)) => true, // cannot tell: not ours
        }
    }
}

/// `<git dir>/sst-local-state/runs/<nonce>.lock` (None: not a nonce of ours).
fn live_path(git_dir: &Utf8Path, nonce: &str) -> Option<Utf8PathBuf> {
    let well_formed =
        (1..=32).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| {
        git_dir
            .join("sst-local-state")
            .join("runs")
            .join(format!("{nonce}.lock"))
    })
}

/// The stage lock of one `run`: the lock commit the run holds, as it knows
/// it (whatever the checkout's record says meanwhile), and the file lock
/// that tells other callers the run lives. Clones share both; the run
/// ends when the last clone is dropped: a lock it still holds is then the
/// checkout's.
#[derive(Debug, Clone)]
pub struct RunLock {
    inner: Arc<RunInner>,
}

#[derive(Debug)]
struct RunInner {
    owner: Owner,
    held: Mutex<Option<Held>>,
    live: Mutex<Option<(std::fs::File, Utf8PathBuf)>>,
}

impl Default for RunLock {
    fn default() -> Self {
        RunLock::new()
    }
}

impl RunLock {
    /// A new run (it holds no lock yet).
    pub fn new() -> RunLock {
        RunLock {
            inner: Arc::new(RunInner {
                owner: Owner {
                    nonce: format!("{:016x}", pause::random_u64()),
                    pid: std::process::id(),
                },
                held: Mutex::new(None),
                live: Mutex::new(None),
            }),
        }
    }

    /// The run, as records name it.
    pub fn owner(&self) -> &Owner {
        &self.inner.owner
    }

    /// The lock this run holds (None: none, or it was released).
    pub fn held(&self) -> Option<Held> {
        self.inner
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, held: Option<Held>) {
        *self
            .inner
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = held;
    }

    /// Marks the run alive for other callers of checkout `git_dir` (its
    /// liveness file, locked while it lives).
    fn mark_live(&self, git_dir: &Utf8Path) -> Result<()> {
        let mut live = self
            .inner
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if live.is_some() {
            return Ok(());
        }
        let path = live_path(git_dir, &self.inner.owner.nonce).expect("our nonce is hex");
        let dir = path.parent().expect("runs/");
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        let file = std::fs::File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
        file.try_lock()
            .map_err(|e| Error::io("locking", &path, std::io::Error::other(e.to_string())))?;
        *live = Some((file, path));
        Ok(())
    }
}

impl Drop for RunInner {
    /// The run has ended: its liveness file goes (unlocked first).
    fn drop(&mut self) {
        let live = self.live.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some((file, path)) = live.take() {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The record of one stage's lock in one checkout.
#[derive(Debug, Clone)]
pub struct Record {
    git_dir: Utf8PathBuf,
    path: Utf8PathBuf,
    old: Utf8PathBuf,
    /// `/<app>/<stage>`: how every lock ref of the stage ends.
    tail: String,
}

impl Record {
    /// The record of `ctx`'s stage in `repo`.
    pub fn of(repo: &Repository, ctx: &StageContext) -> Result<Record> {
        let git_dir = gitx::utf8(repo.path())?.to_path_buf();
        let dir = git_dir.join("sst-local-state");
        Ok(Record {
            path: dir
                .join("locks")
                .join(ctx.app.as_str())
                .join(format!("{}.json", ctx.stage)),
            old: dir.join(format!("lock-{}-{}.json", ctx.app, ctx.stage)),
            tail: format!("/{}/{}", ctx.app, ctx.stage),
            git_dir,
        })
    }

    /// The record, if there is one for this stage (an unreadable one counts as none).
    pub fn read(&self) -> Result<Option<Held>> {
        for path in [&self.path, &self.old] {
            let held = fsx::read_optional(path)?
                .and_then(|bytes| serde_json::from_slice::<Held>(&bytes).ok())
                .filter(|h| h.lock_ref.ends_with(&self.tail));
            if held.is_some() {
                return Ok(held);
            }
        }
        Ok(None)
    }

    /// The record unless it belongs to a `run` that still lives and is not `run`.
    pub fn read_for(&self, run: Option<&RunLock>) -> Result<Option<Held>> {
        Ok(self.read()?.filter(|h| self.usable_by(h, run)))
    }

    /// Whether `held` may be used by `run` (None: a caller that is no run).
    fn usable_by(&self, held: &Held, run: Option<&RunLock>) -> bool {
        match &held.run {
            None => true,
            Some(owner) if run.is_some_and(|r| r.owner() == owner) => true,
            Some(owner) => !owner.alive(&self.git_dir),
        }
    }

    /// Records `held` (as `run`'s, when given), which `run` then knows too.
    pub fn write(&self, mut held: Held, run: Option<&RunLock>) -> Result<()> {
        held.run = run.map(|r| r.owner().clone());
        if let Some(run) = run {
            run.mark_live(&self.git_dir)?;
            run.set(Some(held.clone()));
        }
        let json = serde_json::to_vec_pretty(&held).expect("serialises");
        fsx::write_atomic(&self.path, &json, false)?;
        self.remove_old()
    }

    /// Forgets the stage's lock (`run` then holds none).
    pub fn remove(&self, run: Option<&RunLock>) -> Result<()> {
        if let Some(run) = run {
            run.set(None);
        }
        fsx::remove_optional(&self.path)?;
        self.remove_old()
    }

    /// Forgets lock commit `commit` (a record naming another is kept).
    pub fn remove_commit(&self, commit: &str, run: Option<&RunLock>) -> Result<()> {
        if let Some(run) = run.filter(|r| r.held().is_some_and(|h| h.commit == commit)) {
            run.set(None);
        }
        if self.read()?.is_some_and(|h| h.commit == commit) {
            self.remove(None)?;
        }
        Ok(())
    }

    /// Removes an old-named record of this stage.
    fn remove_old(&self) -> Result<()> {
        let ours = fsx::read_optional(&self.old)?
            .and_then(|bytes| serde_json::from_slice::<Held>(&bytes).ok())
            .is_some_and(|h| h.lock_ref.ends_with(&self.tail));
        if ours {
            fsx::remove_optional(&self.old)?;
        }
        Ok(())
    }
}
