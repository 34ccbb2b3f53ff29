//! New stages: a stage whose state the repository does not hold (nor SST's
//! config dir). Outside CI that is a first deploy; in CI it is most often a
//! typo (`prd` for `prod`) that would deploy a whole new stage, so there it
//! is refused (`STAGE_UNKNOWN`) unless the caller allows new stages: the
//! flag `--allow-new-stage` / JS `allowNewStage` > env
//! `SST_LOCAL_STATE_NEW_STAGES` > `package.json` `sstLocalState.newStages`
//! (`true`, or name patterns such as `["pr-*"]` for per-pull-request
//! preview stages) > the default (allowed outside CI, refused in CI).

use camino::Utf8Path;
use serde::Deserialize;

use crate::ci_env;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::stage::names::FALLBACK_STAGE;
use crate::stage::project::{Caller, PackageSettings, StageContext};

/// Env variable: `1`/`true` (every new stage), `0`/`false` (none), or
/// comma-separated name patterns (`pr-*,preview-*`).
pub const NEW_STAGES_ENV: &str = "SST_LOCAL_STATE_NEW_STAGES";

/// `package.json` `sstLocalState.newStages`: `true`/`false`, or the name
/// patterns of the new stages that may be deployed (`*` any run of
/// characters, `?` one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum NewStages {
    /// Every new stage (`true`) or none (`false`).
    All(bool),
    /// New stages whose name matches one of these patterns.
    Matching(Vec<String>),
}

/// Which new stages may be deployed, and where that was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The patterns a new stage must match (`*` alone: every stage); empty: none.
    patterns: Vec<String>,
    /// Where it was decided, in the user's words (`--allow-new-stage`,
    /// `package.json sstLocalState.newStages`, `the default in CI (github-actions)`).
    pub origin: String,
}

impl Policy {
    /// The policy: `explicit` (flag or JS option) > env > `package.json` >
    /// the default (every new stage outside CI, none in CI).
    pub fn resolve(
        explicit: Option<bool>,
        caller: Caller,
        env: &Env,
        settings: &PackageSettings,
    ) -> Result<Policy> {
        let all = |yes: bool| {
            if yes {
                vec!["*".to_string()]
            } else {
                Vec::new()
            }
        };
        let (patterns, origin) = if let Some(yes) = explicit {
            (all(yes), caller.name("allowNewStage", "allow-new-stage"))
        } else if let Some(value) = env.non_empty(NEW_STAGES_ENV) {
            let origin = format!("env {NEW_STAGES_ENV}");
            let patterns = match value.trim() {
                "1" | "true" => all(true),
                "0" | "false" => all(false),
                list => patterns(list.split(',').map(str::trim), &origin)?,
            };
            (patterns, origin)
        } else if let Some(setting) = &settings.new_stages {
            let origin = "package.json sstLocalState.newStages".to_string();
            let patterns = match setting {
                NewStages::All(yes) => all(*yes),
                NewStages::Matching(list) => patterns(list.iter().map(String::as_str), &origin)?,
            };
            (patterns, origin)
        } else {
            match ci_env::detect(env) {
                Some(ci) => (all(false), format!("the default in CI ({})", ci.provider)),
                None => (all(true), "the default outside CI".to_string()),
            }
        };
        Ok(Policy { patterns, origin })
    }

    /// Whether a new stage named `stage` may be deployed.
    pub fn allows(&self, stage: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| glob(p.as_bytes(), stage.as_bytes()))
    }
}

/// The patterns of `list`, checked: a pattern is made of what a stage name
/// holds (letters, digits, `-`) and the wildcards `*` and `?`.
fn patterns<'a>(list: impl Iterator<Item = &'a str>, origin: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for pattern in list {
        let ok = !pattern.is_empty()
            && pattern
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '*' | '?'));
        if !ok {
            return Err(Error::option(
                origin,
                format!("{pattern:?} is not a stage name pattern (letters, digits, '-', and the wildcards '*' and '?'); use true, false or a list such as [\"pr-*\"]"),
            ));
        }
        out.push(pattern.to_string());
    }
    Ok(out)
}

/// Whether `name` matches `pattern` (`*`: any run of bytes, `?`: one).
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob(rest, &name[skip..])),
        Some((&p, rest)) => name
            .split_first()
            .is_some_and(|(&n, tail)| (p == b'?' || p == n) && glob(rest, tail)),
    }
}

/// The stages the repository's state folder holds state for (a checkpoint,
/// secrets or a passphrase), sorted; SST's `_fallback` left out.
pub fn known_stages(ctx: &StageContext) -> Vec<String> {
    let state = ctx.state_dir_abs();
    stages_named(
        STAGE_FOLDERS
            .iter()
            .flat_map(|key| names_in(&state.join(key))),
    )
}

/// The folders of the state folder whose files are named after their stage.
pub const STAGE_FOLDERS: [&str; 3] = ["app", "secret", "passphrase"];

