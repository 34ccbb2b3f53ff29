//! Fetch and push, exactly as `git fetch` / `git push` would in the same
//! checkout: through the `git` command-line tool wherever it is installed
//! (see [`crate::git::git_cli`]), for https, ssh and path remotes alike.
//!
//! Where there is no `git` (slim CI containers whose checkout the runner
//! made), HTTPS remotes still work through libgit2: `http.extraheader`
//! (which libgit2 ignores) computed with git's urlmatch rules and sent as
//! custom headers, a token in the URL, `SST_LOCAL_STATE_GIT_TOKEN`, git
//! credential helpers; no off-site redirect is followed, so no credential
//! reaches another origin. ssh and path remotes need `git` (libssh2 reads
//! no ssh configuration; libgit2's local transport skips the receiving
//! repository's hooks and updates refs without compare-and-swap):
//! `GIT_NOT_FOUND`.
//!
//! Both never prompt, never send an Authorization header and URL
//! credentials at once, check every pushed ref's status, and redact every
//! URL password and token from what they report.

use std::cell::RefCell;
use std::time::Duration;

use git2::{
    Cred, CredentialType, ErrorClass, ErrorCode, FetchOptions, Oid, PushOptions, RemoteCallbacks,
    RemoteRedirect, Repository,
};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::git::git_cli::{self, Failure, GitCli, TOKEN_ENV};
use crate::git::redact::{redact_text, redact_url, strip_userinfo};
use crate::git::urlmatch::{extra_headers, ConfigEntry};

/// How many times a network failure is retried.
const NETWORK_ATTEMPTS: u32 = 3;

/// The result of pushing one ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The remote updated the ref.
    Accepted,
    /// The remote refused because the ref moved (or would not fast-forward).
    Moved(String),
    /// A ref pushed along with the branch (atomically) was refused, so
    /// nothing was updated: that ref no longer held its expected value.
    AlongRefused {
        /// The refused ref.
        dst: String,
        /// The remote's reason.
        reason: String,
    },
}

/// What git says when the server does not take `--atomic` pushes.
const NO_ATOMIC: &str = "does not support --atomic push";

/// One ref a compare-and-swap push updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The remote ref (`refs/heads/...`).
    pub dst: String,
    /// Its new value; `None` deletes it.
    pub new: Option<Oid>,
    /// The value the server must still hold for the update to apply
    /// (`None`: the ref must not exist).
    pub expected: Option<Oid>,
}

/// What a [`Remote::push_leased`] did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// Each ref's status, reasons redacted.
    pub refs: Vec<git_cli::RefStatus>,
    /// What git said on stderr (the last lines, redacted).
    pub said: String,
    /// All of git's stderr, redacted.
    pub stderr: String,
}

impl Pushed {
    /// The status of remote ref `dst`.
    pub fn status(&self, dst: &str) -> Option<&git_cli::RefStatus> {
        self.refs.iter().find(|r| r.dst == dst)
    }
}

/// A remote with everything needed to authenticate against it.
pub struct Remote<'r> {
    repo: &'r Repository,
    /// The remote's name (`origin`).
    pub name: String,
    /// The URL used (`pushurl` when set), credentials possibly stripped.
    url: String,
    /// The URL for messages: passwords and tokens redacted.
    pub display_url: String,
    headers: Vec<String>,
    token: Option<String>,
    url_has_password: bool,
    tried: RefCell<Vec<String>>,
    /// The `git` that fetches and pushes (None: libgit2, HTTPS only).
    cli: Option<GitCli>,
}

