//! The SST project a command works on: its root (the nearest
//! `sst.config.ts`), its settings, and every common option resolved with
//! one precedence: explicit option/flag > env `SST_LOCAL_STATE_*` >
//! `"sstLocalState"` in the project's `package.json` > defaults.

use camino::{Utf8Component, Utf8Path, Utf8PathBuf};
use serde::Deserialize;

use crate::ci_env;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::sst::config_dir::{resolve_config_dir, Platform};
use crate::sst::sst_config::{
    read_app_config, AppConfig, ConfigParseError, StaticValue, MAX_NESTING,
};
use crate::stage::names::{App, Stage};
use crate::warning::Warning;

/// The file SST looks for to find a project.
pub const CONFIG_FILE: &str = "sst.config.ts";
/// Default state folder, relative to the project root (the seed recipe's).
pub const DEFAULT_STATE_DIR: &str = "infra/state";

/// Who is asking: decides how options are named in error messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Caller {
    /// The JS API (`options.stage`).
    #[default]
    Js,
    /// The CLI (`--stage`).
    Cli,
}

impl Caller {
    /// The name of an option for this caller: `options.<js>` or `--<flag>`.
    pub fn name(self, js: &str, flag: &str) -> String {
        match self {
            Caller::Js => format!("options.{js}"),
            Caller::Cli => format!("--{flag}"),
        }
    }

    /// How this caller forces a refused prepare: `--force` or `force: true`.
    pub fn force_flag(self) -> String {
        match self {
            Caller::Js => "`force: true`".into(),
            Caller::Cli => "--force".into(),
        }
    }
}

/// Options every stage command takes, as the caller gave them.
#[derive(Debug, Clone, Default)]
pub struct CommonOptions {
    /// Stage name; else env `SST_STAGE`.
    pub stage: Option<String>,
    /// App name; else env, `package.json`, then `sst.config.ts`.
    pub app: Option<String>,
    /// Where to start looking for `sst.config.ts`; else the process's cwd.
    pub cwd: Option<Utf8PathBuf>,
    /// State folder relative to the project root; default `infra/state`.
    pub state_dir: Option<String>,
    /// SST's config dir; default as SST computes it.
    pub config_dir: Option<Utf8PathBuf>,
    /// Who is asking (for error wording).
    pub caller: Caller,
    /// Where the passphrase lives (`age`, `env`, `plain`); else env
    /// `SST_LOCAL_STATE_PASSPHRASE_MODE`, `package.json`, `age`.
    pub passphrase_mode: Option<String>,
    /// State-branch mode: the branch that holds the state (else env
    /// `SST_LOCAL_STATE_STATE_BRANCH`, `package.json` `stateBranch`; none:
    /// the state lives on the code branch).
    pub state_branch: Option<String>,
}

/// The `"sstLocalState"` object of the project's `package.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackageSettings {
    /// App name.
    pub app: Option<String>,
    /// State folder.
    pub state_dir: Option<String>,
    /// SST config dir.
    pub config_dir: Option<String>,
    /// Branch to push state commits to.
    pub branch: Option<String>,
    /// State-branch mode: the branch that holds the state.
    pub state_branch: Option<String>,
    /// Remote to push to.
    pub remote: Option<String>,
    /// Commit message template.
    pub message: Option<String>,
    /// Allow committing a new passphrase in plain text (no age recipients).
    pub plaintext_passphrase: Option<bool>,
    /// Where the passphrase lives: `age`, `env` or `plain`.
    pub passphrase: Option<String>,
    /// Where stage locks live on the remote (a ref prefix).
    pub lock_prefix: Option<String>,
    /// Which new stages (none of whose state the repository holds) prepare
    /// may deploy: `true`, `false`, or name patterns (`["pr-*"]`); default:
    /// every one outside CI, none in CI.
    pub new_stages: Option<crate::stage::new_stage::NewStages>,
}

/// A project and stage with every common option resolved and validated.
#[derive(Debug, Clone)]
pub struct StageContext {
    /// Directory holding `sst.config.ts`.
    pub project_root: Utf8PathBuf,
    /// App name.
    pub app: App,
    /// Stage name.
    pub stage: Stage,
    /// State folder, relative to the project root (always inside it).
    pub state_dir: Utf8PathBuf,
    /// SST's config dir.
    pub config_dir: Utf8PathBuf,
    /// The `package.json` settings (for command-specific options).
    pub settings: PackageSettings,
    /// Non-fatal findings worth telling the user.
    pub warnings: Vec<crate::warning::Warning>,
    /// Where the stage passphrase lives, and where that was chosen.
    pub passphrase_mode: crate::stage::passphrase_mode::ChosenMode,
    /// State-branch mode: the branch holding the state (None: the code branch).
    pub state_branch: Option<String>,
}

