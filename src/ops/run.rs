//! `run`: one deploy of a stage from start to end under the stage lock:
//! lock and prepare (from the branch's newest state), the command (its
//! stdio inherited, SIGINT/SIGTERM sent to this process forwarded to it),
//! then commit ALWAYS, also after a failed command (a failed deploy still
//! changed real resources, and SST's partial state must be kept), with the
//! command's exit code in the trailers; the commit's push releases the lock.
//! While the command runs, the lock is renewed every third of its ttl.
//!
//! One configuration serves the whole run: the options are given once
//! ([`RunOptions`]), and the stage, the remote and the branch are resolved
//! once, before the lock is taken ([`RunConfig`]); prepare, the lock
//! heartbeat and commit all read them, so a command that edits
//! `sst.config.ts` or `package.json` changes nothing of the run.

use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::git::gitx;
use crate::git::remote::Remote;
use crate::ops::commit::{commit_with_context, CommitOptions, CommitReport};
use crate::ops::lock::{self, LockRequest, RunLock};
use crate::ops::prepare::{prepare_with_context, PrepareOptions, PrepareReport};
use crate::sst::lock::{read_sst_lock, SstLock};
use crate::stage::layout;
use crate::stage::project::{self, CommonOptions, StageContext};

mod program;

/// Options of [`run`]: given once, for its prepare, its lock and its commit.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stage, app, paths, passphrase mode.
    pub common: CommonOptions,
    /// The branch the state is prepared from and committed to; else env,
    /// `package.json`, CI variables, the checked-out branch.
    pub branch: Option<String>,
    /// The remote holding the lock and the branch; else env
    /// `SST_LOCAL_STATE_REMOTE`, `package.json`, `origin`.
    pub remote: Option<String>,
    /// The commit message template (as for commit).
    pub message: Option<String>,
    /// How to take the lock (always taken).
    pub lock: LockRequest,
    /// Whether a new stage may be deployed (as for prepare).
    pub allow_new_stage: Option<bool>,
    /// The command and its arguments.
    pub command: Vec<String>,
}

/// One run's configuration, resolved once: the stage, the remote and the
/// branch that its prepare, its lock heartbeat and its commit all use,
/// and the lock, this run's alone while it runs (not the checkout's: a
/// second `run` there does not use it).
struct RunConfig<'o> {
    /// What was given.
    options: &'o RunOptions,
    /// The stage, resolved once for the whole run.
    ctx: StageContext,
    /// The remote's name.
    remote: String,
    /// The branch.
    branch: String,
    /// How the lock is taken, recording the command as `shown`.
    lock: LockRequest,
    /// The run the lock is taken for.
    run: RunLock,
}

impl<'o> RunConfig<'o> {
    /// Resolves the stage, the remote and the branch of `options` (the
    /// errors of a prepare or commit that could not resolve them: before
    /// anything is locked or run).
    fn resolve(options: &'o RunOptions, shown: &str, env: &Env) -> Result<Self> {
        let ctx = project::resolve(&options.common, env)?;
        let repo = gitx::discover(&ctx.project_root)?;
        let caller = options.common.caller;
        // state-branch mode: the state branch is the one prepared from and committed to
        let branch = match &ctx.state_branch {
            Some(state_branch) => state_branch.clone(),
            None => project::pick_branch(&options.branch, caller, &ctx.settings, env, &repo)?,
        };
        let remote = project::remote_name(&options.remote, env, &ctx.settings);
        let run = RunLock::new();
        let lock = LockRequest {
            command: Some(options.lock.command.clone().unwrap_or_else(|| shown.into())),
            run: Some(run.clone()),
            ..options.lock.clone()
        };
        Ok(RunConfig {
            options,
            ctx,
            remote,
            branch,
            lock,
            run,
        })
    }

    /// What prepare is given: the lock always taken.
    fn prepare_options(&self) -> PrepareOptions {
        PrepareOptions {
            common: self.options.common.clone(),
            lock: Some(self.lock.clone()),
            branch: Some(self.branch.clone()),
            remote: Some(self.remote.clone()),
            allow_new_stage: self.options.allow_new_stage,
            ..PrepareOptions::default()
        }
    }

