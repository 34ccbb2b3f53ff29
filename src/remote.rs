//! Talking to the git remote the way CI checkouts need: `http.extraheader`
//! (which libgit2 ignores) computed with git's urlmatch rules and sent as
//! custom headers on fetch and push; a token in the URL; an explicit token
//! (`SST_LOCAL_STATE_GIT_TOKEN`); git credential helpers; ssh-agent and key
//! files. Never prompts, never sends an Authorization header and URL
//! credentials at once, checks every pushed ref's status, and redacts every
//! URL password and token from what it reports.

use std::cell::RefCell;
use std::time::Duration;

use git2::{
    Cred, CredentialType, ErrorClass, ErrorCode, FetchOptions, Oid, PushOptions, RemoteCallbacks,
    Repository,
};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::redact::{redact_text, redact_url};
use crate::urlmatch::{extra_headers, ConfigEntry};

/// Environment variable holding a token for HTTPS pushes.
pub const TOKEN_ENV: &str = "SST_LOCAL_STATE_GIT_TOKEN";
/// How many times a network failure is retried.
const NETWORK_ATTEMPTS: u32 = 3;

/// The result of pushing one ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The remote updated the ref.
    Accepted,
    /// The remote refused because the ref moved (or would not fast-forward).
    Moved(String),
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
            .map_err(|e| git_error("reading git config", &e, &[]))?;
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
        let url_has_password = crate::urlmatch::parse_url(&raw_url).is_some_and(|u| u.has_password);
        // Never an Authorization header and URL credentials at once.
        let url = if has_auth_header {
            strip_userinfo(&raw_url)
        } else {
            raw_url.clone()
        };
        let token = env.non_empty(TOKEN_ENV).map(str::to_string);
        Ok(Remote {
            repo,
            name: name.to_string(),
            display_url: redact_url(&raw_url),
            url,
            headers,
            token,
            url_has_password: url_has_password && !has_auth_header,
            tried: RefCell::new(Vec::new()),
        })
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
        self.with_retries("fetching", || {
            let mut remote = self.repo.remote_anonymous(&self.url)?;
            let mut options = FetchOptions::new();
            options.remote_callbacks(self.callbacks(None));
            options.download_tags(git2::AutotagOption::None);
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

    /// Pushes `oid` to `refs/heads/<branch>` without force and reports the
    /// ref's own status (a rejected push can return `Ok` from libgit2).
    pub fn push(&self, oid: Oid, branch: &str) -> Result<PushOutcome> {
        let refspec = format!("{oid}:refs/heads/{branch}");
        let status: RefCell<Option<String>> = RefCell::new(None);
        let result = self.with_retries("pushing", || {
            *status.borrow_mut() = None;
            let mut remote = self.repo.remote_anonymous(&self.url)?;
            let mut options = PushOptions::new();
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

    /// What credential sources were offered, for error messages.
    pub fn tried(&self) -> String {
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
        callbacks.credentials(move |url, username, allowed| {
            calls += 1;
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
            if allowed.contains(CredentialType::SSH_KEY) {
                tried.push("ssh-agent and ~/.ssh keys".into());
            }
            drop(tried);
            let auth = auth_git2::GitAuthenticator::new_empty()
                .try_cred_helper(true)
                .try_ssh_agent(true)
                .add_default_ssh_keys()
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
                    Kind::Other => return Err(git_error(action, &e, &[])),
                },
            }
        }
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

/// Whether a ref status from the remote means "the branch moved".
fn is_moved(reason: &str) -> bool {
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

/// Whether `url` uses libgit2's local transport (which cannot fetch shallow).
fn is_local(url: &str) -> bool {
    url.starts_with("file://") || !url.contains("://") && !url.contains('@')
}

fn is_authorization(header: &str) -> bool {
    header
        .split_once(':')
        .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
}

/// `url` without `user[:password]@`.
pub fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// A libgit2 failure as our error, redacted.
pub fn git_error(action: &str, e: &git2::Error, secrets: &[&str]) -> Error {
    Error::Git {
        action: action.to_string(),
        message: redact_text(e.message(), secrets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_stripped() {
        assert_eq!(
            strip_userinfo("https://org@dev.azure.com/o/p/_git/r"),
            "https://dev.azure.com/o/p/_git/r"
        );
        assert_eq!(strip_userinfo("https://u:p@h/a@b"), "https://h/a@b");
        assert_eq!(strip_userinfo("https://h/r"), "https://h/r");
        assert_eq!(
            strip_userinfo("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
    }

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
        assert!(is_authorization("AUTHORIZATION: basic abc"));
        assert!(!is_authorization("X-Custom: authorization"));
    }
}