impl StageContext {
    /// The state folder as an absolute path.
    pub fn state_dir_abs(&self) -> Utf8PathBuf {
        self.project_root.join(&self.state_dir)
    }

    /// `INVALID_OPTION` in state-branch mode for a `command` that does not
    /// support it yet (rather than reading the code branch's state).
    pub fn refuse_state_branch(&self, command: &str) -> Result<()> {
        refuse_state_branch(self.state_branch.as_deref(), command)
    }
}

/// `INVALID_OPTION` when `state_branch` is set: `command` is not yet
/// supported with a state branch.
pub fn refuse_state_branch(state_branch: Option<&str>, command: &str) -> Result<()> {
    match state_branch {
        None => Ok(()),
        Some(branch) => Err(Error::option(
            "state branch",
            format!("{command} is not yet supported with a state branch ({branch:?}): run it without state-branch mode (no --state-branch, env SST_LOCAL_STATE_STATE_BRANCH or package.json sstLocalState.stateBranch)"),
        )),
    }
}

/// Resolves `options` in `env`. Reads `sst.config.ts` and `package.json`;
/// writes nothing.
pub fn resolve(options: &CommonOptions, env: &Env) -> Result<StageContext> {
    let stage = stage_of(options, env)?;
    let explicit_app = explicit_app(options, env)?;
    let Location {
        project_root,
        settings,
        state_dir,
        config_dir,
        state_branch,
    } = resolve_location(options, env)?;
    let config = SstConfig::read(&project_root)?;
    let warnings = config.check_home(explicit_app.is_some() || settings.app.is_some())?;
    let app = match (explicit_app, &settings.app) {
        (Some(app), _) => app,
        (None, Some(a)) => App::parse(
            a,
            &format!("{}/package.json sstLocalState.app", project_root),
        )?,
        (None, None) => config.app_name()?,
    };
    let passphrase_mode = crate::stage::passphrase_mode::resolve(
        options.passphrase_mode.as_deref(),
        options.caller,
        env,
        &settings,
    )?;
    Ok(StageContext {
        project_root,
        app,
        stage,
        state_dir,
        config_dir,
        settings,
        warnings,
        passphrase_mode,
        state_branch,
    })
}

/// The stage: the option, else env `SST_STAGE` (`STAGE_REQUIRED` when neither).
fn stage_of(options: &CommonOptions, env: &Env) -> Result<Stage> {
    match (&options.stage, env.get("SST_STAGE")) {
        (Some(s), _) => Stage::parse(s, &options.caller.name("stage", "stage")),
        (None, Some(s)) => Stage::parse(s, "env SST_STAGE"),
        (None, None) => Err(Error::StageRequired),
    }
}

/// The app name given by the option or env `SST_LOCAL_STATE_APP`, if any.
fn explicit_app(options: &CommonOptions, env: &Env) -> Result<Option<App>> {
    match (&options.app, env.get("SST_LOCAL_STATE_APP")) {
        (Some(a), _) => App::parse(a, &options.caller.name("app", "app")).map(Some),
        (None, Some(a)) => App::parse(a, "env SST_LOCAL_STATE_APP").map(Some),
        (None, None) => Ok(None),
    }
}

/// The project's `sst.config.ts`: where it is and what it statically says.
struct SstConfig {
    /// Its path.
    file: Utf8PathBuf,
    /// Its `app()` facts, or why they could not be read.
    parsed: std::result::Result<AppConfig, ConfigParseError>,
}

impl SstConfig {
    /// Reads and parses the `sst.config.ts` in `project_root`.
    fn read(project_root: &Utf8Path) -> Result<SstConfig> {
        let file = project_root.join(CONFIG_FILE);
        let source = std::fs::read_to_string(&file).map_err(|e| Error::io("reading", &file, e))?;
        let parsed = read_app_config(&source);
        Ok(SstConfig { file, parsed })
    }

