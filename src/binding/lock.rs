//! The stage lock's functions `lockStage`, `unlockStage` and `listLocks`
//! (the CLI's `lock`, `unlock`, `locks`): their options, their results and
//! the results' conversions from the core's reports.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_options, optional_options_from_js, options_from_js, JsOptions};
use super::promise::spawn_blocking;
use crate::env::Env as ProcessEnv;
use crate::ops::lock;

js_options! {
    #[doc = "Options of `lockStage`."]
    pub struct LockOptions {
        stage, app, cwd, remote, lock_ref_prefix, lock_ttl, lock_timeout,
        #[doc = "What this process runs, recorded in the lock as given; default its program and"]
        #[doc = "up to two subcommand words (never its other arguments, which may hold secrets)."]
        pub command: Option<String>,
    }
}

js_options! {
    #[doc = "Options of `unlockStage`."]
    pub struct UnlockOptions {
        stage, app, cwd, remote, lock_ref_prefix,
        #[doc = "Delete the lock whoever holds it (the result's `was` says whose it was)."]
        pub force: Option<bool>,
    }
}

js_options! {
    #[doc = "Options of `listLocks`."]
    pub struct ListLocksOptions {
        cwd, remote, lock_ref_prefix,
    }
}

/// Who holds a stage lock: what its lock commit records.
#[napi(object)]
pub struct LockHolder {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// Host name of the machine.
    pub host: String,
    /// User name.
    pub user: String,
    /// Process id.
    pub pid: u32,
    /// What it runs.
    pub command: String,
    /// CI provider (`github-actions`, `azure-pipelines`, `gitlab`, ...), absent outside CI.
    pub ci: Option<String>,
    /// The CI run's id or number.
    pub run_id: Option<String>,
    /// A link to the CI run.
    pub run_url: Option<String>,
    /// When the lock was taken (RFC 3339, UTC).
    pub created: String,
    /// When it expires (RFC 3339, UTC); after that another run may break it.
    pub expires: String,
}

impl From<lock::Holder> for LockHolder {
    fn from(h: lock::Holder) -> Self {
        LockHolder {
            app: h.app,
            stage: h.stage,
            host: h.host,
            user: h.user,
            pid: h.pid,
            command: h.command,
            ci: h.ci,
            run_id: h.run_id,
            run_url: h.run_url,
            created: h.created,
            expires: h.expires,
        }
    }
}

/// A stage lock found on the remote.
#[napi(object)]
pub struct LockInfo {
    /// The lock ref.
    pub lock_ref: String,
    /// The lock commit it points at.
    pub commit: String,
    /// Who holds it (absent: the ref points at a commit that is not a lock commit).
    pub holder: Option<LockHolder>,
    /// Seconds since it was taken.
    pub age_seconds: Option<f64>,
    /// Whether it has expired (the next `lockStage` breaks it).
    pub expired: bool,
}

impl From<lock::LockInfo> for LockInfo {
    fn from(l: lock::LockInfo) -> Self {
        LockInfo {
            lock_ref: l.lock_ref,
            commit: l.commit,
            holder: l.holder.map(Into::into),
            age_seconds: l.age_seconds.map(|s| s as f64),
            expired: l.expired,
        }
    }
}

/// The result of `lockStage`.
#[napi(object)]
pub struct LockResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The lock ref.
    pub lock_ref: String,
    /// The remote's name.
    pub remote: String,
    /// Our lock commit.
    pub commit: String,
    /// What the lock records.
    pub holder: LockHolder,
    /// This checkout held the lock already (nothing was pushed).
    pub already_held: bool,
    /// The expired lock this call replaced.
    pub broke: Option<LockInfo>,
    /// Create attempts made.
    pub attempts: u32,
    /// Milliseconds spent waiting for another holder.
    pub waited_ms: f64,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

impl From<lock::LockReport> for LockResult {
    fn from(r: lock::LockReport) -> Self {
        LockResult {
            app: r.app,
            stage: r.stage,
            lock_ref: r.lock_ref,
            remote: r.remote,
            commit: r.commit,
            holder: r.holder.into(),
            already_held: r.already_held,
            broke: r.broke.map(Into::into),
            attempts: r.attempts,
            waited_ms: r.waited_ms as f64,
            duration_ms: r.duration_ms as f64,
        }
    }
}

