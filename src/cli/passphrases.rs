//! The project-wide passphrase commands `rekey` and `encrypt` (JS
//! `rekeyPassphrases`, `encryptPassphrases`): their flags, running them,
//! and their human output.

use camino::Utf8PathBuf;
use clap::Args;

use super::flags::{GlobalArgs, PushArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::passphrases::{PassphrasesOptions, PassphrasesReport};
use crate::stage::project::{Caller, CommonOptions};

/// Flags of the project-wide passphrase commands (`rekey`, `encrypt`).
#[derive(Debug, Args)]
pub(super) struct PassphrasesArgs {
    /// State folder relative to the project root [default: infra/state].
    #[arg(long, value_name = "DIR")]
    pub(super) state_dir: Option<String>,
    /// SST's config dir (the default key file lives below it).
    #[arg(long, value_name = "DIR")]
    pub(super) config_dir: Option<Utf8PathBuf>,
    #[command(flatten)]
    pub(super) push: PushArgs,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
}

impl PassphrasesArgs {
    pub(super) fn options(&self, global: &GlobalArgs) -> PassphrasesOptions {
        PassphrasesOptions {
            common: CommonOptions {
                cwd: global.cwd.clone(),
                state_dir: self.state_dir.clone(),
                config_dir: self.config_dir.clone(),
                caller: Caller::Cli,
                ..CommonOptions::default()
            },
            branch: self.push.branch.clone(),
            remote: self.push.remote.clone(),
            no_push: self.push.no_push,
            dry_run: self.dry_run,
        }
    }
}

/// `rekey`: re-encrypts every age-encrypted passphrase to the current recipients.
pub(super) fn rekey(
    args: &PassphrasesArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let report = crate::ops::rekey::rekey(&args.options(global), env)?;
    result(ui, "rekey", &report);
    Ok(())
}

/// `encrypt`: migrates every plain passphrase to `.age`.
pub(super) fn encrypt(
    args: &PassphrasesArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let report = crate::ops::encrypt::encrypt(&args.options(global), env)?;
    result(ui, "encrypt", &report);
    Ok(())
}

/// The result of a project-wide passphrase command, with its warnings.
fn result(ui: &mut Ui<'_>, command: &str, report: &PassphrasesReport) {
    ui.message_detail(report.message.as_deref());
    ui.result(&render(command, report), &to_json(report));
    ui.warn_all(&report.warnings);
}

/// The result of `rekey` / `encrypt`: what changed, where it went, and the notes.
pub fn render(command: &str, r: &PassphrasesReport) -> String {
    let mut lines = Vec::new();
    let what = format!(
        "{} passphrase file{}, {} recipient{}",
        r.passphrases,
        if r.passphrases == 1 { "" } else { "s" },
        r.recipients,
        if r.recipients == 1 { "" } else { "s" }
    );
    if r.files.is_empty() {
        lines.push(format!("{command}: nothing to change ({what})"));
    } else {
        let verb = if r.dry_run { "would change" } else { "changed" };
        lines.push(format!(
            "{command}: {verb} {} file(s) ({what})",
            r.files.len()
        ));
        for f in &r.files {
            lines.push(format!("  {} {}", f.change, f.path));
        }
        match (&r.commit, &r.branch) {
            (Some(c), Some(b)) if r.pushed => lines.push(format!(
                "committed {} and pushed to {} {b}",
                &c[..12.min(c.len())],
                r.remote.as_deref().unwrap_or("origin")
            )),
            (Some(c), _) => lines.push(format!("committed {} (not pushed)", &c[..12.min(c.len())])),
            _ => {}
        }
    }
    for note in &r.notes {
        lines.push(format!("note: {note}"));
    }
    lines.join("\n")
}