    /// Refuses a `home` other than `"local"`; warns when it cannot be
    /// checked. With `app_known` (the name given elsewhere), a config that
    /// cannot be read is only a warning.
    fn check_home(&self, app_known: bool) -> Result<Vec<Warning>> {
        let file = || self.file.clone();
        let warning = match &self.parsed {
            Ok(cfg) => match &cfg.home {
                StaticValue::Literal(home) if home != "local" => {
                    return Err(Error::HomeNotLocal {
                        file: file(),
                        home: home.clone(),
                    })
                }
                StaticValue::Literal(_) => None,
                StaticValue::Dynamic => Some(Warning::HomeDynamic { file: file() }),
                StaticValue::Absent => Some(Warning::HomeAbsent { file: file() }),
            },
            // With the app name given, the config is only needed to check `home`: a config that
            // cannot be read (too deep, a syntax error, no app()) is not a reason to stop.
            Err(e) if app_known => Some(Warning::HomeUnchecked {
                file: file(),
                reason: e.to_string(),
            }),
            Err(_) => None,
        };
        Ok(warning.into_iter().collect())
    }

    /// The app name `app()` returns (`APP_NAME_UNRESOLVED` or
    /// `SST_CONFIG_TOO_DEEP` when it cannot be read statically).
    fn app_name(self) -> Result<App> {
        let unresolved = |file, reason: String| Error::AppNameUnresolved { file, reason };
        match self.parsed {
            Ok(cfg) => match cfg.name {
                StaticValue::Literal(name) => App::parse(&name, self.file.as_str()),
                StaticValue::Dynamic => Err(unresolved(
                    self.file,
                    "`name` in app() is not a string literal".into(),
                )),
                StaticValue::Absent => Err(unresolved(self.file, "app() returns no `name`".into())),
            },
            Err(ConfigParseError::TooDeep { line, column }) => Err(Error::SstConfigTooDeep {
                file: self.file,
                limit: MAX_NESTING,
                line,
                column,
            }),
            Err(e) => Err(unresolved(self.file, e.to_string())),
        }
    }
}

/// Where a project and its state live, without a stage.
#[derive(Debug, Clone)]
pub struct Location {
    /// Directory holding `sst.config.ts`.
    pub project_root: Utf8PathBuf,
    /// The `package.json` settings.
    pub settings: PackageSettings,
    /// State folder, relative to the project root.
    pub state_dir: Utf8PathBuf,
    /// SST's config dir.
    pub config_dir: Utf8PathBuf,
    /// State-branch mode: the branch holding the state.
    pub state_branch: Option<String>,
}

/// Resolves the project root, settings, state folder and config dir of
/// `options` (stage and app are not needed).
pub fn resolve_location(options: &CommonOptions, env: &Env) -> Result<Location> {
    let caller = options.caller;
    let cwd = absolute_cwd(options.cwd.as_deref(), &caller.name("cwd", "cwd"))?;
    let project_root = find_project_root(&cwd)?;
    let settings = read_package_settings(&project_root)?;
    let state_dir = match (
        &options.state_dir,
        env.get("SST_LOCAL_STATE_STATE_DIR"),
        &settings.state_dir,
    ) {
        (Some(d), _, _) => validate_state_dir(d, &caller.name("stateDir", "state-dir"))?,
        (None, Some(d), _) => validate_state_dir(d, "env SST_LOCAL_STATE_STATE_DIR")?,
        (None, None, Some(d)) => validate_state_dir(d, "package.json sstLocalState.stateDir")?,
        (None, None, None) => Utf8PathBuf::from(DEFAULT_STATE_DIR),
    };

    let config_dir = match (
        &options.config_dir,
        env.get("SST_LOCAL_STATE_CONFIG_DIR"),
        &settings.config_dir,
    ) {
        (Some(d), _, _) => validate_config_dir(d, &cwd, &caller.name("configDir", "config-dir"))?,
        (None, Some(d), _) => {
            validate_config_dir(Utf8Path::new(d), &cwd, "env SST_LOCAL_STATE_CONFIG_DIR")?
        }
        (None, None, Some(d)) => validate_config_dir(
            Utf8Path::new(d),
            &project_root,
            "package.json sstLocalState.configDir",
        )?,
        (None, None, None) => resolve_config_dir(env, Platform::current())?.into(),
    };

    let state_branch = state_branch_of(options, env, &settings)?;
    Ok(Location {
        project_root,
        settings,
        state_dir,
        config_dir,
        state_branch,
    })
}