    /// What commit is given: pushed, the run's lock released with it.
    fn commit_options(&self, trailers: Vec<String>) -> CommitOptions {
        CommitOptions {
            common: self.options.common.clone(),
            message: self.options.message.clone(),
            branch: Some(self.branch.clone()),
            remote: Some(self.remote.clone()),
            trailers,
            run_lock: Some(self.run.clone()),
            ..CommitOptions::default()
        }
    }
}

/// The result of [`run`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// What prepare did (with the lock it took).
    pub prepare: PrepareReport,
    /// The command's exit code (128 + the signal when a signal ended it,
    /// 127 when it could not be started).
    pub exit_code: i32,
    /// The signal that ended the command.
    pub signal: Option<i32>,
    /// SST's own lock, when the command left it in the config dir (a crashed deploy).
    pub sst_lock: Option<SstLock>,
    /// What commit did (it released the lock).
    pub commit: CommitReport,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// Runs `options.command` between a locked prepare and a commit that
/// always runs; `say` hears each step. A failed command is no error: its
/// code is in the report. A failed commit is (and the lock then stays held
/// unless the state is safe on a rescue branch, so no other run deploys
/// from the older state: commit again, which releases it). The lock is
/// this run's while it runs; once it has ended, a lock it left is the
/// checkout's. Messages and the lock show the command as
/// [`lock::recorded_command`] does: never its arguments.
pub fn run(options: &RunOptions, env: &Env, say: &mut dyn FnMut(&str)) -> Result<RunReport> {
    let started = Instant::now();
    let Some(program) = options.command.first() else {
        return Err(Error::Usage("run needs a command after `--`".into()));
    };
    let shown = lock::recorded_command(&options.command);
    let config = RunConfig::resolve(options, &shown, env)?;
    let prepared = locked_prepare(&config, env, say)?;
    let exit = run_renewing_lock(program, &shown, &config, env, say);
    let left = sst_lock_left(&config.ctx, exit, say);
    say(&format!(
        "the command exited with {}; saving the state",
        exit.code
    ));
    let commit = save_state(&config, left.trailers, exit, env, say)?;
    Ok(RunReport {
        prepare: prepared,
        exit_code: exit.code,
        signal: exit.signal,
        sst_lock: left.sst_lock,
        commit,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// How the command ended.
#[derive(Debug, Clone, Copy)]
struct Exit {
    /// Its exit code (128 + the signal; 127 when it could not be started).
    code: i32,
    /// The signal that ended it.
    signal: Option<i32>,
}

/// Prepares under the stage lock and says what it took and restored.
fn locked_prepare(
    config: &RunConfig<'_>,
    env: &Env,
    say: &mut dyn FnMut(&str),
) -> Result<PrepareReport> {
    let prepared = prepare_with_context(&config.prepare_options(), config.ctx.clone(), env)?;
    if let Some(taken) = &prepared.lock {
        if let Some(broke) = &taken.broke {
            say(&format!("broke the expired lock of {}", broke.describe()));
        }
        say(&format!(
            "locked {}/{} ({}); prepared {}",
            taken.app,
            taken.stage,
            taken.lock_ref,
            prepared
                .checkpoint
                .map_or("a first deploy".to_string(), |c| format!(
                    "{} resources",
                    c.resources
                ))
        ));
    }
    Ok(prepared)
}

/// Runs the command while a [`Heartbeat`] renews the stage lock; says when
/// it cannot be started and when the lock was lost meanwhile.
fn run_renewing_lock(
    program: &str,
    shown: &str,
    config: &RunConfig<'_>,
    env: &Env,
    say: &mut dyn FnMut(&str),
) -> Exit {
    let ttl = config.lock.ttl.unwrap_or(lock::DEFAULT_TTL);
    let heartbeat = Heartbeat::start(
        config.ctx.clone(),
        config.remote.clone(),
        env.clone(),
        (ttl / 3).max(Duration::from_millis(500)),
        config.run.clone(),
    );
    say(&format!("running `{shown}`"));
    let exit = match run_command(program, &config.options.command[1..], config.options) {
        Ok(status) => exit_of(status),
        Err(e) => {
            say(&format!("cannot run `{program}`: {e}"));
            Exit {
                code: 127,
                signal: None,
            }
        }
    };
    if let Some(problem) = heartbeat.stop() {
        say(&problem);
    }
    exit
}

/// What the command left for the state commit.
struct Left {
    /// SST's own lock, when the command left it in the config dir.
    sst_lock: Option<SstLock>,
    /// The commit's trailers: the exit code, and SST's lock if left.
    trailers: Vec<String>,
}

/// The state commit's trailers for `exit`, and SST's lock when the command
/// left it (said: the deploy did not finish cleanly).
fn sst_lock_left(ctx: &StageContext, exit: Exit, say: &mut dyn FnMut(&str)) -> Left {
    let sst_lock = read_sst_lock(&layout::sst_lock_path(ctx));
    let mut trailers = vec![format!("Run-Exit-Code: {}", exit.code)];
    if let Some(l) = &sst_lock {
        say(&format!(
            "SST left its lock {} (`{}` since {}): the deploy did not finish cleanly; its state is saved as SST left it",
            l.path, l.command, l.created
        ));
        trailers.push(format!("SST-Lock-Left: {} since {}", l.command, l.created));
    }
    Left { sst_lock, trailers }
}

/// Commits the state (pushed, releasing the lock) with `trailers`. When
/// that fails, the lock is released only if the state is safe on a rescue
/// branch; `say` tells which.
fn save_state(
    config: &RunConfig<'_>,
    trailers: Vec<String>,
    exit: Exit,
    env: &Env,
    say: &mut dyn FnMut(&str),
) -> Result<CommitReport> {
    let options = config.commit_options(trailers);
    commit_with_context(&options, config.ctx.clone(), env).inspect_err(|error| {
        if error.details().contains_key("rescueBranch") {
            let _ = push_run_lock(&config.ctx, &config.remote, env, &config.run, false);
        } else {
            say("the stage lock stays held, so no other run deploys from the older state: fix the cause and run `sst-local-state commit` here (it saves the state and releases the lock), or `sst-local-state unlock` once the state is dealt with");
        }
        say(&format!(
            "the command exited with {}; saving its state failed",
            exit.code
        ));
    })
}

/// Renews the stage lock every `every` (a third of its ttl) while the
/// command runs, so a deploy longer than the ttl keeps it, and the lock of
/// a killed run expires one ttl after its last renewal. Each renewal is a
/// compare-and-swap against the lock commit this checkout holds.
struct Heartbeat {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Option<String>>,
}

/// Renews (`keep`) or releases the stage lock `run` holds, in a push of
/// its own: `false` when the remote no longer holds it (or the run holds none).
fn push_run_lock(
    ctx: &StageContext,
    remote: &str,
    env: &Env,
    run: &RunLock,
    keep: bool,
) -> Result<bool> {
    let repo = gitx::discover(&ctx.project_root)?;
    let Some(carried) = lock::Carried::held(&repo, ctx, remote, keep, env, Some(run))? else {
        return Ok(false);
    };
    carried.push_alone(&Remote::open(&repo, remote, env)?)
}

impl Heartbeat {
    fn start(
        ctx: StageContext,
        remote: String,
        env: Env,
        every: Duration,
        run: RunLock,
    ) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || loop {
            if stopped.recv_timeout(every) != Err(mpsc::RecvTimeoutError::Timeout) {
                return None;
            }
            match push_run_lock(&ctx, &remote, &env, &run, true) {
                Ok(true) => {}
                Ok(false) => return Some("the stage lock could not be renewed: it is no longer this run's (someone ran `unlock --force`?); saving the state will say LOCK_LOST".into()),
                // a network hiccup: the next beat tries again
                Err(_) => {}
            }
        });
        Heartbeat { stop, thread }
    }

    /// Stops renewing; what went wrong, if the lock was lost.
    fn stop(self) -> Option<String> {
        let _ = self.stop.send(());
        self.thread.join().ok().flatten()
    }
}

/// Runs the command with this process's stdin, stdout and stderr,
/// forwarding SIGINT and SIGTERM.
fn run_command(
    program: &str,
    args: &[String],
    options: &RunOptions,
) -> std::io::Result<ExitStatus> {
    let cwd = options.common.cwd.as_deref().map(|c| c.as_std_path());
    let mut command = Command::new(program::resolve(program, cwd));
    command.args(args);
    let [stdin, stdout, stderr] = stdio::passed_on();
    command.stdin(stdin).stdout(stdout).stderr(stderr);
    if let Some(cwd) = &options.common.cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn()?;
    let _forwarding = signals::Forward::to(child.id());
    child.wait()
}

/// The exit code of `status` (128 + the signal), and the signal.
fn exit_of(status: ExitStatus) -> Exit {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Exit {
                code: 128 + signal,
                signal: Some(signal),
            };
        }
    }
    Exit {
        code: status.code().unwrap_or(1),
        signal: None,
    }
}

