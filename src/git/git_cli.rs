//! Fetch and push through the `git` command-line tool, so they behave
//! exactly as `git fetch` / `git push` in the same checkout: the user's ssh
//! configuration (`~/.ssh/config`, `GIT_SSH_COMMAND`, `core.sshCommand`,
//! agents, certificates, security keys), credential helpers,
//! `http.extraheader`, `insteadOf`, redirects handled by git's own rules,
//! and path remotes that run the receiving repository's hooks. git2 keeps
//! everything local (objects, trees, commits, refs, index).
//!
//! Never prompts (no terminal prompt, no askpass, ssh `BatchMode` unless the
//! user configured their own ssh command), never hangs (a time limit kills
//! git and everything it started), skips the user's client hooks
//! (`--no-verify`) but never the server's, updates refs by compare-and-swap
//! (`--force-with-lease=<ref>:<expected>`), and reads each ref's status from
//! `--porcelain` output. Tokens never appear on a command line: the
//! explicit token reaches git through a credential helper that reads it
//! from the environment and answers only for the remote's own origin.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git2::Oid;

use crate::env::Env;

#[cfg(windows)]
mod job;

/// Env variable: the `git` to run (a path), or `none` to use the built-in
/// libgit2 transport (HTTPS only) even where git is installed.
pub const GIT_ENV: &str = "SST_LOCAL_STATE_GIT";
/// Environment variable holding a token for HTTPS fetches and pushes (git
/// gets it through a credential helper, libgit2 as a credential).
pub const TOKEN_ENV: &str = "SST_LOCAL_STATE_GIT_TOKEN";
/// Env variable: seconds one fetch or push may take (default 300).
pub const TIMEOUT_ENV: &str = "SST_LOCAL_STATE_GIT_TIMEOUT";

/// How a `git` run ended.
#[derive(Debug)]
pub struct Output {
    /// Exit status (None: killed by a signal or the time limit).
    pub status: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Whether the time limit killed it.
    pub timed_out: bool,
}

/// A `git` executable and the environment to run it in.
#[derive(Debug, Clone)]
pub struct GitCli {
    /// The executable.
    pub program: PathBuf,
    /// Variables set on top of the process environment.
    vars: Vec<(String, String)>,
    /// Variables removed from it.
    removed: Vec<&'static str>,
    /// The time limit of one run.
    pub timeout: Duration,
    /// Where it runs: the top of the worktree (of a bare repository, its
    /// git dir), where git itself runs, so a relative path remote
    /// (`../backup.git`) means what it means to git.
    cwd: PathBuf,
}

/// Variables of the calling environment that would point git elsewhere
/// (set when we run inside a git hook, for example).
const REPO_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_QUARANTINE_PATH",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
];

/// Variables that could make git or ssh ask a person for anything.
const PROMPT_VARS: &[&str] = &["GIT_ASKPASS", "SSH_ASKPASS", "DISPLAY", "WAYLAND_DISPLAY"];