/// State-branch mode's branch: the option > env
/// `SST_LOCAL_STATE_STATE_BRANCH` > `package.json` `stateBranch`, checked
/// as a branch name (`INVALID_OPTION` naming where it came from).
fn state_branch_of(
    options: &CommonOptions,
    env: &Env,
    settings: &PackageSettings,
) -> Result<Option<String>> {
    let (value, origin) = match (
        &options.state_branch,
        env.non_empty(STATE_BRANCH_ENV),
        &settings.state_branch,
    ) {
        (Some(b), _, _) => (
            b.clone(),
            options.caller.name("stateBranch", "state-branch"),
        ),
        (None, Some(b), _) => (b.to_string(), format!("env {STATE_BRANCH_ENV}")),
        (None, None, Some(b)) => (b.clone(), "package.json sstLocalState.stateBranch".into()),
        (None, None, None) => return Ok(None),
    };
    let branch = value.strip_prefix("refs/heads/").unwrap_or(&value);
    if branch.is_empty() || !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
        return Err(Error::option(
            origin,
            format!("{value:?} is not a valid branch name"),
        ));
    }
    Ok(Some(branch.to_string()))
}

/// Env variable choosing state-branch mode (the branch holding the state).
pub const STATE_BRANCH_ENV: &str = "SST_LOCAL_STATE_STATE_BRANCH";

/// The value of an option: the explicit one (flag or JS option), else the
/// environment's, else `package.json`'s.
pub fn pick(
    explicit: &Option<String>,
    env: Option<&str>,
    settings: &Option<String>,
) -> Option<String> {
    explicit
        .clone()
        .or_else(|| env.map(str::to_string))
        .or_else(|| settings.clone())
}

/// The remote to push to: `explicit` > env `SST_LOCAL_STATE_REMOTE` >
/// `package.json` > `origin`.
pub fn remote_name(explicit: &Option<String>, env: &Env, settings: &PackageSettings) -> String {
    pick(
        explicit,
        env.non_empty("SST_LOCAL_STATE_REMOTE"),
        &settings.remote,
    )
    .unwrap_or_else(|| "origin".into())
}

/// The branch state commits go to: `--branch` (`explicit`) > env >
/// `package.json` > CI variables > the checked-out branch.
pub fn pick_branch(
    explicit: &Option<String>,
    caller: Caller,
    settings: &PackageSettings,
    env: &Env,
    repo: &git2::Repository,
) -> Result<String> {
    let flag = caller.name("branch", "branch");
    let chosen = pick(
        explicit,
        env.non_empty("SST_LOCAL_STATE_BRANCH"),
        &settings.branch,
    )
    .or_else(|| ci_env::detect(env).and_then(|ci| ci.branch))
    .or_else(|| {
        let head = repo.head().ok()?;
        head.is_branch()
            .then(|| head.shorthand().ok().map(str::to_string))
            .flatten()
    })
    .ok_or(Error::NoBranch)?;
    let branch = chosen
        .strip_prefix("refs/heads/")
        .unwrap_or(&chosen)
        .to_string();
    if !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
        return Err(Error::option(
            flag,
            format!("{branch:?} is not a valid branch name"),
        ));
    }
    Ok(branch)
}

/// `cwd` made absolute against the process's working directory.
pub fn absolute_cwd(cwd: Option<&Utf8Path>, flag: &str) -> Result<Utf8PathBuf> {
    let process_cwd = || -> Result<Utf8PathBuf> {
        let dir = std::env::current_dir()
            .map_err(|e| Error::io("reading the working directory", ".", e))?;
        Utf8PathBuf::from_path_buf(dir).map_err(|p| {
            Error::option(
                flag,
                format!("the working directory {} is not UTF-8", p.display()),
            )
        })
    };
    let dir = match cwd {
        Some(d) if d.is_absolute() => d.to_path_buf(),
        Some(d) => process_cwd()?.join(d),
        None => process_cwd()?,
    };
    if !dir.is_dir() {
        return Err(Error::option(flag, format!("{dir} is not a directory")));
    }
    Ok(dir)
}

/// The nearest directory at or above `cwd` that holds `sst.config.ts`.
pub fn find_project_root(cwd: &Utf8Path) -> Result<Utf8PathBuf> {
    cwd.ancestors()
        .find(|dir| dir.join(CONFIG_FILE).is_file())
        .map(Utf8Path::to_path_buf)
        .ok_or_else(|| Error::ProjectNotFound {
            cwd: cwd.to_path_buf(),
        })
}

/// The `"sstLocalState"` object of `<root>/package.json` (defaults when
/// there is no such file or key).
pub fn read_package_settings(root: &Utf8Path) -> Result<PackageSettings> {
    #[derive(Deserialize)]
    struct PackageJson {
        #[serde(rename = "sstLocalState")]
        sst_local_state: Option<serde_json::Value>,
    }
    let path = root.join("package.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PackageSettings::default()),
        Err(e) => return Err(Error::io("reading", path, e)),
    };
    let pkg: PackageJson = serde_json::from_str(&text)
        .map_err(|e| Error::option(format!("{path}"), format!("not valid JSON: {e}")))?;
    match pkg.sst_local_state {
        None => Ok(PackageSettings::default()),
        Some(value) => serde_json::from_value(value)
            .map_err(|e| Error::option(format!("{path} \"sstLocalState\""), e.to_string())),
    }
}

