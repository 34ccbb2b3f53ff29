//! Prune: removes a stage's old run records from SST's config dir. SST
//! writes one `update`, and for a completed run one `snapshot` and one
//! `eventlog`, file per run (`state/<kind>/<app>/<stage>/<updateID>.json`)
//! and its local home never removes them. Update ids are 24 lowercase hex
//! characters that sort newest first ("descending", checked with the real
//! SST CLI), so the newest N are the first N in byte order. Only files named
//! `<24 hex>.json` in those three folders are candidates; nothing else is
//! touched, and a symbolic link on the way refuses the whole run.

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsx;
use crate::sst::lock::read_sst_lock;
use crate::stage::layout;
use crate::stage::project::{self, CommonOptions, StageContext};

/// The folders of SST's run records, below `state/`.
pub const RECORD_KINDS: [&str; 3] = ["update", "snapshot", "eventlog"];

/// What [`prune`] takes.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// Stage, app, project and folders.
    pub common: CommonOptions,
    /// How many runs (update ids) to keep, newest first.
    pub keep: usize,
    /// Report what would be removed; remove nothing.
    pub dry_run: bool,
}

/// One file removed (or, on a dry run, to remove).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrunedFile {
    /// `update`, `snapshot` or `eventlog`.
    pub kind: &'static str,
    /// SST's update id.
    pub update_id: String,
    /// The file.
    pub path: Utf8PathBuf,
    /// Its size.
    pub bytes: u64,
}

/// The result of [`prune`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// SST's config dir.
    pub config_dir: Utf8PathBuf,
    /// The update ids kept, newest first.
    pub kept: Vec<String>,
    /// The files removed (or to remove, on a dry run), newest run first.
    pub removed: Vec<PrunedFile>,
    /// Bytes freed (or to free).
    pub bytes: u64,
    /// The update id of a run holding SST's lock, kept whatever `keep` says.
    pub locked_update_id: Option<String>,
    /// Whether nothing was removed.
    pub dry_run: bool,
}

/// `<configDir>/state/<kind>/<app>/<stage>`, relative to the config dir.
fn records_rel(ctx: &StageContext, kind: &str) -> Utf8PathBuf {
    Utf8PathBuf::from("state")
        .join(kind)
        .join(ctx.app.as_str())
        .join(ctx.stage.as_str())
}

/// Whether `name` is `<24 lowercase hex>.json`; the id when it is.
fn update_id(name: &str) -> Option<&str> {
    let id = name.strip_suffix(".json")?;
    (id.len() == 24 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(id)
}

/// The run records of one folder: id -> (path, size). Refuses links.
fn records(dir: &Utf8Path) -> Result<BTreeMap<String, (Utf8PathBuf, u64)>> {
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io("reading directory", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("reading directory", dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(id) = update_id(&name) else { continue };
        let path = dir.join(&name);
        fsx::refuse_symlink(&path, "file")?;
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io("reading", &path, e))?;
        if meta.is_file() {
            out.insert(id.to_string(), (path, meta.len()));
        }
    }
    Ok(out)
}

/// Removes the stage's `update` / `snapshot` / `eventlog` files of all but
/// the newest `keep` runs (and never those of a run holding SST's lock).
pub fn prune(options: &PruneOptions, env: &Env) -> Result<PruneReport> {
    let ctx = project::resolve(&options.common, env)?;
    ctx.refuse_state_branch("prune")?;
    // every folder is checked before anything is removed
    let mut by_kind = Vec::new();
    for kind in RECORD_KINDS {
        let rel = records_rel(&ctx, kind);
        fsx::refuse_symlinks(&ctx.config_dir, &rel)?;
        by_kind.push((kind, records(&ctx.config_dir.join(&rel))?));
    }
    let ids: BTreeSet<&String> = by_kind.iter().flat_map(|(_, r)| r.keys()).collect();
    let locked_update_id = read_sst_lock(&layout::sst_lock_path(&ctx)).and_then(|l| l.update_id);
    let kept: Vec<String> = ids
        .iter()
        .enumerate()
        .filter(|(i, id)| *i < options.keep || locked_update_id.as_deref() == Some(id.as_str()))
        .map(|(_, id)| id.to_string())
        .collect();
    let mut removed = Vec::new();
    for id in ids.iter().filter(|id| !kept.contains(id)) {
        for (kind, records) in &by_kind {
            if let Some((path, bytes)) = records.get(*id) {
                removed.push(PrunedFile {
                    kind,
                    update_id: id.to_string(),
                    path: path.clone(),
                    bytes: *bytes,
                });
            }
        }
    }
    if !options.dry_run {
        for f in &removed {
            fsx::remove_optional(&f.path)?;
        }
    }
    Ok(PruneReport {
        app: ctx.app.to_string(),
        stage: ctx.stage.to_string(),
        config_dir: ctx.config_dir.clone(),
        kept,
        bytes: removed.iter().map(|f| f.bytes).sum(),
        removed,
        locked_update_id,
        dry_run: options.dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sst_update_ids() {
        assert_eq!(
            update_id("fe5de5cdfa9bae38f074f0bc.json"),
            Some("fe5de5cdfa9bae38f074f0bc")
        );
        for name in [
            "fe5de5cdfa9bae38f074f0bc.json.tmp",
            "FE5DE5CDFA9BAE38F074F0BC.json",
            "fe5de5cdfa9bae38f074f0b.json",
            "notes.json",
            "fe5de5cdfa9bae38f074f0bc",
        ] {
            assert_eq!(update_id(name), None, "{name}");
        }
    }
}
