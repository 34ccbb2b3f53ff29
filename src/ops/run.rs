//! `run`: one deploy of a stage from start to end under the stage lock:
//! lock and prepare (from the branch's newest state), the command (its
//! stdio inherited, SIGINT/SIGTERM sent to this process forwarded to it),
//! then commit ALWAYS, also after a failed command (a failed deploy still
//! changed real resources, and SST's partial state must be kept), with the
//! command's exit code in the trailers; the commit's push releases the lock.
//! While the command runs, the lock is renewed every third of its ttl.

use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::git::gitx;
use crate::git::remote::Remote;
use crate::ops::commit::{commit, CommitOptions, CommitReport};
use crate::ops::lock::{self, LockRequest, RunLock};
use crate::ops::prepare::{prepare, PrepareOptions, PrepareReport};
use crate::sst::lock::{read_sst_lock, SstLock};
use crate::stage::layout;
use crate::stage::project::{self, StageContext};

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// How to prepare (stage, paths, branch, remote); the lock is always taken.
    pub prepare: PrepareOptions,
    /// How to commit (message, branch, remote).
    pub commit: CommitOptions,
    /// How to take the lock.
    pub lock: LockRequest,
    /// The command and its arguments.
    pub command: Vec<String>,
}

impl RunOptions {
    /// These options with the stage lock taken, renewed and released as
    /// `run`'s alone (not the checkout's: a second `run` there does not
    /// use it).
    fn for_run(&self, run: &RunLock) -> RunOptions {
        let mut options = self.clone();
        options.lock.run = Some(run.clone());
        options.commit.run_lock = Some(run.clone());
        options
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
    let run_lock = RunLock::new();
    let options = &options.for_run(&run_lock);
    let prepared = locked_prepare(options, &shown, env, say)?;
    let ctx = project::resolve(&options.prepare.common, env)?;
    let exit = run_renewing_lock(program, &shown, options, &ctx, env, say);
    let left = sst_lock_left(&ctx, exit, say);
    say(&format!(
        "the command exited with {}; saving the state",
        exit.code
    ));
    let commit = save_state(options, &ctx, left.trailers, exit, env, say)?;
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

/// Prepares under the stage lock (taken for `shown`, the command line) and
/// says what it took and restored.
fn locked_prepare(
    options: &RunOptions,
    shown: &str,
    env: &Env,
    say: &mut dyn FnMut(&str),
) -> Result<PrepareReport> {
    let prepare_options = PrepareOptions {
        lock: Some(LockRequest {
            command: Some(
                options
                    .lock
                    .command
                    .clone()
                    .unwrap_or_else(|| shown.to_string()),
            ),
            ..options.lock.clone()
        }),
        ..options.prepare.clone()
    };
    let prepared = prepare(&prepare_options, env)?;
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
    options: &RunOptions,
    ctx: &StageContext,
    env: &Env,
    say: &mut dyn FnMut(&str),
) -> Exit {
    let ttl = options.lock.ttl.unwrap_or(lock::DEFAULT_TTL);
    let heartbeat = Heartbeat::start(
        ctx.clone(),
        project::remote_name(&options.prepare.remote, env, &ctx.settings),
        env.clone(),
        (ttl / 3).max(Duration::from_millis(500)),
        options.lock.run.clone().unwrap_or_default(),
    );
    say(&format!("running `{shown}`"));
    let exit = match run_command(program, &options.command[1..], options) {
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
    options: &RunOptions,
    ctx: &StageContext,
    trailers: Vec<String>,
    exit: Exit,
    env: &Env,
    say: &mut dyn FnMut(&str),
) -> Result<CommitReport> {
    let commit_options = CommitOptions {
        common: options.prepare.common.clone(),
        trailers,
        keep_lock: false,
        no_push: false,
        dry_run: false,
        ..options.commit.clone()
    };
    commit(&commit_options, env).inspect_err(|error| {
        let safe_elsewhere = error.details().contains_key("rescueBranch");
        if let (true, Some(run)) = (safe_elsewhere, &options.lock.run) {
            let remote = project::remote_name(&options.prepare.remote, env, &ctx.settings);
            let _ = push_run_lock(ctx, &remote, env, run, false);
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
    let mut command = Command::new(program);
    command.args(args);
    let [stdin, stdout, stderr] = stdio::passed_on();
    command.stdin(stdin).stdout(stdout).stderr(stderr);
    if let Some(cwd) = &options.prepare.common.cwd {
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