impl<'r> Remote<'r> {
    /// Looks up remote `name` in `repo` and works out its credentials.
    pub fn open(repo: &'r Repository, name: &str, env: &Env) -> Result<Self> {
        let remote = repo.find_remote(name).map_err(|_| Error::NoRemote {
            remote: name.to_string(),
        })?;
        let raw_url = match remote.pushurl() {
            Ok(Some(url)) => url.to_string(),
            _ => remote
                .url()
                .map_err(|_| Error::NoRemote {
                    remote: name.to_string(),
                })?
                .to_string(),
        };
        let config = repo
            .config()
            .map_err(|e| git_error("reading git config", &e))?;
        let mut entries = Vec::new();
        if let Ok(iter) = config.entries(Some(r"^http\..*extraheader$")) {
            let mut iter = iter;
            while let Some(Ok(entry)) = iter.next() {
                if let Ok(name) = entry.name() {
                    entries.push(ConfigEntry {
                        name: name.to_string(),
                        value: entry.value().ok().map(str::to_string),
                    });
                }
            }
        }
        let headers = extra_headers(&entries, &raw_url);
        let has_auth_header = headers.iter().any(|h| is_authorization(h));
        let url_has_password =
            crate::git::urlmatch::parse_url(&raw_url).is_some_and(|u| u.has_password);
        // Never an Authorization header and URL credentials at once.
        let url = if has_auth_header {
            strip_userinfo(&raw_url)
        } else {
            raw_url.clone()
        };
        let token = env.non_empty(TOKEN_ENV).map(str::to_string);
        let display_url = redact_url(&raw_url);
        let top = repo.workdir().unwrap_or_else(|| repo.path());
        let cli = match GitCli::find(env, repo.path(), top) {
            Some(cli) => Some(configure_cli(
                cli,
                &config,
                &raw_url,
                token.is_some(),
                has_auth_header,
            )),
            None if is_ssh(&raw_url) || is_local(&raw_url) => {
                return Err(Error::GitNotFound {
                    url: display_url,
                    why: if is_ssh(&raw_url) {
                        "an ssh remote is reached through git and your ssh configuration (libssh2 reads neither ~/.ssh/config nor GIT_SSH_COMMAND)"
                    } else {
                        "a path remote is pushed to through git, which runs the receiving repository's hooks (libgit2's local transport skips them)"
                    },
                })
            }
            None => None,
        };
        Ok(Remote {
            repo,
            name: name.to_string(),
            display_url,
            url,
            headers,
            token,
            url_has_password: url_has_password && !has_auth_header,
            tried: RefCell::new(Vec::new()),
            cli,
        })
    }

    /// What fetches and pushes: `git <path>` or libgit2.
    pub fn transport(&self) -> String {
        match &self.cli {
            Some(cli) => format!("git ({})", cli.program.display()),
            None => "libgit2 (no git on PATH)".into(),
        }
    }

    /// Whether an Authorization header from git config will be sent.
    pub fn uses_auth_header(&self) -> bool {
        self.headers.iter().any(|h| is_authorization(h))
    }

    /// Fetches `branch` from the remote (depth 1 in a shallow clone) into
    /// `refs/remotes/<remote>/<branch>`; returns its tip, or `None` when the
    /// remote has no such branch.
    pub fn fetch_branch(&self, branch: &str) -> Result<Option<Oid>> {
        let refspec = format!("+refs/heads/{branch}:refs/remotes/{}/{branch}", self.name);
        if let Some(cli) = &self.cli {
            let mut args = vec![
                "fetch",
                "--no-tags",
                "--no-recurse-submodules",
                "--no-write-fetch-head",
                "--quiet",
            ];
            if self.repo.is_shallow() {
                args.push("--depth=1");
            }
            args.extend([self.name.as_str(), refspec.as_str()]);
            let output = self.run_cli(cli, "fetching", &args, |out| {
                git_cli::classify(&out.stderr) == Failure::NoSuchRef
            })?;
            if output.status != Some(0) {
                return Ok(None); // the remote has no such branch
            }
            return self
                .repo
                .find_reference(&format!("refs/remotes/{}/{branch}", self.name))
                .ok()
                .and_then(|r| r.target())
                .map(Some)
                .ok_or_else(|| Error::Git {
                    action: "fetching".into(),
                    message: format!(
                        "git fetch succeeded but refs/remotes/{}/{branch} is missing",
                        self.name
                    ),
                });
        }
        self.refuse_offsite_redirect("git-upload-pack")?;
        self.with_retries("fetching", || {
            let mut remote = self.repo.remote_anonymous(&self.url)?;
            let mut options = FetchOptions::new();
            options.remote_callbacks(self.callbacks(None));
            options.download_tags(git2::AutotagOption::None);
            // credentials and extra headers must not follow a redirect to another origin
            options.follow_redirects(RemoteRedirect::None);
            options.update_fetchhead(true);
            let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
            options.custom_headers(&headers);
            if self.repo.is_shallow() && !is_local(&self.url) {
                options.depth(1);
            }
            remote.fetch(&[refspec.as_str()], Some(&mut options), None)
        })?;
        let wanted = format!("refs/heads/{branch}");
        let mut tip = None;
        let _ = self.repo.fetchhead_foreach(|name, _url, oid, _is_merge| {
            if name == wanted {
                tip = Some(*oid);
                false
            } else {
                true
            }
        });
        Ok(tip)
    }

