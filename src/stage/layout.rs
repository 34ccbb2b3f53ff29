//! Where each state file of a stage lives: in the repository's state folder
//! and in SST's config dir.

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use crate::stage::names::FALLBACK_STAGE;
use crate::stage::per_kind::PerKind;
use crate::stage::project::StageContext;

/// One kind of state file SST keeps for a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// `passphrase/<stage>.json`: base64 of the stage's 32-byte key.
    Passphrase,
    /// `passphrase/_fallback.json`: key of the fallback secrets.
    FallbackPassphrase,
    /// `secret/<stage>.json`: the stage's secrets, AES-256-GCM encrypted.
    Secret,
    /// `secret/_fallback.json`: fallback secrets for every stage.
    FallbackSecret,
    /// `app/<stage>.json`: the Pulumi checkpoint.
    App,
}

impl Kind {
    /// Every kind, in the order files are written: passphrases before the
    /// files they decrypt, the checkpoint last, so an interrupted run never
    /// leaves state that SST would pair with a freshly made passphrase.
    pub const ALL: [Kind; 5] = [
        Kind::Passphrase,
        Kind::FallbackPassphrase,
        Kind::Secret,
        Kind::FallbackSecret,
        Kind::App,
    ];

    /// SST's key (the folder under `state/`).
    pub fn key(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Passphrase | Kind::FallbackPassphrase => "passphrase",
            Kind::Secret | Kind::FallbackSecret => "secret",
        }
    }

    /// Whether the file holds key material or secrets (written mode 0600).
    pub fn is_private(self) -> bool {
        self != Kind::App
    }

    /// Whether the file belongs to SST's `_fallback` stage.
    pub fn is_fallback(self) -> bool {
        matches!(self, Kind::FallbackPassphrase | Kind::FallbackSecret)
    }

    /// The passphrase that decrypts this kind's secrets, if any.
    pub fn passphrase(self) -> Option<Kind> {
        match self {
            Kind::App | Kind::Secret => Some(Kind::Passphrase),
            Kind::FallbackSecret => Some(Kind::FallbackPassphrase),
            Kind::Passphrase | Kind::FallbackPassphrase => None,
        }
    }

    /// Whether the file is a passphrase (committed age-encrypted).
    pub fn is_passphrase(self) -> bool {
        matches!(self, Kind::Passphrase | Kind::FallbackPassphrase)
    }

    /// The kind's name in JSON and JS (`app`, `fallbackSecret`, ...), the
    /// same as its serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Passphrase => "passphrase",
            Kind::FallbackPassphrase => "fallbackPassphrase",
            Kind::Secret => "secret",
            Kind::FallbackSecret => "fallbackSecret",
        }
    }

    /// A short human label (`app`, `secret (fallback)`, ...).
    pub fn label(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Passphrase => "passphrase",
            Kind::FallbackPassphrase => "passphrase (fallback)",
            Kind::Secret => "secret",
            Kind::FallbackSecret => "secret (fallback)",
        }
    }
}

/// One state file and its two homes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFile {
    /// What it holds.
    pub kind: Kind,
    /// Path relative to the project root (`infra/state/app/dev.json`).
    pub repo_rel: Utf8PathBuf,
    /// Absolute path in the repository's worktree.
    pub repo_path: Utf8PathBuf,
    /// Absolute path where SST reads it (`<configDir>/state/app/<app>/dev.json`).
    pub config_path: Utf8PathBuf,
    /// For passphrases: the age-encrypted form in the repository
    /// (`infra/state/passphrase/dev.age`), relative to the project root.
    pub sealed_rel: Option<Utf8PathBuf>,
}

impl StateFile {
    /// The absolute path of the age-encrypted form, for passphrases.
    pub fn sealed_path(&self, ctx: &StageContext) -> Option<Utf8PathBuf> {
        self.sealed_rel
            .as_ref()
            .map(|rel| ctx.project_root.join(rel))
    }
}

/// The state files of the context's stage, by kind (a slice in
/// [`Kind::ALL`] order).
pub fn state_files(ctx: &StageContext) -> PerKind<StateFile> {
    PerKind::from_fn(|kind| {
        let stage = if kind.is_fallback() {
            FALLBACK_STAGE
        } else {
            ctx.stage.as_str()
        };
        let file = format!("{stage}.json");
        let repo_rel = ctx.state_dir.join(kind.key()).join(&file);
        let sealed_rel = (kind.key() == "passphrase")
            .then(|| ctx.state_dir.join(kind.key()).join(format!("{stage}.age")));
        StateFile {
            kind,
            repo_path: ctx.project_root.join(&repo_rel),
            repo_rel,
            config_path: ctx
                .config_dir
                .join("state")
                .join(kind.key())
                .join(ctx.app.as_str())
                .join(&file),
            sealed_rel,
        }
    })
}

/// The team's age recipients (public keys), relative to the project root.
pub fn recipients_rel(ctx: &StageContext) -> Utf8PathBuf {
    ctx.state_dir.join(crate::stage::seal::RECIPIENTS_FILE)
}

/// Where `sst-local-state` keeps its own records in the config dir (SST never reads it).
pub fn tool_dir(ctx: &StageContext) -> Utf8PathBuf {
    ctx.config_dir.join("sst-local-state")
}

/// The record of what prepare/commit last put in the config dir for the stage.
pub fn marker_path(ctx: &StageContext) -> Utf8PathBuf {
    tool_dir(ctx)
        .join("synced")
        .join(ctx.app.as_str())
        .join(format!("{}.json", ctx.stage))
}

/// SST's own lock file for the stage (left behind by a crashed deploy).
pub fn sst_lock_path(ctx: &StageContext) -> Utf8PathBuf {
    ctx.config_dir
        .join("state")
        .join("lock")
        .join(ctx.app.as_str())
        .join(format!("{}.json", ctx.stage))
}

/// SST's update records for the stage (one per run).
pub fn sst_update_dir(ctx: &StageContext) -> Utf8PathBuf {
    ctx.config_dir
        .join("state")
        .join("update")
        .join(ctx.app.as_str())
        .join(ctx.stage.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_is_the_serde_name() {
        for kind in Kind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