impl GitCli {
    /// Finds `git` (env `SST_LOCAL_STATE_GIT`, else `PATH`) to run on the
    /// repository at `git_dir` from `top` (the top of its worktree, or
    /// `git_dir` when bare); `None` when there is none, or
    /// `SST_LOCAL_STATE_GIT=none`.
    pub fn find(env: &Env, git_dir: &Path, top: &Path) -> Option<GitCli> {
        let program = match env.non_empty(GIT_ENV) {
            Some("none") => return None,
            Some(path) => PathBuf::from(path),
            None => {
                let path = env
                    .get("PATH")
                    .map(str::to_string)
                    .or_else(|| std::env::var("PATH").ok())?;
                find_in_path(&path)?
            }
        };
        let timeout = env
            .non_empty(TIMEOUT_ENV)
            .and_then(|v| v.trim().parse().ok())
            .map_or(Duration::from_secs(300), Duration::from_secs);
        // what the caller's environment says (tests and JS pass their own)
        let mut vars: Vec<(String, String)> = [
            "PATH",
            "HOME",
            "XDG_CONFIG_HOME",
            "SSH_AUTH_SOCK",
            "GIT_SSH",
            "GIT_SSH_COMMAND",
            "GIT_SSH_VARIANT",
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_SYSTEM",
            "GIT_CONFIG_NOSYSTEM",
            "GIT_CONFIG_COUNT",
            TOKEN_ENV,
        ]
        .iter()
        .filter_map(|k| Some((k.to_string(), env.get(k)?.to_string())))
        .collect();
        if let Some(count) = env
            .get("GIT_CONFIG_COUNT")
            .and_then(|c| c.parse::<u32>().ok())
        {
            for i in 0..count {
                for key in [
                    format!("GIT_CONFIG_KEY_{i}"),
                    format!("GIT_CONFIG_VALUE_{i}"),
                ] {
                    if let Some(v) = env.get(&key) {
                        vars.push((key, v.to_string()));
                    }
                }
            }
        }
        vars.extend([
            (
                "GIT_DIR".to_string(),
                git_dir.to_string_lossy().into_owned(),
            ),
            ("GIT_TERMINAL_PROMPT".to_string(), "0".to_string()),
            ("GCM_INTERACTIVE".to_string(), "never".to_string()),
            ("SSH_ASKPASS_REQUIRE".to_string(), "never".to_string()),
            ("LC_ALL".to_string(), "C".to_string()),
            ("LANGUAGE".to_string(), "C".to_string()),
        ]);
        let mut removed: Vec<&'static str> = REPO_VARS.iter().skip(1).copied().collect();
        removed.extend(PROMPT_VARS);
        Some(GitCli {
            program,
            vars,
            removed,
            timeout,
            cwd: top.to_path_buf(),
        })
    }

    /// The value of a variable as git will see it.
    fn var(&self, key: &str) -> Option<String> {
        if let Some((_, v)) = self.vars.iter().rev().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        if self.removed.contains(&key) {
            return None;
        }
        std::env::var(key).ok()
    }

    /// Adds `-c key=value` settings through the environment
    /// (`GIT_CONFIG_COUNT`), after any the caller set: never on the command
    /// line, where other processes could read them.
    pub fn with_config(mut self, settings: &[(String, String)]) -> Self {
        let start: usize = self
            .var("GIT_CONFIG_COUNT")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        for (i, (key, value)) in settings.iter().enumerate() {
            self.vars
                .push((format!("GIT_CONFIG_KEY_{}", start + i), key.clone()));
            self.vars
                .push((format!("GIT_CONFIG_VALUE_{}", start + i), value.clone()));
        }
        self.vars.push((
            "GIT_CONFIG_COUNT".to_string(),
            (start + settings.len()).to_string(),
        ));
        self
    }

    /// Whether the user configured how git runs ssh (then we keep it as is).
    pub fn ssh_configured(&self, core_ssh_command: bool) -> bool {
        core_ssh_command || self.var("GIT_SSH_COMMAND").is_some() || self.var("GIT_SSH").is_some()
    }

    /// Sets a variable for the runs.
    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.push((key.to_string(), value.to_string()));
    }

    /// Runs `git <args>` with the time limit; never reads a terminal.
    pub fn run(&self, args: &[&str]) -> std::io::Result<Output> {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for key in REPO_VARS.iter().chain(PROMPT_VARS) {
            command.env_remove(key);
        }
        for key in &self.removed {
            command.env_remove(key);
        }
        for (key, value) in &self.vars {
            command.env(key, value);
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // its own process group, so the time limit can end ssh and
            // git-remote-https too
            command.process_group(0);
        }
        #[cfg(windows)]
        {
            use std::os::windows::process::CommandExt;
            // runs once it is in its Job Object, which the time limit ends
            command.creation_flags(job::START_SUSPENDED);
        }
        let mut child = command.spawn()?;
        #[cfg(windows)]
        let tree = job::Tree::adopt(&mut child);
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let out = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            buf
        });
        let err = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let started = Instant::now();
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() >= self.timeout {
                timed_out = true;
                #[cfg(windows)]
                if let Some(tree) = &tree {
                    tree.kill();
                }
                kill_group(&mut child);
                break child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        Ok(Output {
            status: status.code(),
            stdout: text(out.join().unwrap_or_default()),
            stderr: text(err.join().unwrap_or_default()),
            timed_out,
        })
    }
}