    /// Pushes `oid` to `refs/heads/<branch>` without a blind force (git: a
    /// compare-and-swap against `expected`; libgit2: fast-forward only) and reports the
    /// ref's own status (a rejected push can return `Ok` from libgit2).
    pub fn push(&self, oid: Oid, branch: &str, expected: Option<Oid>) -> Result<PushOutcome> {
        self.push_along(oid, branch, expected, &[])
    }

    /// As git does after a push that landed: `refs/remotes/<remote>/<branch>`
    /// follows the pushed commit (best effort: a stale tracking ref costs a
    /// fetch later, never a wrong push, which is a compare-and-swap).
    pub fn track_pushed(&self, branch: &str, oid: Oid) {
        let _ = self.repo.reference(
            &format!("refs/remotes/{}/{branch}", self.name),
            oid,
            true,
            "sst-local-state: push",
        );
    }

    /// [`Remote::push`], with `along` updated in the same atomic push (git
    /// `--atomic`: every ref or none, each a compare-and-swap on the server).
    pub fn push_along(
        &self,
        oid: Oid,
        branch: &str,
        expected: Option<Oid>,
        along: &[RefUpdate],
    ) -> Result<PushOutcome> {
        let refspec = format!("{oid}:refs/heads/{branch}");
        if self.cli.is_some() || !along.is_empty() {
            let dst = format!("refs/heads/{branch}");
            let mut updates = vec![RefUpdate {
                dst: dst.clone(),
                new: Some(oid),
                expected,
            }];
            updates.extend_from_slice(along);
            let pushed = self.push_leased(&updates, !along.is_empty())?;
            if pushed.stderr.contains(NO_ATOMIC) {
                return self.push_then_along(oid, branch, expected, along);
            }
            // the ref that failed, not the ones an atomic push took down with
            // it: git names it in its status (a lease checked before sending),
            // the server in its message (a transaction that failed there)
            let cause = |r: &&git_cli::RefStatus| !r.ok && !r.summary.contains("atomic");
            for u in along {
                let named_by_server = pushed
                    .stderr
                    .contains(&format!("cannot lock ref '{}'", u.dst));
                let reason = match pushed.status(&u.dst).filter(cause) {
                    Some(r) => Some(r.summary.clone()),
                    None => named_by_server.then(|| pushed.said.clone()),
                };
                if let Some(reason) = reason {
                    return Ok(PushOutcome::AlongRefused {
                        dst: u.dst.clone(),
                        reason,
                    });
                }
            }
            return match pushed.status(&dst) {
                Some(r) if r.ok => Ok(PushOutcome::Accepted),
                // a transaction that failed on the server for the branch: it
                // moved (the next attempt's lease check tells, if not)
                Some(r) if is_moved(&r.summary) || r.summary.contains("atomic") => {
                    Ok(PushOutcome::Moved(r.summary.clone()))
                }
                Some(r) => Err(Error::PushRejected {
                    branch: branch.to_string(),
                    reason: format!("{} {}", r.summary, pushed.said),
                }),
                None => Err(Error::Git {
                    action: "pushing".into(),
                    message: format!("git push reported no status for {dst}: {}", pushed.said),
                }),
            };
        }
        self.refuse_offsite_redirect("git-receive-pack")?;
        let status: RefCell<Option<String>> = RefCell::new(None);
        let result = self.with_retries("pushing", || {
            *status.borrow_mut() = None;
            let mut remote = self.repo.remote_anonymous(&self.url)?;
            let mut options = PushOptions::new();
            options.follow_redirects(RemoteRedirect::None);
            options.remote_callbacks(self.callbacks(Some(&status)));
            let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
            options.custom_headers(&headers);
            remote.push(&[refspec.as_str()], Some(&mut options))
        });
        match result {
            Err(Error::PushRejected { reason, .. }) => Ok(PushOutcome::Moved(reason)),
            Err(e) => Err(e),
            Ok(()) => match status.into_inner() {
                None => Ok(PushOutcome::Accepted),
                Some(reason) if is_moved(&reason) => Ok(PushOutcome::Moved(reason)),
                Some(reason) => Err(Error::PushRejected {
                    branch: branch.to_string(),
                    reason: self.redact(&reason),
                }),
            },
        }
    }

