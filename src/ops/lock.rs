//! The stage lock on the git remote: a ref per app and stage
//! (`refs/heads/sst-local-state/lock/<app>/<stage>` by default) created by
//! a create-only push, which the git server applies as a compare-and-swap
//! (of N concurrent creators exactly one wins). The ref points at a small
//! parentless commit whose trailers name the holder (CI run, host, pid,
//! user, command) and when the lock expires. An expired lock is replaced by
//! a compare-and-swap against its commit, so two runs cannot both break
//! it; a release deletes the ref only while it still points at our commit.
//! Pushes go through `git` (`--force-with-lease`), also for path remotes,
//! where git's own receive-pack does the compare-and-swap; without `git`
//! locking is refused (`GIT_NOT_FOUND`), never done unsafely.
//!
//! The checkout that holds a lock remembers it (see [`record`]), so
//! `commit` and `unlock` in the same checkout know the lock commit is
//! theirs; a lock `run` takes is that run's alone while it runs.
//!
//! Every loop here ends: a refusal that is no lost race (a ref in the
//! lock ref's way, a server rule) is an error at once, and retries that
//! do not wait are few before the time-out applies.

mod record;

use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime};

use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};

use crate::ci_env;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::git::gitx;
use crate::git::redact::redact_text;
use crate::git::remote::{git_error, is_moved, is_ref_name_conflict, Pushed, RefUpdate, Remote};
use crate::ops::pause;
use crate::stage::project::{self, Caller, CommonOptions, PackageSettings, StageContext};
use crate::utc;
pub use record::{Held, Owner, Record, RunLock};

/// Env variable: the ref prefix stage locks live under.
pub const PREFIX_ENV: &str = "SST_LOCAL_STATE_LOCK_PREFIX";
/// Where stage locks live by default: a branch namespace, which every
/// hosting service accepts.
pub const DEFAULT_PREFIX: &str = "refs/heads/sst-local-state/lock";
/// How long a lock is valid unless its holder says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// The shortest ttl accepted: a lock with none would be expired when made.
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// The longest ttl accepted, 7 days: `run` renews its lock while the
/// command runs, so only a `prepare --lock` … `commit` deploy needs its
/// ttl to cover the whole deploy; a lock left by a killed run should not
/// block the stage for longer.
pub const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The longest wait for a held lock accepted, 7 days.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);
/// Create attempts in a row that may find the lock gone (released between
/// our push and our look) before the refusal is taken for what it is.
const VANISHED_MAX: u32 = 3;
/// Where lock commits read from the remote are kept locally (never pushed).
const SEEN_PREFIX: &str = "refs/sst-local-state/seen";
/// The first pause while waiting for a held lock, and the longest.
const POLL_FIRST: Duration = Duration::from_millis(500);
const POLL_CAP: Duration = Duration::from_secs(5);

/// Options of [`lock`].
#[derive(Debug, Clone, Default)]
pub struct LockOptions {
    /// Stage, app, paths.
    pub common: CommonOptions,
    /// Remote; else env `SST_LOCAL_STATE_REMOTE`, `package.json`, `origin`.
    pub remote: Option<String>,
    /// How to take it.
    pub lock: LockRequest,
}

/// How a lock is taken (by `lock`, `prepare --lock`, `run`).
#[derive(Debug, Clone, Default)]
pub struct LockRequest {
    /// Ref prefix; else env [`PREFIX_ENV`], `package.json` `lockPrefix`, [`DEFAULT_PREFIX`].
    pub prefix: Option<String>,
    /// How long the lock is valid; default [`DEFAULT_TTL`].
    pub ttl: Option<Duration>,
    /// How long to wait for a held lock; default zero (fail at once).
    pub timeout: Option<Duration>,
    /// What the holder runs, recorded in the lock; default this process's
    /// program and subcommand words (see [`recorded_command`]).
    pub command: Option<String>,
    /// The `run` taking the lock: the lock is then that run's alone.
    pub run: Option<RunLock>,
}

impl LockRequest {
    /// Refuses a ttl outside [`MIN_TTL`]..=[`MAX_TTL`] and a timeout over
    /// [`MAX_TIMEOUT`], naming the flag (or JS option) at fault.
    pub fn check(&self, caller: Caller) -> Result<()> {
        let shown = |d: Duration| humantime::format_duration(d).to_string();
        if let Some(ttl) = self.ttl.filter(|t| !(MIN_TTL..=MAX_TTL).contains(t)) {
            return Err(Error::option(
                caller.name("lockTtl", "lock-ttl"),
                format!(
                    "{}: a lock's ttl must be from {} to {} (a lock with no ttl would be expired when made)",
                    shown(ttl),
                    shown(MIN_TTL),
                    shown(MAX_TTL)
                ),
            ));
        }
        if let Some(timeout) = self.timeout.filter(|t| *t > MAX_TIMEOUT) {
            return Err(Error::option(
                caller.name("lockTimeout", "lock-timeout"),
                format!(
                    "{}: the longest wait is {}",
                    shown(timeout),
                    shown(MAX_TIMEOUT)
                ),
            ));
        }
        Ok(())
    }
}

/// Commands that run another program, whose name is recorded too.
const RUNNERS: [&str; 8] = [
    "npx", "bunx", "pnpx", "node", "bun", "deno", "tsx", "ts-node",
];