#[cfg(unix)]
fn kill_group(child: &mut std::process::Child) {
    // SAFETY: killpg only sends a signal to the group we created for it.
    unsafe {
        libc::killpg(child.id() as libc::pid_t, libc::SIGKILL);
    }
    let _ = child.kill();
}

/// Elsewhere git's tree is killed through its Job Object (job.rs); this
/// ends git itself should it have none.
#[cfg(not(unix))]
fn kill_group(child: &mut std::process::Child) {
    let _ = child.kill();
}

/// The first `git` executable in `path`.
fn find_in_path(path: &str) -> Option<PathBuf> {
    let name = if cfg!(windows) { "git.exe" } else { "git" };
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// One ref's line of `git push --porcelain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefStatus {
    /// The remote ref.
    pub dst: String,
    /// Whether the remote took it (or already had it).
    pub ok: bool,
    /// `[rejected]`, `[remote rejected]`, ... and the reason in parentheses.
    pub summary: String,
}

/// Parses the ref lines of `git push --porcelain` output
/// (`<flag>\t<src>:<dst>\t<summary>`).
pub fn parse_porcelain(stdout: &str) -> Vec<RefStatus> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let flag = parts.next()?;
            let refs = parts.next()?;
            let summary = parts.next().unwrap_or("").to_string();
            if flag.chars().count() != 1 {
                return None;
            }
            let (_, dst) = refs.split_once(':')?;
            Some(RefStatus {
                dst: dst.to_string(),
                ok: matches!(flag, " " | "+" | "*" | "=" | "-"),
                summary,
            })
        })
        .collect()
}

/// `--force-with-lease=<ref>:<expected>`: the server updates `<ref>` only
/// while it still points at `expected` (`None`: only while it does not exist).
pub fn lease(dst: &str, expected: Option<Oid>) -> String {
    match expected {
        Some(oid) => format!("--force-with-lease={dst}:{oid}"),
        None => format!("--force-with-lease={dst}:"),
    }
}

/// How a failed git run is best described.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The remote could not be reached (worth retrying).
    Network,
    /// Credentials were missing or refused.
    Auth,
    /// The ssh host key is unknown or changed.
    HostKey,
    /// The remote has no such branch (fetch).
    NoSuchRef,
    /// Anything else.
    Other,
}

/// Classifies git's (English, `LC_ALL=C`) stderr.
pub fn classify(stderr: &str) -> Failure {
    let s = stderr.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| s.contains(n));
    if any(&["couldn't find remote ref", "could not find remote ref"]) {
        Failure::NoSuchRef
    } else if any(&[
        "host key verification failed",
        "remote host identification has changed",
        "no ed25519 host key is known",
        "host key for",
    ]) {
        Failure::HostKey
    } else if any(&[
        "authentication failed",
        "permission denied (publickey",
        "permission denied, please try again",
        "could not read username",
        "could not read password",
        "terminal prompts disabled",
        "the requested url returned error: 401",
        "the requested url returned error: 403",
        "invalid username or password",
        "access denied",
        "http basic: access denied",
    ]) {
        Failure::Auth
    } else if any(&[
        "could not resolve host",
        "failed to connect",
        "connection refused",
        "connection timed out",
        "operation timed out",
        "connection reset",
        "early eof",
        "the remote end hung up unexpectedly",
        "rpc failed",
        "the requested url returned error: 5",
        "network is unreachable",
        "ssl_connect",
        "gnutls",
        "unable to access",
        "connection closed by",
        "broken pipe",
    ]) {
        Failure::Network
    } else {
        Failure::Other
    }
}