    /// [`Remote::push_along`] for a server without atomic pushes: each
    /// `along` ref is checked right before the branch's push, and updated
    /// (each a compare-and-swap) right after it landed. A ref that changed
    /// in between goes unnoticed: a smaller guarantee than one atomic push.
    fn push_then_along(
        &self,
        oid: Oid,
        branch: &str,
        expected: Option<Oid>,
        along: &[RefUpdate],
    ) -> Result<PushOutcome> {
        for u in along {
            let now = self
                .ls_remote(&u.dst)?
                .into_iter()
                .find_map(|(name, id)| (name == u.dst).then_some(id));
            if now != u.expected {
                return Ok(PushOutcome::AlongRefused {
                    dst: u.dst.clone(),
                    reason: "it no longer holds the expected commit (checked before the push: this server has no atomic push)".into(),
                });
            }
        }
        let outcome = self.push_along(oid, branch, expected, &[])?;
        if outcome == PushOutcome::Accepted {
            self.push_leased(along, false)?;
        }
        Ok(outcome)
    }

    /// The `git` that runs compare-and-swap pushes, or `GIT_NOT_FOUND`
    /// saying that `why` needs it (libgit2 sends no lease).
    fn cli_for(&self, why: &'static str) -> Result<&GitCli> {
        self.cli.as_ref().ok_or_else(|| Error::GitNotFound {
            url: self.display_url.clone(),
            why,
        })
    }

    /// Pushes every update in one `git push` (`atomic`: all or none), each
    /// a compare-and-swap on the server against its `expected` value; never
    /// a blind force. Returns each ref's status (a refused ref is not an
    /// `Err`: the caller reads it).
    pub fn push_leased(&self, updates: &[RefUpdate], atomic: bool) -> Result<Pushed> {
        let cli = self.cli_for(
            "compare-and-swap ref updates (stage locks) are pushed with git's --force-with-lease",
        )?;
        let leases: Vec<String> = updates
            .iter()
            .map(|u| git_cli::lease(&u.dst, u.expected))
            .collect();
        let refspecs: Vec<String> = updates
            .iter()
            .map(|u| match u.new {
                Some(oid) => format!("{oid}:{}", u.dst),
                None => format!(":{}", u.dst),
            })
            .collect();
        let mut args = vec!["push", "--porcelain", "--no-verify"];
        if atomic {
            args.push("--atomic");
        }
        args.extend(leases.iter().map(String::as_str));
        args.push(self.name.as_str());
        args.extend(refspecs.iter().map(String::as_str));
        let output = self.run_cli(cli, "pushing", &args, |out| {
            let refs = git_cli::parse_porcelain(&out.stdout);
            updates.iter().all(|u| refs.iter().any(|r| r.dst == u.dst))
                || out.stderr.contains(NO_ATOMIC)
        })?;
        let refs = git_cli::parse_porcelain(&output.stdout)
            .into_iter()
            .map(|r| git_cli::RefStatus {
                summary: self.redact(&r.summary),
                ..r
            })
            .collect();
        Ok(Pushed {
            refs,
            said: self.redact(&git_cli::summary(&output.stderr)),
            stderr: self.redact(&output.stderr),
        })
    }

