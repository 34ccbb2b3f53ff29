//! `init`: its flags, running it, and its human output.

use camino::Utf8PathBuf;
use clap::Args;

use super::flags::GlobalArgs;
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::init::{InitOptions, InitReport};
use crate::stage::project::{Caller, CommonOptions};

#[derive(Debug, Args)]
pub(super) struct InitArgs {
    /// State folder relative to the project root [default: infra/state].
    #[arg(long, value_name = "DIR")]
    pub(super) state_dir: Option<String>,
    /// SST's config dir (the default key file lives below it).
    #[arg(long, value_name = "DIR")]
    pub(super) config_dir: Option<Utf8PathBuf>,
    /// Where to keep the secret key, outside the project and any git worktree; relative to
    /// --cwd [default: env SST_LOCAL_STATE_AGE_KEY_FILE, else <configDir>/sst-local-state/age-key.txt].
    #[arg(long, value_name = "FILE")]
    pub(super) key_file: Option<Utf8PathBuf>,
    /// List this public key (age1…, e.g. a CI key made elsewhere) instead of creating or
    /// reading a key on this machine.
    #[arg(long, value_name = "AGE1", conflicts_with = "key_file")]
    pub(super) recipient: Option<String>,
}

/// `init`: sets up age encryption of the project's passphrases.
pub(super) fn run(args: &InitArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let options = InitOptions {
        common: CommonOptions {
            cwd: global.cwd.clone(),
            state_dir: args.state_dir.clone(),
            config_dir: args.config_dir.clone(),
            caller: Caller::Cli,
            ..CommonOptions::default()
        },
        key_file: args.key_file.clone(),
        recipient: args.recipient.clone(),
    };
    let report = crate::ops::init::init(&options, env)?;
    ui.result(&render(&report), &to_json(&report));
    Ok(())
}

/// What init did and what to do next (never the secret key itself).
pub fn render(r: &InitReport) -> String {
    let listed = if r.added_recipient {
        "added to"
    } else {
        "already in"
    };
    let file = &r.recipients_file;
    let mut lines = Vec::new();
    if let Some(key_file) = &r.key_file {
        let key = if r.created_key { "created" } else { "reused" };
        lines.push(format!(
            "age key {key}: {key_file} (mode 0600; keep it out of the repository)"
        ));
    }
    lines.push(format!("public key {} {listed} {file}", r.public_key));
    lines.push(match (&r.key_file, r.joining) {
        (Some(key_file), false) => format!(
            "next: commit {file}, and store the content of {key_file} as the CI secret SST_LOCAL_STATE_AGE_KEY"
        ),
        (Some(_), true) => format!(
            "next: commit {file}; then a member whose key already decrypts the passphrases runs `sst-local-state rekey` (until then this key cannot decrypt passphrases encrypted before it was listed). Keep this key to yourself: CI keeps the key it already has"
        ),
        (None, _) => format!(
            "next: commit {file}; then a member whose key already decrypts the passphrases runs `sst-local-state rekey`, so the new key can decrypt them"
        ),
    });
    lines.join("\n")
}