/// What a lock and `run`'s messages record of command line `args`: the
/// program's file name (with a runner such as `npx` or `node`, also the
/// program or script it runs) and up to two subcommand words after it
/// (`sst deploy`, `sst secret set`), then `…` for the rest. Other
/// arguments are never recorded: they may hold a secret
/// (`sst secret set StripeKey sk_live_…`), and a lock commit stays on the
/// server and is shown to every other machine. A subcommand word is
/// lowercase letters, digits, `-` and `:`, starting with a letter.
pub fn recorded_command(args: &[String]) -> String {
    let file_name = |a: &str| a.rsplit(['/', '\\']).next().unwrap_or(a).to_string();
    let Some((program, rest)) = args.split_first() else {
        return String::new();
    };
    let mut out = vec![file_name(program)];
    let mut rest = rest.iter().peekable();
    let runner = out[0].to_ascii_lowercase();
    if RUNNERS.contains(&runner.trim_end_matches(".exe").trim_end_matches(".cmd")) {
        if let Some(next) = rest.next_if(|a| !a.starts_with('-')) {
            out.push(file_name(next));
        }
    }
    let is_word = |a: &&String| {
        a.len() <= 32
            && a.starts_with(|c: char| c.is_ascii_lowercase())
            && a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == ':')
    };
    for _ in 0..2 {
        match rest.next_if(is_word) {
            Some(word) => out.push(word.clone()),
            None => break,
        }
    }
    if rest.next().is_some() {
        out.push("…".into());
    }
    out.join(" ")
}

/// Options of [`list`].
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Where the project is (stage and app are not needed).
    pub common: CommonOptions,
    /// Remote, as for [`LockOptions::remote`].
    pub remote: Option<String>,
    /// Ref prefix, as for [`LockRequest::prefix`].
    pub prefix: Option<String>,
}

/// Options of [`unlock`].
#[derive(Debug, Clone, Default)]
pub struct UnlockOptions {
    /// Stage, app, paths.
    pub common: CommonOptions,
    /// Remote, as for [`LockOptions::remote`].
    pub remote: Option<String>,
    /// Ref prefix, as for [`LockRequest::prefix`].
    pub prefix: Option<String>,
    /// Delete the lock whoever holds it.
    pub force: bool,
}

/// Who holds a lock: the trailers of its commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
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
    /// CI provider (`github-actions`, ...), outside CI none.
    pub ci: Option<String>,
    /// The CI run's id or number.
    pub run_id: Option<String>,
    /// A link to the CI run.
    pub run_url: Option<String>,
    /// When the lock was taken (RFC 3339, UTC).
    pub created: String,
    /// When it expires (RFC 3339, UTC).
    pub expires: String,
    /// How long each renewal extends it, in seconds.
    pub ttl_seconds: u64,
    /// Random, so two locks never share a commit.
    pub nonce: String,
}

/// The trailer keys of a lock commit, in order.
const KEYS: [&str; 13] = [
    "Lock-App",
    "Lock-Stage",
    "Lock-Host",
    "Lock-User",
    "Lock-Pid",
    "Lock-Command",
    "Lock-CI",
    "Lock-CI-Run-Id",
    "Lock-CI-Run",
    "Lock-Created",
    "Lock-Expires",
    "Lock-Ttl",
    "Lock-Nonce",
];

impl Holder {
    /// This process as the holder of `ctx`'s lock for `ttl`.
    fn this_process(ctx: &StageContext, env: &Env, ttl: Duration, command: Option<&str>) -> Holder {
        let now = SystemTime::now();
        let ci = ci_env::detect(env);
        let command = command.map_or_else(
            || recorded_command(&std::env::args().collect::<Vec<_>>()),
            str::to_string,
        );
        Holder {
            app: ctx.app.to_string(),
            stage: ctx.stage.to_string(),
            host: hostname(env),
            user: env
                .non_empty("USER")
                .or_else(|| env.non_empty("USERNAME"))
                .unwrap_or("unknown")
                .to_string(),
            pid: std::process::id(),
            command: redact_text(&command, &[]),
            run_id: ci.as_ref().and_then(|c| ci_env::run_id(env, c.provider)),
            run_url: ci.as_ref().and_then(|c| c.run_url.clone()),
            ci: ci.map(|c| c.provider.to_string()),
            created: utc::rfc3339_of(now),
            expires: expiry(now, ttl),
            ttl_seconds: ttl.as_secs(),
            nonce: format!("{:016x}", pause::random_u64()),
        }
    }

    /// The same holder with its expiry one ttl from now (a new nonce).
    fn renewed(&self) -> Holder {
        let ttl = Duration::from_secs(self.ttl_seconds).clamp(MIN_TTL, MAX_TTL);
        Holder {
            expires: expiry(SystemTime::now(), ttl),
            ttl_seconds: ttl.as_secs(),
            nonce: format!("{:016x}", pause::random_u64()),
            ..self.clone()
        }
    }

    /// The lock commit's message: a subject and one trailer per field,
    /// each value on one line (a newline in a CI variable would add a
    /// trailer, such as a forged `Lock-Expires`).
    fn message(&self) -> String {
        let values = [
            Some(self.app.as_str()),
            Some(self.stage.as_str()),
            Some(self.host.as_str()),
            Some(self.user.as_str()),
            Some(&*self.pid.to_string()),
            Some(self.command.as_str()),
            self.ci.as_deref(),
            self.run_id.as_deref(),
            self.run_url.as_deref(),
            Some(self.created.as_str()),
            Some(self.expires.as_str()),
            Some(&*self.ttl_seconds.to_string()),
            Some(self.nonce.as_str()),
        ]
        .map(|v| v.map(one_line));
        let trailers: Vec<String> = KEYS
            .iter()
            .zip(values)
            .filter_map(|(k, v)| Some(format!("{k}: {}", v?)))
            .collect();
        format!(
            "sst-local-state lock: {}/{} [skip ci]\n\n{}\n",
            one_line(&self.app),
            one_line(&self.stage),
            trailers.join("\n")
        )
    }