    /// The remote's refs matching `pattern` (`git ls-remote`), name and id.
    pub fn ls_remote(&self, pattern: &str) -> Result<Vec<(String, Oid)>> {
        let cli = self.cli_for("stage locks are listed with git ls-remote")?;
        let args = ["ls-remote", "--refs", self.name.as_str(), pattern];
        let output = self.run_cli(cli, "listing remote refs", &args, |_| false)?;
        Ok(output
            .stdout
            .lines()
            .filter_map(|line| {
                let (id, name) = line.split_once('\t')?;
                Some((name.to_string(), Oid::from_str(id).ok()?))
            })
            .collect())
    }

    /// Fetches `src` (a ref, or a pattern ending in `*`) of the remote
    /// into local `dst` (forced, pruned: local refs there follow the
    /// remote's); `false` when the remote has no such ref.
    pub fn fetch_refs(&self, src: &str, dst: &str) -> Result<bool> {
        let cli = self.cli_for("stage locks are read with git fetch")?;
        let refspec = format!("+{src}:{dst}");
        let args = [
            "fetch",
            "--no-tags",
            "--no-recurse-submodules",
            "--no-write-fetch-head",
            "--prune",
            "--quiet",
            self.name.as_str(),
            refspec.as_str(),
        ];
        let output = self.run_cli(cli, "fetching", &args, |out| {
            git_cli::classify(&out.stderr) == Failure::NoSuchRef
        })?;
        Ok(output.status == Some(0))
    }

