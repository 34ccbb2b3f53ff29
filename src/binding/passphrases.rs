//! The project-wide passphrase commands as JS functions: `rekeyPassphrases`
//! and `encryptPassphrases` (the CLI's `rekey` and `encrypt`).

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_options, optional_options_from_js, JsOptions};
use super::promise::spawn_blocking;
use super::shared::WarningInfo;
use crate::env::Env as ProcessEnv;
use crate::ops::passphrases::{self, PassphrasesReport};

js_options! {
    #[doc = "Options of `rekeyPassphrases` and `encryptPassphrases`."]
    pub struct PassphrasesOptions {
        cwd, state_dir, config_dir, branch, remote,
        #[doc = "`false`: commit on HEAD locally and push nothing. Default `true`."]
        pub push: Option<bool>,
        #[doc = "Report what would change; write nothing."]
        pub dry_run: Option<bool>,
    }
}

/// One file a passphrase commit changed.
#[napi(object)]
pub struct PassphraseFile {
    /// Path in the repository, relative to its root.
    pub path: String,
    /// What happened to it.
    #[napi(ts_type = "'rekeyed' | 'encrypted' | 'removed' | 'updated'")]
    pub change: String,
}

/// The result of `rekeyPassphrases` and `encryptPassphrases` (never a passphrase).
#[napi(object)]
pub struct PassphrasesResult {
    /// Whether a commit was made (false: nothing to change).
    pub committed: bool,
    /// The commit's id.
    pub commit: Option<String>,
    /// Whether it was pushed.
    pub pushed: bool,
    /// The branch pushed to (absent with `push: false`).
    pub branch: Option<String>,
    /// The remote's name.
    pub remote: Option<String>,
    /// The remote's URL, credentials redacted.
    pub remote_url: Option<String>,
    /// Passphrase files looked at.
    pub passphrases: u32,
    /// Recipients they are now encrypted to.
    pub recipients: u32,
    /// Files changed.
    pub files: Vec<PassphraseFile>,
    /// Push attempts.
    pub attempts: u32,
    /// The commit message.
    pub message: Option<String>,
    /// Whether HEAD now points at the commit.
    pub head_updated: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// What to know (`encryptPassphrases`: git history still holds the plaintext).
    pub notes: Vec<String>,
    /// Findings that did not stop the run.
    pub warnings: Vec<WarningInfo>,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

impl From<PassphrasesReport> for PassphrasesResult {
    fn from(r: PassphrasesReport) -> Self {
        PassphrasesResult {
            committed: r.committed,
            commit: r.commit,
            pushed: r.pushed,
            branch: r.branch,
            remote: r.remote,
            remote_url: r.remote_url,
            passphrases: r.passphrases as u32,
            recipients: r.recipients as u32,
            files: r
                .files
                .into_iter()
                .map(|f| PassphraseFile {
                    path: f.path,
                    change: f.change.into(),
                })
                .collect(),
            attempts: r.attempts,
            message: r.message,
            head_updated: r.head_updated,
            dry_run: r.dry_run,
            notes: r.notes,
            warnings: r.warnings.into_iter().map(Into::into).collect(),
            duration_ms: r.duration_ms as f64,
        }
    }
}

fn run<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
    function: &'static str,
    work: fn(
        &passphrases::PassphrasesOptions,
        &ProcessEnv,
    ) -> crate::error::Result<PassphrasesReport>,
) -> napi::Result<PromiseRaw<'env, PassphrasesResult>> {
    let options = optional_options_from_js(options, function).map(|o: PassphrasesOptions| {
        passphrases::PassphrasesOptions {
            common: o.common(),
            branch: o.branch,
            remote: o.remote,
            no_push: !o.push.unwrap_or(true),
            dry_run: o.dry_run.unwrap_or(false),
        }
    });
    spawn_blocking(
        env,
        move || work(&options?, &ProcessEnv::process()),
        Into::into,
    )
}

/// Re-encrypts every age-encrypted passphrase (`<stateDir>/passphrase/*.age`)
/// whose header does not show the recipients now in
/// `<stateDir>/age-recipients.txt` to them, in one commit pushed like
/// `commitStage`'s (on the remote branch's tip, compare-and-swap, replanned
/// on a moved tip). Every file encrypted to them already: no commit. Rejects with
/// `DECRYPT_FAILED` / `AGE_KEY_MISSING` naming the first file the configured
/// age key cannot decrypt (nothing written), and with the git codes of
/// `commitStage`. Removing a recipient and rekeying revokes that key from then
/// on; it does not undo what the key could already decrypt.
#[napi(
    ts_args_type = "options?: PassphrasesOptions | undefined | null",
    ts_return_type = "Promise<PassphrasesResult>"
)]
pub fn rekey_passphrases<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
) -> napi::Result<PromiseRaw<'env, PassphrasesResult>> {
    run(env, options, "rekeyPassphrases", crate::ops::rekey::rekey)
}

/// Migrates every plain `<stateDir>/passphrase/<stage>.json` (and
/// `_fallback.json`) to `.age` for the recipients in `age-recipients.txt`,
/// removing the plain files, in one commit pushed like `commitStage`'s.
/// `notes` says that git history still holds the plaintext (see
/// docs/passphrases.md for the remedies). Rejects with `INVALID_OPTION` when there is no
/// recipients file, and with the git codes of `commitStage`.
#[napi(
    ts_args_type = "options?: PassphrasesOptions | undefined | null",
    ts_return_type = "Promise<PassphrasesResult>"
)]
pub fn encrypt_passphrases<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
) -> napi::Result<PromiseRaw<'env, PassphrasesResult>> {
    run(
        env,
        options,
        "encryptPassphrases",
        crate::ops::encrypt::encrypt,
    )
}