    /// The holder a lock commit's message names (None: not a lock commit).
    /// A key given twice counts by its last line: the trailers this crate
    /// writes come in [`KEYS`] order, so a line smuggled into an earlier
    /// value (by a version that let newlines through) cannot override the
    /// expiry.
    pub fn parse(message: &str) -> Option<Holder> {
        let get = |key: &str| {
            message.lines().rev().find_map(|line| {
                let (k, v) = line.split_once(": ")?;
                (k == key).then(|| v.trim().to_string())
            })
        };
        let [app, stage, host, user, pid, command, ci, run_id, run_url, created, expires, ttl, nonce] =
            KEYS.map(get);
        let (created, expires) = (created?, expires?);
        let ttl_seconds = ttl
            .and_then(|t| t.parse().ok())
            .or_else(|| {
                let from = humantime::parse_rfc3339(&created).ok()?;
                let to = humantime::parse_rfc3339(&expires).ok()?;
                Some(to.duration_since(from).ok()?.as_secs())
            })
            .unwrap_or(DEFAULT_TTL.as_secs());
        Some(Holder {
            app: app?,
            stage: stage?,
            host: host.unwrap_or_default(),
            user: user.unwrap_or_default(),
            pid: pid.and_then(|p| p.parse().ok()).unwrap_or(0),
            command: command.unwrap_or_default(),
            ci,
            run_id,
            run_url,
            created,
            expires,
            ttl_seconds,
            nonce: nonce.unwrap_or_default(),
        })
    }

    /// `user@host (pid 12, `sst deploy`, github-actions run 42)`.
    pub fn describe(&self) -> String {
        let ci = match (&self.ci, &self.run_id) {
            (Some(ci), Some(id)) => format!(", {ci} run {id}"),
            (Some(ci), None) => format!(", {ci}"),
            _ => String::new(),
        };
        format!(
            "{}@{} (pid {}, `{}`{ci})",
            self.user, self.host, self.pid, self.command
        )
    }

    /// How long ago the lock was taken (None: unreadable time).
    pub fn age(&self, now: SystemTime) -> Option<Duration> {
        let created = humantime::parse_rfc3339(&self.created).ok()?;
        Some(now.duration_since(created).unwrap_or_default())
    }

    /// Whether the lock has expired at `now` (an unreadable expiry never does).
    pub fn expired(&self, now: SystemTime) -> bool {
        humantime::parse_rfc3339(&self.expires).is_ok_and(|e| e <= now)
    }
}

/// `ttl` after `now` as RFC 3339 (never a panic: ttls are bounded, and a
/// time `SystemTime` cannot hold, unreachable so, is rendered as `now`).
fn expiry(now: SystemTime, ttl: Duration) -> String {
    utc::rfc3339_of(now.checked_add(ttl).unwrap_or(now))
}

/// One line, no control characters, at most 200 characters.
fn one_line(text: &str) -> String {
    let clean = crate::ops::message::one_line(text);
    match clean.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &clean[..end]),
        None => clean,
    }
}

/// This machine's name.
fn hostname(env: &Env) -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            if end > 0 {
                return String::from_utf8_lossy(&buf[..end]).into_owned();
            }
        }
    }
    env.non_empty("COMPUTERNAME")
        .or_else(|| env.non_empty("HOSTNAME"))
        .unwrap_or("unknown")
        .to_string()
}

/// A lock as found on the remote.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockInfo {
    /// The lock ref.
    pub lock_ref: String,
    /// The commit it points at.
    pub commit: String,
    /// Who holds it (None: the commit is not a lock commit of ours).
    pub holder: Option<Holder>,
    /// Seconds since it was taken.
    pub age_seconds: Option<u64>,
    /// Whether it has expired.
    pub expired: bool,
}

impl LockInfo {
    fn read(lock_ref: &str, commit: &git2::Commit, now: SystemTime) -> LockInfo {
        let holder = commit.message().ok().and_then(Holder::parse);
        LockInfo {
            lock_ref: lock_ref.to_string(),
            commit: commit.id().to_string(),
            age_seconds: holder
                .as_ref()
                .and_then(|h| h.age(now))
                .map(|a| a.as_secs()),
            expired: holder.as_ref().is_some_and(|h| h.expired(now)),
            holder,
        }
    }

    /// The holder and the lock's age, for messages.
    pub fn describe(&self) -> String {
        match &self.holder {
            Some(h) => format!("{}, taken {} ago", h.describe(), self.age()),
            None => format!(
                "an unknown holder (commit {} is not a lock commit of sst-local-state)",
                self.commit
            ),
        }
    }

    /// ` <url>` of the holder's CI run, or nothing.
    pub fn run_url_suffix(&self) -> String {
        self.holder
            .as_ref()
            .and_then(|h| h.run_url.as_deref())
            .map(|u| format!(" {u}"))
            .unwrap_or_default()
    }

    /// The age as `1h 2m 3s` (`?` when unknown).
    pub fn age(&self) -> String {
        self.age_seconds.map_or("?".into(), |s| {
            humantime::format_duration(Duration::from_secs(s)).to_string()
        })
    }

    fn oid(&self) -> Oid {
        Oid::from_str(&self.commit).expect("a commit id we read")
    }
}

/// The result of [`lock`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockReport {
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
    pub holder: Holder,
    /// This checkout held the lock already (nothing was pushed).
    pub already_held: bool,
    /// The expired lock this run replaced.
    pub broke: Option<LockInfo>,
    /// Create attempts made.
    pub attempts: u32,
    /// Time spent waiting for another holder, in milliseconds.
    pub waited_ms: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// The result of [`unlock`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnlockReport {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The lock ref.
    pub lock_ref: String,
    /// Whether a lock was deleted.
    pub released: bool,
    /// Whether `force` was given.
    pub forced: bool,
    /// The lock that was deleted (with `force`: whoever held it).
    pub was: Option<LockInfo>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// The lock ref prefix: explicit > env > `package.json` > default, checked.
