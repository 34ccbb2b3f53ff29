//! Init: set a project up so stage passphrases are committed encrypted.
//! Creates (or reuses) an age identity in a key file outside the repository
//! (mode 0600, never printed; a key file inside the project or any git
//! worktree is refused) and adds its public key to the state folder's
//! `age-recipients.txt`, which is committed.

use camino::{Utf8Component, Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsx;
use crate::stage::project::{self, CommonOptions};
use crate::stage::seal;

/// Options of [`init`].
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// Project and paths (the stage is not used).
    pub common: CommonOptions,
    /// Where to keep the identity (relative: to `common.cwd`); default env
    /// `SST_LOCAL_STATE_AGE_KEY_FILE` (relative: to the process's working
    /// directory, as prepare reads it), else `<configDir>/sst-local-state/age-key.txt`.
    /// Never inside the project or a git worktree.
    pub key_file: Option<Utf8PathBuf>,
    /// A public key (`age1…`) to list instead of this machine's own: no
    /// key file is read or created (a CI key made elsewhere).
    pub recipient: Option<String>,
}

/// The result of [`init`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitReport {
    /// The recipients file (commit it).
    pub recipients_file: Utf8PathBuf,
    /// The public key (`age1…`) now listed there.
    pub public_key: String,
    /// The file holding the secret key (None with `recipient`: no local key is involved).
    pub key_file: Option<Utf8PathBuf>,
    /// Whether a new identity was generated (false: an existing key file was reused).
    pub created_key: bool,
    /// Whether the public key was added to the recipients file (false: already listed).
    pub added_recipient: bool,
    /// Whether the recipients file already listed other keys: passphrases
    /// encrypted before this key was added open only after an existing
    /// member runs `rekey` (false: this is the first key, store it in CI).
    pub joining: bool,
}

/// Creates or reuses the age identity and lists its public key as a recipient.
///
/// # Errors
///
/// `KEY_FILE_IN_REPO` (nothing written) when the key file is inside the project or inside a git
/// worktree, symlinks resolved; the errors of `project::resolve_location`; `INVALID_OPTION`
/// for a key file that holds no identity; I/O errors.
pub fn init(options: &InitOptions, env: &Env) -> Result<InitReport> {
    let location = project::resolve_location(&options.common, env)?;
    // the recipients file is never read or written through a symbolic link
    // (it could lead outside the project): checked before anything is written
    fsx::refuse_symlinks(
        &location.project_root,
        &location.state_dir.join(seal::RECIPIENTS_FILE),
    )?;
    let key_file = match (&options.key_file, env.non_empty(seal::KEY_FILE_ENV)) {
        (Some(path), _) => {
            let flag = options.common.caller.name("cwd", "cwd");
            project::absolute_cwd(options.common.cwd.as_deref(), &flag)?.join(path)
        }
        (None, Some(path)) => {
            let origin = format!("env {}", seal::KEY_FILE_ENV);
            project::absolute_cwd(None, &origin)?.join(path)
        }
        (None, None) => seal::default_key_file(&location.config_dir),
    };
    let (public_key, created_key, key_file) = match &options.recipient {
        Some(recipient) => (given_recipient(recipient, options)?, false, None),
        None => {
            let (public_key, created) = local_identity(&key_file, &location.project_root)?;
            (public_key, created, Some(key_file))
        }
    };
    let recipients_file = location
        .project_root
        .join(&location.state_dir)
        .join(seal::RECIPIENTS_FILE);
    let existing =
        fsx::read_optional(&recipients_file)?.map(|b| String::from_utf8_lossy(&b).into_owned());
    let joining = existing.as_deref().is_some_and(|text| {
        text.lines()
            .map(str::trim)
            .any(|l| l.starts_with("age1") && l != public_key)
    });
    let existing = existing.unwrap_or_else(|| "# age recipients (public keys) that can decrypt this project's SST passphrases; one per line\n".to_string());
    let added_recipient = !existing.lines().any(|l| l.trim() == public_key);
    if added_recipient {
        let mut text = existing;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&public_key);
        text.push('\n');
        seal::parse_recipients(&recipients_file, &text)?;
        fsx::write_atomic(&recipients_file, text.as_bytes(), false)?;
    }
    Ok(InitReport {
        recipients_file,
        public_key,
        key_file,
        created_key,
        added_recipient,
        joining,
    })
}

/// `--recipient`: a public key made elsewhere, checked.
fn given_recipient(recipient: &str, options: &InitOptions) -> Result<String> {
    let recipient = recipient.trim();
    match recipient.parse::<age::x25519::Recipient>() {
        Ok(parsed) => Ok(parsed.to_string()),
        // a secret key passed by mistake is never echoed
        Err(_) if recipient.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") => Err(Error::option(
            options.common.caller.name("recipient", "recipient"),
            "is a secret key: pass its public key (age1…); the secret key stays out of the repository",
        )),
        // nor is anything else that is not a public key (it might be a secret)
        Err(e) => Err(Error::option(
            options.common.caller.name("recipient", "recipient"),
            format!("is not an age X25519 public key (age1…): {e}"),
        )),
    }
}

/// This machine's identity in `key_file` (created when absent): its public
/// key, and whether it was created.
fn local_identity(key_file: &Utf8Path, project_root: &Utf8Path) -> Result<(String, bool)> {
    refuse_key_file_in_repo(key_file, project_root)?;
    Ok(match fsx::read_optional(key_file)? {
        Some(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let identity = text
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
                .and_then(|l| l.parse::<age::x25519::Identity>().ok())
                .ok_or_else(|| {
                    Error::option(
                        key_file.as_str(),
                        "exists but holds no age identity (AGE-SECRET-KEY-1…)",
                    )
                })?;
            (identity.to_public().to_string(), false)
        }
        None => {
            let (secret, public) = seal::generate();
            let body = format!("# sst-local-state age identity; public key: {public}\n{secret}\n");
            fsx::write_atomic(key_file, body.as_bytes(), true)?;
            (public, true)
        }
    })
}

/// Refuses a key file inside the project or inside a git worktree (a directory holding a `.git`
/// entry), where a `git add` would commit the secret key. Symlinks are resolved first.
fn refuse_key_file_in_repo(key_file: &Utf8Path, project_root: &Utf8Path) -> Result<()> {
    let real = real_path(key_file);
    let refuse = |place: String| {
        Err(Error::KeyFileInRepo {
            path: key_file.to_path_buf(),
            place,
        })
    };
    if real.starts_with(real_path(project_root)) {
        return refuse(format!("the project {project_root}"));
    }
    match real
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").symlink_metadata().is_ok())
    {
        Some(worktree) => refuse(format!("the git worktree {worktree}")),
        None => Ok(()),
    }
}

/// `path` (absolute) with every symlink in the part that exists resolved, and `.` and `..`
/// resolved in order, as the file system will when the rest is created.
fn real_path(path: &Utf8Path) -> Utf8PathBuf {
    let mut real = Utf8PathBuf::new();
    let mut exists = true;
    for component in path.components() {
        match component {
            Utf8Component::CurDir => {}
            Utf8Component::ParentDir => {
                real.pop();
            }
            component => {
                real.push(component);
                if exists {
                    match real.canonicalize_utf8() {
                        Ok(resolved) => real = resolved,
                        Err(_) => exists = false,
                    }
                }
            }
        }
    }
    real
}