mod stdio {
    //! The command gets this process's stdin, stdout and stderr. Node marks
    //! fds 0-2 close-on-exec at start-up, so `Stdio::inherit()` would start
    //! the command with all three closed; each is passed on as a duplicate
    //! instead, which the child's `dup2` onto 0, 1, 2 makes inheritable.

    use std::process::Stdio;

    /// stdin, stdout and stderr for the command: a duplicate of ours when
    /// it is open, else `Stdio::null()` (a closed one stays unusable).
    #[cfg(unix)]
    pub fn passed_on() -> [Stdio; 3] {
        use std::os::fd::AsFd;
        let dup = |fd: std::os::fd::BorrowedFd<'_>| {
            fd.try_clone_to_owned()
                .map_or_else(|_| Stdio::null(), Stdio::from)
        };
        [
            dup(std::io::stdin().as_fd()),
            dup(std::io::stdout().as_fd()),
            dup(std::io::stderr().as_fd()),
        ]
    }

    /// Elsewhere standard handles are inherited as they are.
    #[cfg(not(unix))]
    pub fn passed_on() -> [Stdio; 3] {
        [Stdio::inherit(), Stdio::inherit(), Stdio::inherit()]
    }
}

#[cfg(unix)]
mod signals {
    //! SIGINT and SIGTERM sent to this process (by a CI runner, `kill`)
    //! go on to every command a `run` in it is running: one process may run
    //! several at once (overlapping `runStage()` calls). One handler is
    //! installed while any command runs, and the handlers it replaced are
    //! restored when the last one ends, whatever the order they end in.
    //! The commands' pids sit in a fixed table of atomics, which the handler
    //! reads without locking (async-signal-safe). A signal the terminal sent
    //! its foreground group reached the commands already and is not sent
    //! twice.

    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::{Mutex, PoisonError};