pub fn resolve_prefix(
    explicit: &Option<String>,
    env: &Env,
    settings: &PackageSettings,
    caller: Caller,
) -> Result<String> {
    let (value, origin) = match (explicit, env.non_empty(PREFIX_ENV), &settings.lock_prefix) {
        (Some(p), _, _) => (p.clone(), caller.name("lockRefPrefix", "lock-ref-prefix")),
        (None, Some(p), _) => (p.to_string(), format!("env {PREFIX_ENV}")),
        (None, None, Some(p)) => (p.clone(), "package.json sstLocalState.lockPrefix".into()),
        (None, None, None) => return Ok(DEFAULT_PREFIX.into()),
    };
    let prefix = value.trim_end_matches('/');
    if !prefix.starts_with("refs/") || !git2::Reference::is_valid_name(&format!("{prefix}/a/b")) {
        return Err(Error::option(
            origin,
            format!("{value:?} is not a ref prefix such as {DEFAULT_PREFIX}"),
        ));
    }
    Ok(prefix.to_string())
}

/// A stage's lock on one remote, seen from one checkout.
pub struct StageLock<'r> {
    ctx: &'r StageContext,
    repo: &'r Repository,
    /// The remote holding the lock.
    pub remote: Remote<'r>,
    /// `<prefix>/<app>/<stage>`.
    pub lock_ref: String,
    caller: Caller,
    record: Record,
    /// The `run` the lock is taken for (set by [`StageLock::take`]).
    run: RefCell<Option<RunLock>>,
}

/// How one compare-and-swap of the lock ref went.
enum Swap {
    /// The ref was at the expected value; now it is at the new one.
    Applied,
    /// The ref was not at the expected value (the server's words).
    Moved(String),
}

/// A lock now held, for the report.
struct Taken {
    holder: Holder,
    commit: Oid,
    broke: Option<LockInfo>,
    already_held: bool,
}

impl<'r> StageLock<'r> {
    /// The lock of `ctx`'s stage on the resolved remote.
    pub fn open(
        ctx: &'r StageContext,
        repo: &'r Repository,
        env: &Env,
        remote: &Option<String>,
        prefix: &Option<String>,
        caller: Caller,
    ) -> Result<Self> {
        let prefix = resolve_prefix(prefix, env, &ctx.settings, caller)?;
        let remote = Remote::open(repo, &project::remote_name(remote, env, &ctx.settings), env)?;
        Ok(StageLock {
            lock_ref: format!("{prefix}/{}/{}", ctx.app, ctx.stage),
            record: Record::of(repo, ctx)?,
            ctx,
            repo,
            remote,
            caller,
            run: RefCell::new(None),
        })
    }

    /// Takes the lock as `request` says: waiting up to its timeout for
    /// another holder, breaking an expired lock; `progress` hears who
    /// holds it while waiting. A lock this checkout holds is used again,
    /// unless a `run` that still runs holds it; for a `run`
    /// (`request.run`) it becomes that run's by a compare-and-swap, so of
    /// two runs only one gets it. A ttl or timeout out of bounds is
    /// refused before anything is done.
    pub fn take(
        &self,
        request: &LockRequest,
        env: &Env,
        progress: &mut dyn FnMut(&str),
    ) -> Result<LockReport> {
        request.check(self.caller)?;
        self.run.replace(request.run.clone());
        let started = Instant::now();
        if let Some(taken) = self.reuse_held(request, env)? {
            let attempts = u32::from(request.run.is_some());
            return Ok(self.report(taken, attempts, Duration::ZERO, started));
        }
        self.acquire(request, env, started, progress)
    }

    /// The lock this checkout holds already, when this caller may use it
    /// (None: it holds none, a `run` that still runs holds it, another run
    /// won it, or the remote no longer has it: that record is forgotten).
    fn reuse_held(&self, request: &LockRequest, env: &Env) -> Result<Option<Taken>> {
        let Some(held) = self.held()? else {
            return Ok(None);
        };
        let still = self.current()?.filter(|c| c.commit == held.commit);
        let Some((current, holder)) = still.and_then(|c| Some((c.oid(), c.holder?))) else {
            self.forget()?;
            return Ok(None);
        };
        if request.run.is_none() {
            self.remember(current)?; // the checkout's now (also one an ended run left)
            return Ok(Some(Taken {
                holder,
                commit: current,
                broke: None,
                already_held: true,
            }));
        }
        let ttl = request.ttl.unwrap_or(DEFAULT_TTL);
        let holder = Holder::this_process(self.ctx, env, ttl, request.command.as_deref());
        let ours = self.write_commit(&holder, env)?;
        Ok(match self.swap(Some(ours), Some(current))? {
            Swap::Applied => {
                self.remember(ours)?;
                Some(Taken {
                    holder,
                    commit: ours,
                    broke: None,
                    already_held: true,
                })
            }
            Swap::Moved(_) => None,
        })
    }

