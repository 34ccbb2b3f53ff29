//! Where the stage passphrase lives: `age` (committed age-encrypted, the
//! default), `plain` (committed in plain text, an explicit opt-in) or `env`
//! (never in the repository: the CI secret store holds it and hands it over
//! as `SST_PASSPHRASE`). Chosen by `--passphrase` (JS `passphraseMode`) > env
//! `SST_LOCAL_STATE_PASSPHRASE_MODE` > `package.json` `sstLocalState.passphrase` > `age`.
//!
//! Checked with the real `sst` 4.17.1: SST reads `SST_PASSPHRASE` only when
//! it *creates* a passphrase (`secret set`, deploy: "passphrase not found,
//! setting passphrase"), for the stage and for `_fallback` alike, and writes
//! it to its passphrase file; a command that only reads (`secret list`)
//! with no passphrase file fails ("crypto/aes: invalid key size 0") even
//! with `SST_PASSPHRASE` set. So in env mode prepare writes the passphrase
//! files into SST's config dir from the environment.

use serde::Serialize;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::stage::layout::{Kind, StateFile};
use crate::stage::project::{Caller, PackageSettings, StageContext};
use crate::stage::state::StateSet;

/// Env variable choosing the mode.
pub const MODE_ENV: &str = "SST_LOCAL_STATE_PASSPHRASE_MODE";
/// SST's own variable: the stage's passphrase.
pub const PASSPHRASE_ENV: &str = "SST_PASSPHRASE";
/// The fallback secrets' passphrase, when it is not `SST_PASSPHRASE`.
pub const FALLBACK_ENV: &str = "SST_LOCAL_STATE_FALLBACK_PASSPHRASE";

/// Where the stage passphrase lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PassphraseMode {
    /// Committed age-encrypted (`passphrase/<stage>.age`).
    #[default]
    Age,
    /// Never in the repository: `SST_PASSPHRASE`.
    Env,
    /// Committed in plain text (`passphrase/<stage>.json`).
    Plain,
}

/// The mode and where it was chosen (for messages).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChosenMode {
    /// The mode.
    pub mode: PassphraseMode,
    /// `--passphrase`, `env …`, `package.json …` or `default`.
    pub origin: String,
}

impl PassphraseMode {
    /// The mode named `value` (`age`, `env`, `plain`); `INVALID_OPTION`
    /// naming `origin` otherwise.
    pub fn parse(value: &str, origin: &str) -> Result<Self> {
        match value {
            "age" => Ok(PassphraseMode::Age),
            "env" => Ok(PassphraseMode::Env),
            "plain" => Ok(PassphraseMode::Plain),
            other => Err(Error::option(
                origin,
                format!("{other:?} is not a passphrase mode: age, env or plain"),
            )),
        }
    }

    /// Whether the repository never holds `kind` in this mode.
    pub fn keeps_out(self, kind: Kind) -> bool {
        self == PassphraseMode::Env && kind.is_passphrase()
    }
}

/// The mode of a run: `flag` > env > `package.json` > `age`.
pub fn resolve(
    flag: Option<&str>,
    caller: Caller,
    env: &Env,
    settings: &PackageSettings,
) -> Result<ChosenMode> {
    let (value, origin) = match (flag, env.non_empty(MODE_ENV), &settings.passphrase) {
        (Some(v), _, _) => (v, caller.name("passphraseMode", "passphrase")),
        (None, Some(v), _) => (v, format!("env {MODE_ENV}")),
        (None, None, Some(v)) => (v.as_str(), "package.json sstLocalState.passphrase".into()),
        (None, None, None) => {
            return Ok(ChosenMode {
                mode: PassphraseMode::Age,
                origin: "default".into(),
            })
        }
    };
    Ok(ChosenMode {
        mode: PassphraseMode::parse(value, &origin)?,
        origin,
    })
}

/// The variable that holds `kind`'s passphrase in env mode.
pub fn variable(env: &Env, kind: Kind) -> &'static str {
    if kind == Kind::FallbackPassphrase && env.non_empty(FALLBACK_ENV).is_some() {
        FALLBACK_ENV
    } else {
        PASSPHRASE_ENV
    }
}

/// `kind`'s passphrase from the environment (env mode), exactly as SST
/// would write it; `PASSPHRASE_MISSING` naming the variable when unset.
pub fn from_env(env: &Env, kind: Kind, chosen: &ChosenMode) -> Result<Vec<u8>> {
    let name = variable(env, kind);
    match env.non_empty(name) {
        Some(value) => Ok(value.trim().as_bytes().to_vec()),
        None => Err(Error::PassphraseEnvMissing {
            variable: name,
            origin: chosen.origin.clone(),
        }),
    }
}

/// Commit in env mode: the config dir's passphrase must be the one in the
/// environment (when the variable is set): one SST made because prepare did
/// not run would leave every secret undecryptable (`PASSPHRASE_MISMATCH`).
pub fn check_config_passphrase(
    ctx: &StageContext,
    files: &[StateFile],
    collected: &StateSet,
    env: &Env,
) -> Result<()> {
    if ctx.passphrase_mode.mode != PassphraseMode::Env {
        return Ok(());
    }
    for file in files.iter().filter(|f| f.kind.is_passphrase()) {
        let name = variable(env, file.kind);
        let (Some(ours), Some(expected)) = (collected.get(file.kind), env.non_empty(name)) else {
            continue;
        };
        if ours != expected.trim().as_bytes() {
            return Err(Error::PassphraseMismatch {
                file: file.config_path.clone(),
                repo_file: format!("env {name}").into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_over_env_over_package_json() {
        let settings = PackageSettings {
            passphrase: Some("plain".into()),
            ..PackageSettings::default()
        };
        let env = Env::from_pairs(&[(MODE_ENV, "env")]);
        let none = Env::from_pairs(&[]);
        let m = |flag, env, s| resolve(flag, Caller::Cli, env, s).unwrap().mode;
        assert_eq!(m(Some("age"), &env, &settings), PassphraseMode::Age);
        assert_eq!(m(None, &env, &settings), PassphraseMode::Env);
        assert_eq!(m(None, &none, &settings), PassphraseMode::Plain);
        assert_eq!(
            m(None, &none, &PackageSettings::default()),
            PassphraseMode::Age
        );
        let err = resolve(Some("aes"), Caller::Cli, &none, &settings).unwrap_err();
        assert!(err.to_string().contains("--passphrase"), "{err}");
        let err = resolve(Some("aes"), Caller::Js, &none, &settings).unwrap_err();
        assert_eq!(err.code(), "INVALID_OPTION");
        assert!(err.to_string().contains("options.passphraseMode"), "{err}");
    }

    #[test]
    fn the_missing_variable_is_named_never_a_value() {
        let chosen = ChosenMode {
            mode: PassphraseMode::Env,
            origin: "env X".into(),
        };
        let err = from_env(&Env::from_pairs(&[]), Kind::Passphrase, &chosen).unwrap_err();
        assert_eq!(err.code(), "PASSPHRASE_MISSING");
        assert!(err.to_string().contains("set SST_PASSPHRASE"), "{err}");
        let env = Env::from_pairs(&[(FALLBACK_ENV, "Zm9v"), (PASSPHRASE_ENV, "YmFy")]);
        assert_eq!(variable(&env, Kind::FallbackPassphrase), FALLBACK_ENV);
        assert_eq!(from_env(&env, Kind::Passphrase, &chosen).unwrap(), b"YmFy");
        assert_eq!(
            from_env(&env, Kind::FallbackPassphrase, &chosen).unwrap(),
            b"Zm9v"
        );
    }
}