    /// Runs git, retrying network failures; `Ok` when it succeeded or
    /// `accept` takes its output (a failure the caller reads itself).
    fn run_cli(
        &self,
        cli: &GitCli,
        action: &str,
        args: &[&str],
        accept: impl Fn(&git_cli::Output) -> bool,
    ) -> Result<git_cli::Output> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let output = cli.run(args).map_err(|e| Error::Git {
                action: action.to_string(),
                message: format!("running {}: {e}", cli.program.display()),
            })?;
            if output.status == Some(0) || accept(&output) {
                return Ok(output);
            }
            let said = self.redact(&git_cli::summary(&output.stderr));
            if output.timed_out {
                return Err(Error::Network {
                    url: self.display_url.clone(),
                    message: format!(
                        "git {} did not finish within {} s and was stopped ({}): {said}",
                        args[0],
                        cli.timeout.as_secs(),
                        git_cli::TIMEOUT_ENV
                    ),
                });
            }
            match git_cli::classify(&output.stderr) {
                Failure::Network if attempt < NETWORK_ATTEMPTS => {
                    std::thread::sleep(Duration::from_millis(300 * 2u64.pow(attempt - 1)));
                }
                Failure::Network => {
                    return Err(Error::Network {
                        url: self.display_url.clone(),
                        message: said,
                    })
                }
                Failure::Auth => {
                    return Err(Error::AuthFailed {
                        url: self.display_url.clone(),
                        tried: format!("{}; git said: {said}", self.tried()),
                    })
                }
                Failure::HostKey => {
                    return Err(Error::HostKeyRejected {
                        url: self.display_url.clone(),
                        message: said,
                    })
                }
                Failure::NoSuchRef | Failure::Other => {
                    return Err(Error::Git {
                        action: action.to_string(),
                        message: said,
                    })
                }
            }
        }
    }

    /// libgit2 only: before it is handed credentials (an Authorization
    /// header, a token, a password in the URL), ask the remote where it
    /// redirects; another origin is refused (`REDIRECT_REFUSED`).
    fn refuse_offsite_redirect(&self, service: &str) -> Result<()> {
        let sends_credentials =
            self.uses_auth_header() || self.token.is_some() || self.url_has_password;
        if !sends_credentials || !self.url.contains("://") {
            return Ok(());
        }
        match crate::git::probe::redirects(&self.url, service) {
            crate::git::probe::Probe::Elsewhere(location) => Err(Error::RedirectRefused {
                url: self.display_url.clone(),
                location,
            }),
            // no answer: libgit2 reports the real network error itself
            crate::git::probe::Probe::SameOrigin | crate::git::probe::Probe::Unknown(_) => Ok(()),
        }
    }

    /// What credential sources were offered, for error messages.
    pub fn tried(&self) -> String {
        if self.cli.is_some() {
            let mut tried = vec![
                "git's own credentials (credential helpers, http.extraheader, the URL, ssh config, agent and keys)".to_string(),
            ];
            if self.token.is_some() {
                tried.push(TOKEN_ENV.to_string());
            }
            return tried.join(", ");
        }
        let mut tried = self.tried.borrow().clone();
        if self.uses_auth_header() {
            tried.insert(
                0,
                "Authorization header from git config http.extraheader".into(),
            );
        } else if self.url_has_password {
            tried.insert(0, "credentials in the remote URL".into());
        }
        tried.dedup();
        if tried.is_empty() {
            "no credentials (none configured: set http.extraheader, a token in the URL, SST_LOCAL_STATE_GIT_TOKEN, a credential helper, or an ssh key)".into()
        } else {
            tried.join(", ")
        }
    }

    fn callbacks<'a>(&'a self, status: Option<&'a RefCell<Option<String>>>) -> RemoteCallbacks<'a> {
        let mut callbacks = RemoteCallbacks::new();
        let config = self.repo.config().ok();
        let mut calls = 0u32;
        let home = crate::git::probe::origin(&self.url);
        callbacks.credentials(move |url, username, allowed| {
            calls += 1;
            // a credential only ever goes to the remote's own origin
            if crate::git::probe::origin(url) != home {
                return Err(git2::Error::new(
                    ErrorCode::Auth,
                    ErrorClass::Http,
                    "refusing to send credentials to another origin",
                ));
            }
            if self.uses_auth_header() {
                return Err(git2::Error::from_str(
                    "the Authorization header from http.extraheader was rejected",
                ));
            }
            if calls > 4 {
                return Err(git2::Error::new(
                    ErrorCode::Auth,
                    ErrorClass::Http,
                    "authentication failed",
                ));
            }
            let mut tried = self.tried.borrow_mut();
            if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                if let (Some(token), 1) = (&self.token, calls) {
                    tried.push(TOKEN_ENV.to_string());
                    return Cred::userpass_plaintext(username.unwrap_or("x-access-token"), token);
                }
                tried.push("git credential helpers".into());
            }
            drop(tried);
            // HTTPS only (ssh goes through git): git's credential helpers
            let auth = auth_git2::GitAuthenticator::new_empty()
                .try_cred_helper(true)
                .add_default_username();
            match &config {
                Some(cfg) => (auth.credentials(cfg))(url, username, allowed),
                None => Err(git2::Error::from_str("no git config")),
            }
        });
        if let Some(status) = status {
            callbacks.push_update_reference(move |_refname, message| {
                if let Some(message) = message {
                    *status.borrow_mut() = Some(message.to_string());
                }
                Ok(())
            });
        }
        callbacks
    }

    fn redact(&self, text: &str) -> String {
        let mut secrets: Vec<&str> = Vec::new();
        if let Some(t) = &self.token {
            secrets.push(t);
        }
        for h in &self.headers {
            if let Some((_, value)) = h.split_once(':') {
                secrets.extend(value.split_whitespace().skip(1));
            }
        }
        redact_text(text, &secrets)
    }

    fn with_retries(
        &self,
        action: &str,
        mut op: impl FnMut() -> std::result::Result<(), git2::Error>,
    ) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match op() {
                Ok(()) => return Ok(()),
                Err(e) => match classify(&e) {
                    Kind::Network if attempt < NETWORK_ATTEMPTS => {
                        std::thread::sleep(Duration::from_millis(300 * 2u64.pow(attempt - 1)));
                    }
                    Kind::Network => {
                        return Err(Error::Network {
                            url: self.display_url.clone(),
                            message: self.redact(e.message()),
                        })
                    }
                    Kind::Auth => {
                        return Err(Error::AuthFailed {
                            url: self.display_url.clone(),
                            tried: self.tried(),
                        })
                    }
                    Kind::Moved => {
                        return Err(Error::PushRejected {
                            branch: String::new(),
                            reason: self.redact(e.message()),
                        })
                    }
                    Kind::Other => return Err(git_error(action, &e)),
                },
            }
        }
    }

    /// Asks the remote, through git, whether this run could push `oid` to
    /// `refs/heads/<branch>`: `git push --dry-run` (reaches the remote and
    /// authenticates for a push; nothing is sent and no ref changes; the
    /// server's hooks and branch protection are not consulted). `Ok(false)`
    /// without git: libgit2 has no dry run.
    pub fn push_dry_run(&self, oid: Oid, branch: &str) -> Result<bool> {
        let Some(cli) = &self.cli else {
            return Ok(false);
        };
        let refspec = format!("+{oid}:refs/heads/{branch}");
        let args = [
            "push",
            "--dry-run",
            "--porcelain",
            "--no-verify",
            self.name.as_str(),
            refspec.as_str(),
        ];
        self.run_cli(cli, "pushing (dry run)", &args, |_| false)?;
        Ok(true)
    }
}