/// The stages among the file stems `stems` of [`STAGE_FOLDERS`]' files
/// (the fallback pair and names that are no stage left out), sorted, once each.
pub fn stages_named(stems: impl Iterator<Item = String>) -> Vec<String> {
    let mut stages: Vec<String> = stems
        .filter(|s| s != FALLBACK_STAGE && crate::stage::names::Stage::parse(s, "").is_ok())
        .collect();
    stages.sort();
    stages.dedup();
    stages
}

/// The stems of the `.json` and `.age` files in `dir` (none when it cannot be read).
fn names_in(dir: &Utf8Path) -> Vec<String> {
    let Ok(entries) = dir.read_dir_utf8() else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| stem(e.file_name()))
        .collect()
}

/// The stem of a `.json` or `.age` file's name.
pub fn stem(name: &str) -> Option<String> {
    name.strip_suffix(".json")
        .or_else(|| name.strip_suffix(".age"))
        .map(str::to_string)
}

/// `STAGE_UNKNOWN` when the stage is new (the repository holds none of its
/// files, `known` being the stages it holds, and SST's config dir no
/// checkpoint of it) and `policy` does not allow it.
pub fn check(
    ctx: &StageContext,
    known: &[String],
    policy: &Policy,
    caller: Caller,
    config_has_checkpoint: bool,
) -> Result<()> {
    let stage = ctx.stage.as_str();
    if config_has_checkpoint || known.iter().any(|s| s == stage) || policy.allows(stage) {
        return Ok(());
    }
    Err(Error::StageUnknown {
        stage: stage.to_string(),
        holds: format!(
            "{} holds {}",
            ctx.state_dir,
            crate::error::known_list(known)
        ),
        origin: policy.origin.clone(),
        flag: caller.name("allowNewStage", "allow-new-stage"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> PackageSettings {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn globs() {
        for (pattern, name, matches) in [
            ("pr-*", "pr-123", true),
            ("pr-*", "pr-", true),
            ("pr-*", "prod", false),
            ("*", "anything", true),
            ("pr-?", "pr-1", true),
            ("pr-?", "pr-12", false),
            ("*-preview", "feature-x-preview", true),
            ("dev", "dev", true),
            ("dev", "dev2", false),
        ] {
            assert_eq!(
                glob(pattern.as_bytes(), name.as_bytes()),
                matches,
                "{pattern} {name}"
            );
        }
    }

    #[test]
    fn precedence_flag_env_package_default() {
        let ci = Env::from_pairs(&[("GITHUB_ACTIONS", "true")]);
        let none = PackageSettings::default();
        let pr = settings(r#"{"newStages":["pr-*"]}"#);
        let resolve = |explicit, env: &Env, s: &PackageSettings| {
            Policy::resolve(explicit, Caller::Cli, env, s).unwrap()
        };
        // the default: refused in CI, allowed outside
        let p = resolve(None, &ci, &none);
        assert!(!p.allows("prd"));
        assert_eq!(p.origin, "the default in CI (github-actions)");
        assert!(resolve(None, &Env::from_pairs(&[]), &none).allows("prd"));
        // package.json patterns, also outside CI
        let p = resolve(None, &ci, &pr);
        assert!(p.allows("pr-7") && !p.allows("prd"));
        assert!(!resolve(None, &Env::from_pairs(&[]), &pr).allows("prd"));
        assert!(resolve(None, &ci, &settings(r#"{"newStages":true}"#)).allows("prd"));
        // env over package.json; the flag over both
        let env = Env::from_pairs(&[
            ("GITHUB_ACTIONS", "true"),
            (NEW_STAGES_ENV, "qa-*, preview"),
        ]);
        let p = resolve(None, &env, &pr);
        assert!(p.allows("qa-1") && p.allows("preview") && !p.allows("pr-7"));
        assert_eq!(p.origin, "env SST_LOCAL_STATE_NEW_STAGES");
        assert!(resolve(Some(true), &env, &pr).allows("prd"));
        assert!(!resolve(Some(false), &Env::from_pairs(&[]), &none).allows("prd"));
        let env = Env::from_pairs(&[("GITHUB_ACTIONS", "true"), (NEW_STAGES_ENV, "true")]);
        assert!(resolve(None, &env, &none).allows("prd"));
    }

    #[test]
    fn bad_patterns_name_their_origin() {
        let bad = settings(r#"{"newStages":["pr/*"]}"#);
        let e = Policy::resolve(None, Caller::Js, &Env::from_pairs(&[]), &bad).unwrap_err();
        assert_eq!(e.code(), "INVALID_OPTION");
        assert!(
            e.to_string()
                .contains("package.json sstLocalState.newStages"),
            "{e}"
        );
        let env = Env::from_pairs(&[(NEW_STAGES_ENV, "pr-*,,x")]);
        let e = Policy::resolve(None, Caller::Js, &env, &PackageSettings::default()).unwrap_err();
        assert!(
            e.to_string().contains("env SST_LOCAL_STATE_NEW_STAGES"),
            "{e}"
        );
        let wrong_type = serde_json::from_str::<PackageSettings>(r#"{"newStages":"pr-*"}"#);
        assert!(wrong_type.is_err());
    }
}