    /// Commands forwarded to at once; a run past that many is not forwarded to.
    const SLOTS: usize = 64;
    static CHILDREN: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
    const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

    /// How many commands are forwarded to, and the handlers ours replaced.
    struct Installed {
        count: usize,
        previous: Vec<(libc::c_int, libc::sigaction)>,
    }

    static INSTALLED: Mutex<Installed> = Mutex::new(Installed {
        count: 0,
        previous: Vec::new(),
    });

    extern "C" fn forward(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        _context: *mut libc::c_void,
    ) {
        // SI_USER (kill), SI_QUEUE, SI_TKILL are <= 0; the terminal's is SI_KERNEL
        // SAFETY: the kernel hands a valid siginfo_t with SA_SIGINFO.
        let from_a_process = info.is_null() || unsafe { (*info).si_code } <= 0;
        if !from_a_process {
            return;
        }
        for slot in &CHILDREN {
            let pid = slot.load(Ordering::SeqCst);
            if pid > 0 {
                // SAFETY: kill is async-signal-safe.
                unsafe {
                    libc::kill(pid, signal);
                }
            }
        }
    }

    /// Forwarding to one command while alive.
    pub struct Forward {
        slot: Option<usize>,
    }

    impl Forward {
        /// Forwards SIGINT and SIGTERM to process `pid` (also) until dropped.
        pub fn to(pid: u32) -> Forward {
            let pid = i32::try_from(pid).unwrap_or(0);
            let slot = (pid > 0)
                .then(|| {
                    CHILDREN.iter().position(|s| {
                        s.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                    })
                })
                .flatten();
            let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
            if installed.count == 0 {
                installed.previous = install();
            }
            installed.count += 1;
            Forward { slot }
        }
    }

