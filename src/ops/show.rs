//! Show: the stage's checkpoint as it was at a revision, read from git
//! objects (the worktree is not touched): a summary (resources by type,
//! counts) and, on request, the whole checkpoint JSON.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::git::gitx;
use crate::git::remote::git_error;
use crate::ops::history::{author_time, commit_at, open_repo};
use crate::stage::project::{self, CommonOptions};
use crate::stage::state::check_checkpoint;

/// What [`show`] takes.
#[derive(Debug, Clone, Default)]
pub struct ShowOptions {
    /// Stage, app, project and folders.
    pub common: CommonOptions,
    /// The revision (default `HEAD`).
    pub rev: Option<String>,
    /// Include the whole checkpoint JSON.
    pub whole: bool,
}

/// The result of [`show`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowReport {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The revision as given.
    pub rev: String,
    /// The commit it names.
    pub commit: String,
    /// The commit's author time, RFC 3339 UTC.
    pub time: String,
    /// The commit's author.
    pub author: String,
    /// The checkpoint's path in the repository (from its root).
    pub path: String,
    /// The checkpoint's size in bytes.
    pub bytes: u64,
    /// `checkpoint.stack`.
    pub stack: Option<String>,
    /// Resources in `checkpoint.latest.resources`.
    pub resources: u32,
    /// Entries in `pending_operations` (non-zero: a run was interrupted).
    pub pending_operations: u32,
    /// Resources per Pulumi type, most frequent first (then by name).
    pub by_type: Vec<TypeCount>,
    /// The stage's other files present at the revision (`passphrase/dev.age`, ...).
    pub other_files: Vec<String>,
    /// The whole checkpoint, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Box<RawValue>>,
}

/// How many resources have one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeCount {
    /// The Pulumi type (`aws:lambda/function:Function`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// How many.
    pub count: u32,
}

#[derive(Deserialize)]
struct Top {
    checkpoint: Option<Checkpoint>,
}

#[derive(Deserialize)]
struct Checkpoint {
    stack: Option<String>,
    latest: Option<Latest>,
}

#[derive(Deserialize)]
struct Latest {
    resources: Option<Vec<Resource>>,
    #[allow(dead_code)]
    pending_operations: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "type")]
    type_name: Option<String>,
}

/// The stage's checkpoint at `options.rev`. Reads git objects only.
pub fn show(options: &ShowOptions, env: &Env) -> Result<ShowReport> {
    let ctx = project::resolve(&options.common, env)?;
    ctx.refuse_state_branch("show")?;
    let (repo, rel_root) = open_repo(&ctx)?;
    let rev = options.rev.clone().unwrap_or_else(|| "HEAD".into());
    let commit = commit_at(&repo, &rev, options.common.caller)?;
    let stage = ctx.stage.as_str();
    let path = gitx::tree_path(&rel_root, &ctx.state_dir.join(format!("app/{stage}.json")));
    let shown = camino::Utf8PathBuf::from(format!("{rev}:{path}"));
    let blob = gitx::blob_at(&commit, &path)?.ok_or_else(|| Error::StateMissing {
        file: shown.clone(),
    })?;
    let blob = repo
        .find_blob(blob)
        .map_err(|e| git_error("reading the checkpoint", &e))?;
    let bytes = blob.content();
    let info = check_checkpoint(&shown, bytes)?;
    let top: Top = serde_json::from_slice(bytes).map_err(|e| Error::StateCorrupt {
        file: shown.clone(),
        reason: format!("not a valid checkpoint: {e}"),
    })?;
    let checkpoint = top.checkpoint;
    let mut types: BTreeMap<String, u32> = BTreeMap::new();
    for r in checkpoint
        .as_ref()
        .and_then(|c| c.latest.as_ref())
        .and_then(|l| l.resources.as_ref())
        .into_iter()
        .flatten()
    {
        *types
            .entry(r.type_name.clone().unwrap_or_else(|| "(no type)".into()))
            .or_default() += 1;
    }
    let mut by_type: Vec<TypeCount> = types
        .into_iter()
        .map(|(type_name, count)| TypeCount { type_name, count })
        .collect();
    by_type.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.type_name.cmp(&b.type_name))
    });
    let mut other_files = Vec::new();
    for rel in [
        format!("passphrase/{stage}.age"),
        format!("passphrase/{stage}.json"),
        format!("secret/{stage}.json"),
    ] {
        let p = gitx::tree_path(&rel_root, &ctx.state_dir.join(&rel));
        if gitx::blob_at(&commit, &p)?.is_some() {
            other_files.push(p);
        }
    }
    let whole = if options.whole {
        Some(
            serde_json::from_slice::<Box<RawValue>>(bytes).map_err(|e| Error::StateCorrupt {
                file: shown.clone(),
                reason: format!("not valid JSON: {e}"),
            })?,
        )
    } else {
        None
    };
    let author = commit.author().name().unwrap_or("").to_string();
    Ok(ShowReport {
        app: ctx.app.to_string(),
        stage: stage.to_string(),
        rev,
        commit: commit.id().to_string(),
        time: author_time(&commit),
        author,
        path,
        bytes: bytes.len() as u64,
        stack: checkpoint.and_then(|c| c.stack),
        resources: info.resources,
        pending_operations: info.pending_operations,
        by_type,
        other_files,
        checkpoint: whole,
    })
}