/// The result of `unlockStage`.
#[napi(object)]
pub struct UnlockResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The lock ref.
    pub lock_ref: String,
    /// Whether a lock was deleted (false: there was none).
    pub released: bool,
    /// Whether `force` was given.
    pub forced: bool,
    /// With `force`: the lock that was deleted, whoever held it.
    pub was: Option<LockInfo>,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

impl From<lock::UnlockReport> for UnlockResult {
    fn from(r: lock::UnlockReport) -> Self {
        UnlockResult {
            app: r.app,
            stage: r.stage,
            lock_ref: r.lock_ref,
            released: r.released,
            forced: r.forced,
            was: r.was.map(Into::into),
            duration_ms: r.duration_ms as f64,
        }
    }
}

/// Takes a stage's lock on the git remote: a create-only push of the ref
/// `<lockRefPrefix>/<app>/<stage>` (default prefix
/// `refs/heads/sst-local-state/lock`), which the git server applies as a
/// compare-and-swap, so of many concurrent callers exactly one gets it. Its
/// commit records the holder (CI run and URL, host, pid, user, command) and
/// when it expires (`lockTtl`, default 1 hour, from 1s to 7 days). Rejects with `LOCK_HELD`
/// (`err.lockRef`, `err.runUrl`) naming the holder and its age when another
/// run holds it, at once or after waiting `lockTimeout` (polling with
/// jittered backoff and printing who holds it on stderr). An expired lock
/// is replaced by a compare-and-swap against its commit (`broke`), so two
/// waiters cannot both break it. A ref in the lock ref's way rejects with
/// `LOCK_REF_REFUSED` at once. Needs the `git` command line
/// (`GIT_NOT_FOUND` otherwise). The checkout remembers the lock, so
/// `unlockStage` in it releases it. Calling it again while holding the lock
/// resolves with `alreadyHeld`.
#[napi(
    ts_args_type = "options: LockOptions",
    ts_return_type = "Promise<LockResult>"
)]
pub fn lock_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, LockResult>> {
    let core = options_from_js(options, "lockStage").and_then(|options: LockOptions| {
        Ok(lock::LockOptions {
            common: options.common(),
            lock: options.lock_request(options.command.clone())?,
            remote: options.remote,
        })
    });
    spawn_blocking(
        env,
        move || {
            lock::lock(&core?, &ProcessEnv::process(), &mut |line| {
                eprintln!("sst-local-state: {line}")
            })
        },
        Into::into,
    )
}

/// Releases a stage's lock that this checkout holds: deletes the lock ref
/// only while the remote still holds our lock commit (a compare-and-swap).
/// Rejects with `LOCK_NOT_HELD` naming the holder when another run holds
/// it. `force: true` deletes the lock whoever holds it, and `was` says whose
/// it was. Resolves with `released: false` when there is no lock.
#[napi(
    ts_args_type = "options: UnlockOptions",
    ts_return_type = "Promise<UnlockResult>"
)]
pub fn unlock_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, UnlockResult>> {
    let core =
        options_from_js(options, "unlockStage").map(|options: UnlockOptions| lock::UnlockOptions {
            common: options.common(),
            remote: options.remote,
            prefix: options.lock_ref_prefix,
            force: options.force.unwrap_or(false),
        });
    spawn_blocking(
        env,
        move || lock::unlock(&core?, &ProcessEnv::process()),
        Into::into,
    )
}

/// Lists the stage locks on the git remote (`git ls-remote` of the lock
/// prefix), each with its holder, age and whether it has expired.
#[napi(
    ts_args_type = "options?: ListLocksOptions | undefined | null",
    ts_return_type = "Promise<Array<LockInfo>>"
)]
pub fn list_locks<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
) -> napi::Result<PromiseRaw<'env, Vec<LockInfo>>> {
    let core = optional_options_from_js(options, "listLocks").map(|options: ListLocksOptions| {
        lock::ListOptions {
            common: options.common(),
            remote: options.remote,
            prefix: options.lock_ref_prefix,
        }
    });
    spawn_blocking(
        env,
        move || lock::list(&core?, &ProcessEnv::process()),
        |locks| locks.into_iter().map(Into::into).collect(),
    )
}