    impl Drop for Forward {
        fn drop(&mut self) {
            if let Some(slot) = self.slot {
                CHILDREN[slot].store(0, Ordering::SeqCst);
            }
            let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
            installed.count = installed.count.saturating_sub(1);
            if installed.count == 0 {
                for (signal, old) in installed.previous.drain(..) {
                    // SAFETY: restores the action sigaction returned.
                    unsafe {
                        libc::sigaction(signal, &old, std::ptr::null_mut());
                    }
                }
            }
        }
    }

    /// Installs [`forward`] for SIGINT and SIGTERM; the actions it replaced.
    fn install() -> Vec<(libc::c_int, libc::sigaction)> {
        let mut previous = Vec::new();
        for signal in SIGNALS {
            // SAFETY: plain sigaction calls with zero-initialised structs.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = forward as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut old) == 0 {
                    previous.push((signal, old));
                }
            }
        }
        previous
    }
}

#[cfg(not(unix))]
mod signals {
    //! Elsewhere the console sends Ctrl-C to the command itself.

    /// Nothing to forward.
    pub struct Forward;

    impl Forward {
        /// Nothing to install.
        pub fn to(_pid: u32) -> Forward {
            Forward
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project (`sst.config.ts`, a `package.json` naming a remote and a
    /// branch) in a fresh git repository.
    fn project() -> (tempfile::TempDir, camino::Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = camino::Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
        let config = r#"export default $config({ app() { return { name: "demo", home: "local" }; }, async run() {} });"#;
        std::fs::write(root.join("sst.config.ts"), config).unwrap();
        let settings = r#"{ "sstLocalState": { "remote": "backup", "branch": "deploy" } }"#;
        std::fs::write(root.join("package.json"), settings).unwrap();
        git2::Repository::init(&root).unwrap();
        (dir, root)
    }

    fn options(root: &camino::Utf8Path) -> RunOptions {
        RunOptions {
            common: CommonOptions {
                stage: Some("dev".into()),
                cwd: Some(root.to_path_buf()),
                config_dir: Some(root.join("sst-config")),
                ..CommonOptions::default()
            },
            command: vec!["true".into()],
            ..RunOptions::default()
        }
    }

    /// The remote and branch prepare, the heartbeat (`config.remote`) and
    /// commit use, and whether prepare's lock and commit's are the run's.
    fn used(config: &RunConfig<'_>) -> [(Option<String>, Option<String>, bool); 3] {
        let prepare = config.prepare_options();
        let commit = config.commit_options(Vec::new());
        let heartbeat = Some(config.remote.clone());
        let run_lock = prepare.lock.as_ref().is_some_and(|l| l.run.is_some());
        [
            (prepare.remote, prepare.branch, run_lock),
            (heartbeat, Some(config.branch.clone()), true),
            (commit.remote, commit.branch, commit.run_lock.is_some()),
        ]
    }

    #[test]
    fn one_configuration_gives_prepare_the_heartbeat_and_commit_one_remote_and_branch() {
        let (_dir, root) = project();
        let env = Env::from_pairs(&[]);
        let given = options(&root);
        let config = RunConfig::resolve(&given, "true", &env).unwrap();
        let from_settings = (Some("backup".to_string()), Some("deploy".to_string()), true);
        assert_eq!(used(&config), [(); 3].map(|()| from_settings.clone()));
        assert_eq!(config.ctx.app.as_str(), "demo");
        assert_eq!(config.lock.command.as_deref(), Some("true"));

        let given = RunOptions {
            remote: Some("origin".into()),
            branch: Some("refs/heads/main".into()),
            ..options(&root)
        };
        let config = RunConfig::resolve(&given, "true", &env).unwrap();
        let explicit = (Some("origin".to_string()), Some("main".to_string()), true);
        assert_eq!(used(&config), [(); 3].map(|()| explicit.clone()));
    }

    #[test]
    fn a_branch_that_cannot_be_resolved_stops_the_run_before_anything_is_locked() {
        let (_dir, root) = project();
        let env = Env::from_pairs(&[]);
        let given = RunOptions {
            branch: Some("a..b".into()),
            ..options(&root)
        };
        let e = RunConfig::resolve(&given, "true", &env).err().unwrap();
        assert_eq!(e.code(), "INVALID_OPTION");
        assert!(e.to_string().contains("options.branch"), "{e}");
    }
}