enum Kind {
    Network,
    Auth,
    Moved,
    Other,
}

fn classify(e: &git2::Error) -> Kind {
    let message = e.message().to_ascii_lowercase();
    if e.code() == ErrorCode::NotFastForward {
        return Kind::Moved;
    }
    // libgit2's own wordings; a bare "401" could be part of a port or path
    if e.code() == ErrorCode::Auth
        || message.contains("authentication")
        || message.contains("status code: 401")
        || message.contains("status code: 403")
        || message.contains("authorization")
        || message.contains("credentials")
    {
        return Kind::Auth;
    }
    match e.class() {
        ErrorClass::Net | ErrorClass::Ssl | ErrorClass::Os | ErrorClass::Http | ErrorClass::Ssh => {
            Kind::Network
        }
        _ => Kind::Other,
    }
}

/// Whether a ref status from the remote means "the ref moved" (a
/// compare-and-swap that lost).
pub fn is_moved(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    [
        "non-fast-forward",
        "fetch first",
        "stale info",
        "failed to update ref",
        "cannot lock ref",
        "reference already exists",
    ]
    .iter()
    .any(|m| r.contains(m))
}

/// Whether git's stderr of a refused push says another ref is in the way
/// of the pushed one (`'refs/heads/x' exists; cannot create
/// 'refs/heads/x/y'`, or the other way round): no lost race, and retrying
/// is refused the same way.
pub fn is_ref_name_conflict(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("exists; cannot create")
        || s.contains("cannot process '") && s.contains("at the same time")
}

/// Whether `url` is a path (or `file://`) remote.
fn is_local(url: &str) -> bool {
    url.starts_with("file://") || !url.contains("://") && !is_scp_like(url)
}

/// Whether `url` is reached over ssh (`ssh://`, `git+ssh://`, `user@host:path`, `host:path`).
fn is_ssh(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("ssh://")
        || lower.starts_with("git+ssh://")
        || lower.starts_with("ssh+git://")
        || !url.contains("://") && is_scp_like(url)
}

