//! What the commits of the operations say and who makes them: a state
//! commit's default message (`chore(sst-state): <app>/<stage> <summary>
//! [skip ci]`) with git trailers for audit (stage, app, SST update id and
//! command, resource counts, CI run URL), which a rollback's message shares;
//! values on one line (lock trailers too); and the author/committer
//! identity of every commit this tool makes (state, rollback, passphrase
//! and lock commits).

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::stage::layout::{sst_update_dir, Kind};
use crate::stage::project::StageContext;

/// The identity used when neither git config nor `GIT_AUTHOR_*`/`GIT_COMMITTER_*` give one.
pub const DEFAULT_NAME: &str = "sst-local-state";
/// The e-mail of the default identity.
pub const DEFAULT_EMAIL: &str = "sst-local-state@users.noreply.github.com";
/// The default message template; `{app}`, `{stage}` and `{summary}` are replaced.
pub const DEFAULT_TEMPLATE: &str = "chore(sst-state): {app}/{stage} {summary} [skip ci]";

/// SST's record of one run (`state/update/<app>/<stage>/<id>.json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRecord {
    /// SST's update id.
    pub id: String,
    /// The SST command (`deploy`, `remove`, `refresh`).
    pub command: Option<String>,
    /// When it started (RFC 3339).
    pub time_started: Option<String>,
    /// Errors SST recorded for resources.
    pub errors: Option<Vec<serde_json::Value>>,
}

/// The newest update record of the stage, if SST left any.
pub fn newest_update(ctx: &StageContext) -> Option<UpdateRecord> {
    let dir = sst_update_dir(ctx);
    let entries = std::fs::read_dir(&dir).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| serde_json::from_slice::<UpdateRecord>(&std::fs::read(e.path()).ok()?).ok())
        // newest start first; SST's ids sort newest-first as a tie-break
        .max_by(|a, b| {
            a.time_started
                .cmp(&b.time_started)
                .then_with(|| b.id.cmp(&a.id))
        })
}

/// The facts a message is made of.
#[derive(Debug, Clone, Default)]
pub struct MessageFacts {
    /// Kinds whose content changed.
    pub changed: BTreeSet<Kind>,
    /// Resource count before (the base commit's checkpoint).
    pub resources_before: Option<u32>,
    /// Resource count after.
    pub resources_after: Option<u32>,
    /// SST's newest update record.
    pub update: Option<UpdateRecord>,
    /// The CI run's URL.
    pub ci_run_url: Option<String>,
    /// More trailers (`Key: value`), from the caller (`run`: the command's exit code).
    pub extra: Vec<String>,
    /// The commit removes the stage: SST deleted its files (`sst remove` with
    /// `state.purge`); `changed` are the kinds removed.
    pub removed: bool,
}

/// A one-line summary of the change (`deploy: 3 -> 5 resources`, `secrets`, ...).
pub fn summary(facts: &MessageFacts) -> String {
    if facts.removed {
        let before = facts
            .resources_before
            .map_or(String::new(), |b| format!(", {b} -> 0 resources"));
        return format!("remove: stage removed by SST{before}");
    }
    let mut parts = Vec::new();
    if facts.changed.contains(&Kind::App) {
        let verb = facts
            .update
            .as_ref()
            .and_then(|u| u.command.clone())
            .unwrap_or_else(|| "update".into());
        match (facts.resources_before, facts.resources_after) {
            (Some(b), Some(a)) => parts.push(format!("{verb}: {b} -> {a} resources")),
            (None, Some(a)) => parts.push(format!("{verb}: {a} resources")),
            _ => parts.push(verb),
        }
    }
    if facts
        .changed
        .iter()
        .any(|k| matches!(k, Kind::Secret | Kind::FallbackSecret))
    {
        parts.push("secrets".into());
    }
    if facts
        .changed
        .iter()
        .any(|k| matches!(k, Kind::Passphrase | Kind::FallbackPassphrase))
    {
        parts.push("passphrase".into());
    }
    parts.join(", ")
}

/// `text` on one line: each control character (newline, carriage return,
/// tab, ...) becomes a space, so a value cannot add a line to a message.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The full commit message: the template's first line, a blank line,
/// trailers, each on one line (a newline in a value, such as a CI
/// variable's, cannot forge another trailer).
pub fn compose(ctx: &StageContext, template: Option<&str>, facts: &MessageFacts) -> String {
    let subject = template
        .unwrap_or(DEFAULT_TEMPLATE)
        .replace("{app}", ctx.app.as_str())
        .replace("{stage}", ctx.stage.as_str())
        .replace("{summary}", &one_line(&summary(facts)));
    let mut trailers = vec![
        format!("SST-App: {}", ctx.app),
        format!("SST-Stage: {}", ctx.stage),
    ];
    if facts.removed && facts.update.is_none() {
        // SST's purge deleted its update records too
        trailers.push("SST-Command: remove".to_string());
    }
    if let Some(update) = &facts.update {
        trailers.push(format!("SST-Update-Id: {}", update.id));
        if let Some(command) = &update.command {
            trailers.push(format!("SST-Command: {command}"));
        }
        if let Some(errors) = update.errors.as_ref().filter(|e| !e.is_empty()) {
            trailers.push(format!("SST-Errors: {}", errors.len()));
        }
    }
    if facts.resources_before.is_some() || facts.resources_after.is_some() {
        let show = |n: Option<u32>| n.map_or("-".to_string(), |n| n.to_string());
        trailers.push(format!(
            "SST-Resources: {} -> {}",
            show(facts.resources_before),
            show(facts.resources_after)
        ));
    }
    let files: Vec<&str> = facts.changed.iter().map(|k| k.label()).collect();
    trailers.push(format!("SST-Files: {}", files.join(", ")));
    if let Some(url) = &facts.ci_run_url {
        trailers.push(format!("CI-Run: {url}"));
    }
    trailers.extend(facts.extra.iter().cloned());
    let trailers: Vec<String> = trailers.iter().map(|t| one_line(t)).collect();
    format!("{}\n\n{}\n", subject.trim(), trailers.join("\n"))
}

/// Author and committer: git config `user.name`/`user.email`, else
/// `GIT_AUTHOR_*` / `GIT_COMMITTER_*`, else the default bot identity.
pub fn identities(
    repo: &git2::Repository,
    env: &Env,
) -> Result<(git2::Signature<'static>, git2::Signature<'static>)> {
    let config = repo.config().ok();
    let get = |key: &str| {
        config
            .as_ref()
            .and_then(|c| c.get_string(key).ok())
            .filter(|v| !v.trim().is_empty())
    };
    let (cfg_name, cfg_email) = (get("user.name"), get("user.email"));
    let make = |role: &str| -> Result<git2::Signature<'static>> {
        let name = env
            .non_empty(&format!("GIT_{role}_NAME"))
            .map(str::to_string)
            .or_else(|| cfg_name.clone())
            .unwrap_or_else(|| DEFAULT_NAME.into());
        let email = env
            .non_empty(&format!("GIT_{role}_EMAIL"))
            .map(str::to_string)
            .or_else(|| cfg_email.clone())
            .unwrap_or_else(|| DEFAULT_EMAIL.into());
        git2::Signature::now(&name, &email).map_err(|e| {
            Error::option(
                format!("GIT_{role}_NAME / GIT_{role}_EMAIL / user.name"),
                e.message().to_string(),
            )
        })
    };
    Ok((make("AUTHOR")?, make("COMMITTER")?))
}
