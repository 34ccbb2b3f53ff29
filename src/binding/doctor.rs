//! `doctorStage` (the CLI's `doctor`): its options, its result and the
//! result's conversion from the core's report.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_options, optional_options_from_js, JsOptions};
use super::promise::spawn_blocking;
use super::shared::{js_kind, ErrorCode};
use crate::env::Env as ProcessEnv;
use crate::ops::doctor::{self, Check, DoctorReport, Level};
use crate::stage::passphrase_mode::PassphraseMode;

js_options! {
    #[doc = "Options of `doctorStage` (without a stage, from here or env `SST_STAGE`,"]
    #[doc = "the stage's checks are skipped, with a warning)."]
    pub struct DoctorOptions {
        stage, app, cwd, state_dir, config_dir, passphrase_mode,
    }
}

js_kind! {
    #[doc = "How a check of `doctorStage` came out."]
    pub enum CheckLevel from Level {
        Ok = "ok",
        Warning = "warning",
        Error = "error",
    }
}

/// One check of `doctorStage`.
#[napi(object)]
pub struct DoctorCheckInfo {
    /// A stable name: `sst-config`, `config-dir`, `passphrase-mode`, `git`,
    /// `git-push`, `state-files`, `crashed-deploy`, `stage-lock`, `stage`,
    /// `ci`, `sst-version`.
    pub name: String,
    /// How it came out (`error`: will fail, fix it before deploying).
    pub level: CheckLevel,
    /// What was found.
    pub message: String,
    /// How to fix it (absent when ok).
    pub fix: Option<String>,
    /// The error code behind an error, if any.
    pub code: Option<ErrorCode>,
}

impl From<Check> for DoctorCheckInfo {
    fn from(c: Check) -> Self {
        DoctorCheckInfo {
            name: c.name.into(),
            level: c.level.into(),
            message: c.message,
            fix: c.fix,
            code: c.code.map(Into::into),
        }
    }
}

/// The result of `doctorStage`.
#[napi(object)]
pub struct DoctorResult {
    /// The stage checked, if one was given.
    pub stage: Option<String>,
    /// Every check, in order.
    pub checks: Vec<DoctorCheckInfo>,
    /// How many checks are errors.
    pub errors: u32,
    /// How many checks are warnings.
    pub warnings: u32,
}

impl From<DoctorReport> for DoctorResult {
    fn from(r: DoctorReport) -> Self {
        DoctorResult {
            stage: r.stage,
            checks: r.checks.into_iter().map(Into::into).collect(),
            errors: r.errors as u32,
            warnings: r.warnings as u32,
        }
    }
}

/// What is wrong with this setup, before a deploy fails: `sst.config.ts`,
/// SST's config dir, the passphrase mode, the git repository and remote (a
/// dry-run push, naming the credential sources, never a credential), and
/// with a stage its state files, SST's lock and pending operations of a
/// crashed deploy and the stage lock on the remote; then the CI and the
/// installed `sst` version. Each check is ok, warning or error with how to
/// fix it. Resolves with every check also when some fail (`errors` counts
/// them; the CLI exits 1 then); rejects only for a bad option, an unknown
/// key or a `passphraseMode` other than `age`, `env`, `plain`
/// (`INVALID_OPTION`). Reads only.
#[napi(
    ts_args_type = "options?: DoctorOptions | undefined | null",
    ts_return_type = "Promise<DoctorResult>"
)]
pub fn doctor_stage<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
) -> napi::Result<PromiseRaw<'env, DoctorResult>> {
    let core = optional_options_from_js(options, "doctorStage").and_then(|o: DoctorOptions| {
        // a bad mode is the caller's error (the CLI's is a usage error), not a failed check
        if let Some(mode) = &o.passphrase_mode {
            PassphraseMode::parse(mode, "options.passphraseMode")?;
        }
        Ok(doctor::DoctorOptions { common: o.common() })
    });
    spawn_blocking(
        env,
        move || Ok(doctor::doctor(&core?, &ProcessEnv::process())),
        Into::into,
    )
}