/// The last lines of git's stderr that say what went wrong (progress lines
/// and blank lines dropped), for an error message.
pub fn summary(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("hint:"))
        .collect();
    let tail = &lines[lines.len().saturating_sub(4)..];
    tail.join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_lines() {
        let out = "To http://127.0.0.1:1/r.git\n \t0123:refs/heads/main\t1111..2222\n!\tabc:refs/heads/x\t[rejected] (stale info)\n!\tabc:refs/heads/y\t[remote rejected] (pre-receive hook declined)\n*\tabc:refs/heads/new\t[new branch]\n=\tabc:refs/heads/same\t[up to date]\nDone\n";
        let refs = parse_porcelain(out);
        assert_eq!(refs.len(), 5);
        assert!(refs[0].ok && refs[0].dst == "refs/heads/main");
        assert!(!refs[1].ok && refs[1].summary.contains("stale info"));
        assert!(!refs[2].ok && refs[2].summary.contains("pre-receive hook declined"));
        assert!(refs[3].ok && refs[4].ok);
    }

    #[test]
    fn leases() {
        let oid = Oid::from_str("0123456789012345678901234567890123456789").unwrap();
        assert_eq!(
            lease("refs/heads/main", Some(oid)),
            "--force-with-lease=refs/heads/main:0123456789012345678901234567890123456789"
        );
        assert_eq!(
            lease("refs/heads/r", None),
            "--force-with-lease=refs/heads/r:"
        );
    }

    #[test]
    fn stderr_classes() {
        assert_eq!(
            classify("fatal: couldn't find remote ref refs/heads/nope"),
            Failure::NoSuchRef
        );
        assert_eq!(
            classify(
                "Host key verification failed.\nfatal: Could not read from remote repository."
            ),
            Failure::HostKey
        );
        assert_eq!(
            classify("git@127.0.0.1: Permission denied (publickey).\nfatal: Could not read from remote repository."),
            Failure::Auth
        );
        assert_eq!(
            classify("fatal: could not read Username for 'http://127.0.0.1:9': terminal prompts disabled"),
            Failure::Auth
        );
        assert_eq!(
            classify("fatal: unable to access 'http://127.0.0.1:44013/r.git/': Failed to connect to 127.0.0.1 port 44013 after 0 ms: Couldn't connect to server"),
            Failure::Network
        );
        assert_eq!(classify("error: something else"), Failure::Other);
        assert_eq!(
            summary("remote: x\nhint: y\n\nfatal: z\n"),
            "remote: x / fatal: z"
        );
    }

    /// A process that outlives the time limit with the pipes still open
    /// (as git-remote-https or ssh under git would) is killed too: the run
    /// ends at the limit, not when that process would have.
    #[test]
    fn the_time_limit_ends_the_whole_tree() {
        let dir = tempfile::tempdir().unwrap();
        let (shell, args): (&str, [&str; 2]) = if cfg!(windows) {
            // cmd waits for ping; ping holds the stderr pipe
            ("cmd.exe", ["/c", "ping -n 30 127.0.0.1 >NUL"])
        } else {
            ("/bin/sh", ["-c", "sleep 30; true"])
        };
        let env = Env::from_pairs(&[(GIT_ENV, shell), (TIMEOUT_ENV, "1")]);
        let cli = GitCli::find(&env, dir.path(), dir.path()).unwrap();
        let started = Instant::now();
        let out = cli.run(&args).unwrap();
        assert!(out.timed_out);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the run ended after {:?}: a child outlived the time limit",
            started.elapsed()
        );
    }

    #[test]
    fn finds_git_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_pairs(&[("PATH", dir.path().to_str().unwrap())]);
        assert!(GitCli::find(&env, dir.path(), dir.path()).is_none());
        let env = Env::from_pairs(&[(GIT_ENV, "none")]);
        assert!(GitCli::find(&env, dir.path(), dir.path()).is_none());
        let env = Env::from_pairs(&[(GIT_ENV, "/opt/git"), (TIMEOUT_ENV, "7")]);
        let git = GitCli::find(&env, dir.path(), dir.path()).unwrap();
        assert_eq!(git.program, PathBuf::from("/opt/git"));
        assert_eq!(git.timeout, Duration::from_secs(7));
        let git = git.with_config(&[("a.b".into(), "c".into())]);
        assert_eq!(git.var("GIT_CONFIG_KEY_0").as_deref(), Some("a.b"));
        assert_eq!(git.var("GIT_CONFIG_COUNT").as_deref(), Some("1"));
    }
}