/// git's scp-like syntax: `[user@]host:path`, where the part before the
/// first colon has no slash (else it is a local path).
fn is_scp_like(url: &str) -> bool {
    match url.find(':') {
        Some(colon) => {
            let host = &url[..colon];
            let drive_letter = cfg!(windows) && host.len() == 1;
            !host.contains('/') && !drive_letter
        }
        None => false,
    }
}

/// Makes `git` never prompt, and hands it `SST_LOCAL_STATE_GIT_TOKEN` for
/// the remote's own origin only, through a credential helper that reads it
/// from the environment (never from a command line).
fn configure_cli(
    mut cli: GitCli,
    config: &git2::Config,
    url: &str,
    has_token: bool,
    has_auth_header: bool,
) -> GitCli {
    if !cli.ssh_configured(config.get_string("core.sshCommand").is_ok()) {
        cli.set("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    let mut settings = vec![
        ("maintenance.auto".to_string(), "false".to_string()),
        ("gc.auto".to_string(), "0".to_string()),
    ];
    if has_auth_header {
        // git sends http.extraheader on every request, also after a
        // redirect to another origin (its POST carries it): follow none
        settings.push(("http.followRedirects".to_string(), "false".to_string()));
    }
    if let (true, Some(origin)) = (has_token, http_origin(url)) {
        let user = crate::git::urlmatch::parse_url(url).is_some_and(|u| u.user.is_some());
        let username = if user {
            ""
        } else {
            "echo username=x-access-token; "
        };
        // An empty helper first clears the list of helpers configured so far
        // (system, global, the repository's): a CI runner's own helper (GitLab
        // Runner 18+ answers with CI_JOB_TOKEN, which cannot push) would
        // otherwise be asked first, and git stops at the first answer.
        settings.push((format!("credential.{origin}.helper"), String::new()));
        settings.push((
            format!("credential.{origin}.helper"),
            format!(
                "!f() {{ test \"$1\" = get || exit 0; {username}echo \"password=${TOKEN_ENV}\"; }}; f"
            ),
        ));
    }
    cli.with_config(&settings)
}

/// `scheme://host[:port]` of an http(s) URL.
fn http_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(format!("{}://{host}", scheme.to_ascii_lowercase()))
}

fn is_authorization(header: &str) -> bool {
    header
        .split_once(':')
        .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
}

/// A libgit2 failure as our error, with URL credentials and Authorization
/// header values redacted.
pub fn git_error(action: &str, e: &git2::Error) -> Error {
    Error::Git {
        action: action.to_string(),
        message: redact_text(e.message(), &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_libgit2_wording() {
        let net = git2::Error::new(
            ErrorCode::GenericError,
            ErrorClass::Net,
            "failed to connect to 127.0.0.1 port 44013: Connection refused",
        );
        assert!(matches!(classify(&net), Kind::Network));
        let denied = git2::Error::new(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "unexpected http status code: 403",
        );
        assert!(matches!(classify(&denied), Kind::Auth));
        let replays = git2::Error::new(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "too many redirects or authentication replays",
        );
        assert!(matches!(classify(&replays), Kind::Auth));
        let nff = git2::Error::new(
            ErrorCode::NotFastForward,
            ErrorClass::Reference,
            "cannot push non-fastforwardable reference",
        );
        assert!(matches!(classify(&nff), Kind::Moved));
    }

    #[test]
    fn moved_statuses() {
        assert!(is_moved("non-fast-forward"));
        assert!(is_moved("failed to update ref"));
        assert!(!is_moved("pre-receive hook declined"));
        assert!(is_ref_name_conflict("remote: error: cannot lock ref 'refs/heads/a/lock/x/y': 'refs/heads/a' exists; cannot create 'refs/heads/a/lock/x/y'"));
        assert!(!is_ref_name_conflict(
            "remote: error: cannot lock ref 'refs/heads/a/x/y': reference already exists"
        ));
        assert!(is_authorization("AUTHORIZATION: basic abc"));
        assert!(!is_authorization("X-Custom: authorization"));
    }
}