    /// Creates the lock (a create-only push), breaking an expired one, and
    /// waits up to the request's timeout while another run holds it. A
    /// refusal that is no lost race ends it at once.
    fn acquire(
        &self,
        request: &LockRequest,
        env: &Env,
        started: Instant,
        progress: &mut dyn FnMut(&str),
    ) -> Result<LockReport> {
        let (ttl, timeout) = (
            request.ttl.unwrap_or(DEFAULT_TTL),
            request.timeout.unwrap_or_default(),
        );
        let (mut attempts, mut vanished, mut waited) = (0, 0, Duration::ZERO);
        loop {
            attempts += 1;
            let holder = Holder::this_process(self.ctx, env, ttl, request.command.as_deref());
            let ours = self.write_commit(&holder, env)?;
            let mut taken = Taken {
                holder,
                commit: ours,
                broke: None,
                already_held: false,
            };
            // recorded before the push: a process killed after the push
            // landed but before it heard so still holds it by its record
            // (`unlock` releases it); a record of a push that never landed
            // is forgotten, here or by the next `take`/`unlock`
            self.remember(ours)?;
            let refused = match self.swap_recorded(ours, None)? {
                Swap::Applied => return self.won(taken, attempts, waited, started),
                Swap::Moved(reason) => reason,
            };
            let Some(mut current) = self.current()? else {
                // released in the meantime; refused again and again, it is
                // no race but the server refusing the ref
                vanished += 1;
                if vanished < VANISHED_MAX {
                    continue;
                }
                self.forget()?;
                return Err(self.refused(refused));
            };
            vanished = 0;
            if current.expired {
                if let Swap::Applied = self.swap_recorded(ours, Some(current.oid()))? {
                    taken.broke = Some(current);
                    return self.won(taken, attempts, waited, started);
                }
                // another run broke it first: that run holds it now
                current = self.current()?.unwrap_or(current);
            }
            self.forget()?; // not ours: another run holds it
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(self.held_by(&current, started));
            }
            progress(&self.waiting_for(&current));
            let pause = pause::jittered(attempts, POLL_FIRST, POLL_CAP).min(left);
            std::thread::sleep(pause);
            waited += pause;
        }
    }

    /// Pushes lock commit `ours` (recorded before) in place of `expected`.
    /// When the push fails, the record goes unless the remote holds `ours`
    /// after all (then `unlock` releases it); when the remote cannot be
    /// asked either, it stays (the next `take` or `unlock` checks it).
    fn swap_recorded(&self, ours: Oid, expected: Option<Oid>) -> Result<Swap> {
        self.swap(Some(ours), expected).inspect_err(|_| {
            if let Ok(current) = self.current() {
                if current.map(|c| c.oid()) != Some(ours) {
                    let _ = self.forget();
                }
            }
        })
    }

    /// The lock is ours: remembered, reported.
    fn won(
        &self,
        taken: Taken,
        attempts: u32,
        waited: Duration,
        started: Instant,
    ) -> Result<LockReport> {
        self.remember(taken.commit)?;
        Ok(self.report(taken, attempts, waited, started))
    }

    fn report(
        &self,
        taken: Taken,
        attempts: u32,
        waited: Duration,
        started: Instant,
    ) -> LockReport {
        LockReport {
            app: self.ctx.app.to_string(),
            stage: self.ctx.stage.to_string(),
            lock_ref: self.lock_ref.clone(),
            remote: self.remote.name.clone(),
            commit: taken.commit.to_string(),
            holder: taken.holder,
            already_held: taken.already_held,
            broke: taken.broke,
            attempts,
            waited_ms: waited.as_millis() as u64,
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// `waiting for the lock of app/stage: held by … <run url>`.
    fn waiting_for(&self, current: &LockInfo) -> String {
        format!(
            "waiting for the lock of {}/{}: held by {}{}",
            self.ctx.app,
            self.ctx.stage,
            current.describe(),
            current.run_url_suffix()
        )
    }

    /// `LOCK_HELD`: `current` holds it, and the time-out has passed.
    fn held_by(&self, current: &LockInfo, started: Instant) -> Error {
        Error::LockHeld {
            lock_ref: self.lock_ref.clone(),
            holder: current.describe(),
            run_url: current.holder.as_ref().and_then(|h| h.run_url.clone()),
            waited: humantime::format_duration(Duration::from_secs(started.elapsed().as_secs()))
                .to_string(),
            unlock: self.unlock_hint(),
        }
    }

    /// `LOCK_REF_REFUSED`: the server will not create the lock ref.
    fn refused(&self, reason: String) -> Error {
        Error::LockRefRefused {
            lock_ref: self.lock_ref.clone(),
            reason,
            prefix: format!(
                "{} (or env {PREFIX_ENV}, package.json sstLocalState.lockPrefix)",
                self.caller.name("lockRefPrefix", "lock-ref-prefix")
            ),
        }
    }

    /// Deletes the lock if this checkout holds it (`force`: whoever does).
    /// A lock a `run` that still runs holds is not this caller's.
    pub fn release(&self, force: bool) -> Result<UnlockReport> {
        let started = Instant::now();
        let report = |released, was| UnlockReport {
            app: self.ctx.app.to_string(),
            stage: self.ctx.stage.to_string(),
            lock_ref: self.lock_ref.clone(),
            released,
            forced: force,
            was,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        if !force {
            if let Some(held) = self.held()? {
                let ours = Oid::from_str(&held.commit).map_err(|e| git_error("reading", &e))?;
                let deleted = matches!(self.swap(None, Some(ours))?, Swap::Applied);
                self.forget()?; // released, or not ours any more
                if deleted {
                    return Ok(report(true, None));
                }
            }
            return match self.current()? {
                None => Ok(report(false, None)),
                Some(current) => Err(Error::LockNotHeld {
                    lock_ref: self.lock_ref.clone(),
                    holder: current.describe(),
                    unlock: self.unlock_hint(),
                }),
            };
        }
        for _ in 0..10 {
            let Some(current) = self.current()? else {
                self.forget()?;
                return Ok(report(false, None));
            };
            if let Swap::Applied = self.swap(None, Some(current.oid()))? {
                self.forget()?;
                return Ok(report(true, Some(current)));
            }
        }
        Err(Error::PushRejected {
            branch: self.lock_ref.clone(),
            reason: "the lock kept changing while it was being deleted".into(),
        })
    }

    /// The lock as the remote holds it now (None: nobody holds it).
    pub fn current(&self) -> Result<Option<LockInfo>> {
        let seen = seen_ref(&self.lock_ref);
        if !self.remote.fetch_refs(&self.lock_ref, &seen)? {
            if let Ok(mut stale) = self.repo.find_reference(&seen) {
                let _ = stale.delete();
            }
            return Ok(None);
        }
        let commit = self
            .repo
            .find_reference(&seen)
            .and_then(|r| r.peel_to_commit())
            .map_err(|e| git_error("reading the fetched lock", &e))?;
        Ok(Some(LockInfo::read(
            &self.lock_ref,
            &commit,
            SystemTime::now(),
        )))
    }

    /// The lock this checkout holds on this ref, as it remembers it (none
    /// when a `run` that still runs, other than this one, holds it).
    pub fn held(&self) -> Result<Option<Held>> {
        let run = self.run.borrow();
        Ok(self
            .record
            .read_for(run.as_ref())?
            .filter(|h| h.lock_ref == self.lock_ref && h.remote == self.remote.name))
    }

    /// Records that this checkout (or the `run` taking it) now holds lock
    /// commit `commit`.
    pub fn remember(&self, commit: Oid) -> Result<()> {
        let held = Held {
            lock_ref: self.lock_ref.clone(),
            commit: commit.to_string(),
            remote: self.remote.name.clone(),
            run: None,
        };
        self.record.write(held, self.run.borrow().as_ref())
    }

    /// Forgets the lock this checkout held.
    pub fn forget(&self) -> Result<()> {
        self.record.remove(self.run.borrow().as_ref())
    }

    fn write_commit(&self, holder: &Holder, env: &Env) -> Result<Oid> {
        write_lock_commit(self.repo, holder, env)
    }

    /// One compare-and-swap of the lock ref. A refusal that is no lost
    /// race is an error: the server's rules, or another ref in the lock
    /// ref's way (`refs/heads/x` blocks `refs/heads/x/…`), which would be
    /// refused however often it is tried.
    fn swap(&self, new: Option<Oid>, expected: Option<Oid>) -> Result<Swap> {
        let update = RefUpdate {
            dst: self.lock_ref.clone(),
            new,
            expected,
        };
        let pushed = self.remote.push_leased(&[update], false)?;
        match pushed.status(&self.lock_ref) {
            Some(r) if r.ok => Ok(Swap::Applied),
            Some(_) if is_ref_name_conflict(&pushed.stderr) => {
                Err(self.refused(remote_said(&pushed)))
            }
            Some(r) if is_moved(&r.summary) => Ok(Swap::Moved(format!(
                "{}: {}",
                r.summary,
                remote_said(&pushed)
            ))),
            Some(r) => Err(Error::PushRejected {
                branch: self.lock_ref.clone(),
                reason: format!("{} {}", r.summary, pushed.said),
            }),
            None => Err(Error::Git {
                action: "pushing the lock".into(),
                message: format!(
                    "git push reported no status for {}: {}",
                    self.lock_ref, pushed.said
                ),
            }),
        }
    }

    fn unlock_hint(&self) -> String {
        match self.caller {
            Caller::Cli => format!(
                "`sst-local-state unlock --force --stage {}`",
                self.ctx.stage
            ),
            Caller::Js => "`unlockStage({ force: true })`".into(),
        }
    }
}

/// What the server said about a refused push: its `remote: error:` lines,
/// else git's last lines.
fn remote_said(pushed: &Pushed) -> String {
    let errors: Vec<&str> = pushed
        .stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("remote:"))
        .map(str::trim)
        .filter(|l| l.starts_with("error:"))
        .collect();
    if errors.is_empty() {
        pushed.said.clone()
    } else {
        errors.join(" / ")
    }
}

/// A new parentless lock commit (empty tree) recording `holder`.
fn write_lock_commit(repo: &Repository, holder: &Holder, env: &Env) -> Result<Oid> {
    let tree = repo
        .treebuilder(None)
        .and_then(|b| b.write())
        .and_then(|id| repo.find_tree(id))
        .map_err(|e| git_error("writing the lock commit", &e))?;
    let (author, committer) = crate::ops::message::identities(repo, env)?;
    repo.commit(None, &author, &committer, &holder.message(), &tree, &[])
        .map_err(|e| git_error("writing the lock commit", &e))
}

/// The lock a state commit carries in its push: the lock ref is deleted
/// (released) or moved to a renewed lock commit (kept) in the same atomic
/// push as the branch, each only while it still holds this checkout's lock
/// commit, so the state lands only while this run holds the lock.
#[derive(Debug, Clone)]
pub struct Carried {
    /// The lock ref.
    pub lock_ref: String,
    /// Our lock commit, as the remote should still hold it.
    pub ours: Oid,
    /// What the ref becomes: `None` releases it, else the renewed lock commit.
    pub next: Option<Oid>,
    record: Record,
    remote: String,
    run: Option<RunLock>,
}

impl Carried {
    /// The lock held on `ctx`'s stage on remote `remote`, to be released
    /// (or, with `keep`, renewed for its ttl from now): with `run`, the
    /// lock commit that run took (whatever the checkout's record says
    /// now: a lock lost meanwhile then fails the push as `LOCK_LOST`);
    /// else the checkout's, unless a `run` that still runs holds it.
    pub fn held(
        repo: &Repository,
        ctx: &StageContext,
        remote: &str,
        keep: bool,
        env: &Env,
        run: Option<&RunLock>,
    ) -> Result<Option<Carried>> {
        let record = Record::of(repo, ctx)?;
        let held = match run {
            Some(run) => run.held(),
            None => record.read_for(None)?,
        };
        let Some(held) = held.filter(|h| h.remote == remote) else {
            return Ok(None);
        };
        let Ok(ours) = Oid::from_str(&held.commit) else {
            return Ok(None);
        };
        let next = match keep {
            false => None,
            true => {
                let renewed = repo
                    .find_commit(ours)
                    .ok()
                    .and_then(|c| c.message().ok().and_then(Holder::parse))
                    .map_or_else(
                        || Holder::this_process(ctx, env, DEFAULT_TTL, None),
                        |h| h.renewed(),
                    );
                Some(write_lock_commit(repo, &renewed, env)?)
            }
        };
        Ok(Some(Carried {
            lock_ref: held.lock_ref,
            ours,
            next,
            record,
            remote: held.remote,
            run: run.cloned(),
        }))
    }

    /// The lock ref's update in the push.
    pub fn update(&self) -> RefUpdate {
        RefUpdate {
            dst: self.lock_ref.clone(),
            new: self.next,
            expected: Some(self.ours),
        }
    }

    /// After the push landed: the checkout (and the run) forgets a
    /// released lock, or remembers the renewed one.
    pub fn settle(&self) -> Result<()> {
        match self.next {
            None => self
                .record
                .remove_commit(&self.ours.to_string(), self.run.as_ref()),
            Some(next) => {
                let held = Held {
                    lock_ref: self.lock_ref.clone(),
                    commit: next.to_string(),
                    remote: self.remote.clone(),
                    run: None,
                };
                self.record.write(held, self.run.as_ref())
            }
        }
    }

    /// Pushes the lock's update alone (a commit with nothing to save):
    /// `false` when the remote no longer holds our lock commit.
    pub fn push_alone(&self, remote: &Remote<'_>) -> Result<bool> {
        let pushed = remote.push_leased(&[self.update()], false)?;
        let ok = pushed.status(&self.lock_ref).is_some_and(|r| r.ok);
        if ok || self.next.is_none() {
            self.settle()?;
        }
        Ok(ok)
    }
}

/// The local ref a fetched lock is kept in.
fn seen_ref(lock_ref: &str) -> String {
    format!(
        "{SEEN_PREFIX}/{}",
        lock_ref.strip_prefix("refs/").unwrap_or(lock_ref)
    )
}

/// Runs `work` on the lock of the stage `common` names.
fn with_stage_lock<T>(
    common: &CommonOptions,
    remote: &Option<String>,
    prefix: &Option<String>,
    env: &Env,
    work: impl FnOnce(&StageLock<'_>) -> Result<T>,
) -> Result<T> {
    let ctx = project::resolve(common, env)?;
    let repo = gitx::discover(&ctx.project_root)?;
    work(&StageLock::open(
        &ctx,
        &repo,
        env,
        remote,
        prefix,
        common.caller,
    )?)
}

/// Takes the stage's lock (see [`StageLock::acquire`]).
pub fn lock(
    options: &LockOptions,
    env: &Env,
    progress: &mut dyn FnMut(&str),
) -> Result<LockReport> {
    with_stage_lock(
        &options.common,
        &options.remote,
        &options.lock.prefix,
        env,
        |lock| lock.take(&options.lock, env, progress),
    )
}

/// Releases the stage's lock (see [`StageLock::release`]).
pub fn unlock(options: &UnlockOptions, env: &Env) -> Result<UnlockReport> {
    with_stage_lock(
        &options.common,
        &options.remote,
        &options.prefix,
        env,
        |lock| lock.release(options.force),
    )
}

/// Every lock under the prefix on the remote, with holder and age.
pub fn list(options: &ListOptions, env: &Env) -> Result<Vec<LockInfo>> {
    let location = project::resolve_location(&options.common, env)?;
    let repo = gitx::discover(&location.project_root)?;
    let prefix = resolve_prefix(
        &options.prefix,
        env,
        &location.settings,
        options.common.caller,
    )?;
    let remote = Remote::open(
        &repo,
        &project::remote_name(&options.remote, env, &location.settings),
        env,
    )?;
    let pattern = format!("{prefix}/*");
    let refs = remote.ls_remote(&pattern)?;
    if !refs.is_empty() {
        remote.fetch_refs(&pattern, &format!("{}/*", seen_ref(&prefix)))?;
    }
    let now = SystemTime::now();
    Ok(refs
        .into_iter()
        .map(|(name, oid)| match repo.find_commit(oid) {
            Ok(commit) => LockInfo::read(&name, &commit, now),
            Err(_) => LockInfo {
                lock_ref: name,
                commit: oid.to_string(),
                holder: None,
                age_seconds: None,
                expired: false,
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> Holder {
        Holder {
            app: "demo-app".into(),
            stage: "dev".into(),
            host: "runner-1".into(),
            user: "ci".into(),
            pid: 42,
            command: "sst-local-state run -- sst deploy".into(),
            ci: Some("github-actions".into()),
            run_id: Some("77".into()),
            run_url: Some("https://github.com/o/r/actions/runs/77".into()),
            created: "2026-01-01T00:00:00Z".into(),
            expires: "2026-01-01T01:00:00Z".into(),
            ttl_seconds: 3600,
            nonce: "00ff".into(),
        }
    }

    #[test]
    fn holder_round_trips_through_the_commit_message() {
        let h = holder();
        let message = h.message();
        assert!(message.starts_with("sst-local-state lock: demo-app/dev [skip ci]\n\n"));
        assert!(message.contains("\nLock-CI-Run: https://github.com/o/r/actions/runs/77\n"));
        assert_eq!(Holder::parse(&message), Some(h.clone()));
        let outside_ci = Holder {
            ci: None,
            run_id: None,
            run_url: None,
            ..h.clone()
        };
        assert_eq!(Holder::parse(&outside_ci.message()), Some(outside_ci));
        assert_eq!(Holder::parse("chore: something else\n"), None);
        // without Lock-Ttl (or with a bad one) the ttl is expires - created
        let without: String = h
            .message()
            .lines()
            .filter(|l| !l.starts_with("Lock-Ttl"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(Holder::parse(&without).unwrap().ttl_seconds, 3600);
        let renewed = h.renewed();
        assert_eq!(
            (renewed.created.as_str(), renewed.ttl_seconds),
            ("2026-01-01T00:00:00Z", 3600)
        );
        assert_ne!(renewed.nonce, h.nonce);
    }

    #[test]
    fn age_expiry_and_description() {
        let h = holder();
        let at = humantime::parse_rfc3339("2026-01-01T00:30:00Z").unwrap();
        assert_eq!(h.age(at), Some(Duration::from_secs(1800)));
        assert!(!h.expired(at));
        assert!(h.expired(humantime::parse_rfc3339("2026-01-01T01:00:00Z").unwrap()));
        assert_eq!(
            h.describe(),
            "ci@runner-1 (pid 42, `sst-local-state run -- sst deploy`, github-actions run 77)"
        );
    }

    #[test]
    fn a_newline_in_a_value_forges_no_trailer() {
        let forged = Holder {
            run_id: Some("42\nLock-Expires: 2000-01-01T00:00:00Z".into()),
            command: "deploy\r\nLock-Ttl: 1".into(),
            ..holder()
        };
        let message = forged.message();
        assert!(!message.contains("\nLock-Expires: 2000"), "{message}");
        let parsed = Holder::parse(&message).unwrap();
        assert_eq!(parsed.expires, "2026-01-01T01:00:00Z");
        assert_eq!(parsed.ttl_seconds, 3600);
        assert_eq!(
            parsed.run_id.as_deref(),
            Some("42 Lock-Expires: 2000-01-01T00:00:00Z")
        );
        // a message an older version wrote with the line smuggled in: the
        // real expiry comes later and wins
        let old = holder().message().replace(
            "Lock-CI-Run-Id: 77",
            "Lock-CI-Run-Id: 77\nLock-Expires: 2000-01-01T00:00:00Z",
        );
        assert_eq!(Holder::parse(&old).unwrap().expires, "2026-01-01T01:00:00Z");
    }

    #[test]
    fn a_recorded_command_is_the_program_and_its_subcommand_never_its_arguments() {
        let rec =
            |line: &str| recorded_command(&line.split(' ').map(str::to_string).collect::<Vec<_>>());
        assert_eq!(rec("npx sst deploy --stage prod"), "npx sst deploy …");
        assert_eq!(
            rec("npx sst secret set StripeKey sk_live_123"),
            "npx sst secret set …"
        );
        assert_eq!(rec("sst secret set stripekey hunter2"), "sst secret set …");
        assert_eq!(rec("/usr/local/bin/sst deploy"), "sst deploy");
        assert_eq!(
            rec("/usr/bin/node /x/node_modules/sst-local-state/cli.js lock --stage prod"),
            "node cli.js lock …"
        );
        assert_eq!(rec("sh -c echo"), "sh …");
        assert_eq!(rec("npm run deploy:prod"), "npm run deploy:prod");
        assert_eq!(rec("make"), "make");
        assert_eq!(recorded_command(&[]), "");
    }

    #[test]
    fn ttls_and_timeouts_are_bounded() {
        let check = |ttl, timeout| {
            LockRequest {
                ttl,
                timeout,
                ..LockRequest::default()
            }
            .check(Caller::Cli)
        };
        assert!(check(Some(MIN_TTL), Some(MAX_TIMEOUT)).is_ok());
        assert!(check(Some(MAX_TTL), Some(Duration::ZERO)).is_ok());
        assert!(check(None, None).is_ok());
        let e = check(Some(Duration::ZERO), None).unwrap_err();
        assert_eq!(e.code(), "INVALID_OPTION");
        assert!(e.to_string().starts_with("invalid --lock-ttl: 0s: "), "{e}");
        let e = check(None, Some(MAX_TIMEOUT + Duration::from_secs(1))).unwrap_err();
        assert!(e.to_string().starts_with("invalid --lock-timeout: "), "{e}");
        // a lock commit's own ttl is clamped on renewal
        let huge = Holder {
            ttl_seconds: u64::MAX,
            ..holder()
        };
        assert_eq!(huge.renewed().ttl_seconds, MAX_TTL.as_secs());
    }

    #[test]
    fn one_line_strips_control_characters_and_truncates() {
        assert_eq!(one_line("a\nb\tc"), "a b c");
        assert_eq!(one_line(&"x".repeat(300)).chars().count(), 201);
    }

    #[test]
    fn prefixes() {
        let env = Env::from_pairs(&[]);
        let settings = PackageSettings::default();
        assert_eq!(
            resolve_prefix(&None, &env, &settings, Caller::Cli).unwrap(),
            DEFAULT_PREFIX
        );
        let env = Env::from_pairs(&[(PREFIX_ENV, "refs/heads/locks/")]);
        assert_eq!(
            resolve_prefix(&None, &env, &settings, Caller::Cli).unwrap(),
            "refs/heads/locks"
        );
        let e = resolve_prefix(&Some("heads/x".into()), &env, &settings, Caller::Cli).unwrap_err();
        assert_eq!(e.code(), "INVALID_OPTION");
        assert!(e.to_string().contains("--lock-ref-prefix"), "{e}");
        let settings = PackageSettings {
            lock_prefix: Some("refs/heads/a b".into()),
            ..PackageSettings::default()
        };
        let e = resolve_prefix(&None, &Env::from_pairs(&[]), &settings, Caller::Js).unwrap_err();
        assert!(e.to_string().contains("package.json"), "{e}");
        assert_eq!(
            seen_ref("refs/heads/x/a/b"),
            "refs/sst-local-state/seen/heads/x/a/b"
        );
    }
}