/// A state folder must be a relative path that stays inside the project.
fn validate_state_dir(value: &str, origin: &str) -> Result<Utf8PathBuf> {
    let path = Utf8Path::new(value);
    let bad = |reason: &str| Err(Error::option(origin, format!("{value:?} {reason}")));
    if value.is_empty() {
        return bad("is empty");
    }
    if path.is_absolute() || path.has_root() {
        return bad("must be relative to the project root");
    }
    let mut clean = Utf8PathBuf::new();
    for component in path.components() {
        match component {
            Utf8Component::Normal(part) => clean.push(part),
            Utf8Component::CurDir => {}
            _ => return bad("must stay inside the project (no `..`)"),
        }
    }
    if clean.as_str().is_empty() {
        return bad("must name a folder below the project root");
    }
    Ok(clean)
}

fn validate_config_dir(value: &Utf8Path, base: &Utf8Path, origin: &str) -> Result<Utf8PathBuf> {
    if value.as_str().is_empty() {
        return Err(Error::option(origin, "is empty"));
    }
    Ok(base.join(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_dir_rules() {
        assert_eq!(
            validate_state_dir("infra/state", "x").unwrap(),
            "infra/state"
        );
        assert_eq!(validate_state_dir("./a/./b/", "x").unwrap(), "a/b");
        for bad in ["", "/etc", "../x", "a/../../b", ".", "a/.."] {
            let e = validate_state_dir(bad, "--state-dir").unwrap_err();
            assert_eq!(e.code(), "INVALID_OPTION", "{bad}");
            assert!(e.to_string().contains("--state-dir"));
        }
    }

    #[test]
    fn state_branch_precedence_and_names() {
        let settings = |b: Option<&str>| PackageSettings {
            state_branch: b.map(str::to_string),
            ..PackageSettings::default()
        };
        let options = |b: Option<&str>| CommonOptions {
            state_branch: b.map(str::to_string),
            caller: Caller::Cli,
            ..CommonOptions::default()
        };
        let env = Env::from_pairs(&[(STATE_BRANCH_ENV, "from-env")]);
        let none = Env::from_pairs(&[]);
        let of = |o, e, s| state_branch_of(&options(o), e, &settings(s)).unwrap();
        assert_eq!(of(Some("flag"), &env, Some("pkg")).as_deref(), Some("flag"));
        assert_eq!(of(None, &env, Some("pkg")).as_deref(), Some("from-env"));
        assert_eq!(of(None, &none, Some("pkg")).as_deref(), Some("pkg"));
        assert_eq!(of(None, &none, None), None);
        assert_eq!(
            of(Some("refs/heads/sst-state"), &none, None).as_deref(),
            Some("sst-state")
        );
        let bad =
            |o, e, s: Option<&str>| state_branch_of(&options(o), e, &settings(s)).unwrap_err();
        let e = bad(Some("a..b"), &none, None);
        assert_eq!(e.code(), "INVALID_OPTION");
        assert!(e.to_string().contains("--state-branch"), "{e}");
        let spaced = Env::from_pairs(&[(STATE_BRANCH_ENV, "a b")]);
        let e = bad(None, &spaced, None);
        assert!(e.to_string().contains(STATE_BRANCH_ENV), "{e}");
        let e = bad(None, &none, Some("x~"));
        assert!(e.to_string().contains("sstLocalState.stateBranch"), "{e}");
        let e = bad(Some(""), &none, None);
        assert_eq!(e.code(), "INVALID_OPTION");
    }

    #[test]
    fn state_branch_mode_refused_by_name() {
        assert!(refuse_state_branch(None, "history").is_ok());
        let e = refuse_state_branch(Some("sst-state"), "history").unwrap_err();
        assert_eq!(e.code(), "INVALID_OPTION");
        assert!(
            e.to_string()
                .contains("history is not yet supported with a state branch"),
            "{e}"
        );
    }

    #[test]
    fn caller_names() {
        assert_eq!(Caller::Js.name("stateDir", "state-dir"), "options.stateDir");
        assert_eq!(Caller::Cli.name("stateDir", "state-dir"), "--state-dir");
    }
}
