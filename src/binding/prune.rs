//! `pruneStage` (the CLI's `prune`): its options, its result and the
//! result's conversion from the core's report.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_count, js_options, options_from_js, JsOptions};
use super::promise::spawn_blocking;
use crate::env::Env as ProcessEnv;
use crate::ops::prune::{self, PruneReport};

js_options! {
    #[doc = "Options of `pruneStage`."]
    pub struct PruneOptions {
        #[doc = "How many runs to keep, newest first (by SST's update ids): a whole number, 0 or more."]
        pub keep: f64,
        stage, app, cwd, state_dir, config_dir,
        #[doc = "Report what would be removed; remove nothing."]
        pub dry_run: Option<bool>,
    }
}

/// One run record `pruneStage` removed (or, with `dryRun`, would remove).
#[napi(object)]
pub struct PrunedFileInfo {
    /// Which record.
    #[napi(ts_type = "'update' | 'snapshot' | 'eventlog'")]
    pub kind: String,
    /// SST's update id of the run.
    pub update_id: String,
    /// The file.
    pub path: String,
    /// Its size in bytes.
    pub bytes: f64,
}

/// The result of `pruneStage`.
#[napi(object)]
pub struct PruneResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// SST's config dir.
    pub config_dir: String,
    /// The update ids of the runs kept, newest first.
    pub kept: Vec<String>,
    /// The files removed (or to remove, with `dryRun`), newest run first.
    pub removed: Vec<PrunedFileInfo>,
    /// Bytes freed (or to free).
    pub bytes: f64,
    /// The update id of a run holding SST's lock, kept whatever `keep` says.
    pub locked_update_id: Option<String>,
    /// Whether nothing was removed.
    pub dry_run: bool,
}

impl From<PruneReport> for PruneResult {
    fn from(r: PruneReport) -> Self {
        PruneResult {
            app: r.app,
            stage: r.stage,
            config_dir: r.config_dir.into_string(),
            kept: r.kept,
            removed: r
                .removed
                .into_iter()
                .map(|f| PrunedFileInfo {
                    kind: f.kind.into(),
                    update_id: f.update_id,
                    path: f.path.into_string(),
                    bytes: f.bytes as f64,
                })
                .collect(),
            bytes: r.bytes as f64,
            locked_update_id: r.locked_update_id,
            dry_run: r.dry_run,
        }
    }
}

/// Removes the stage's old run records from SST's config dir: the
/// `update`, `snapshot` and `eventlog` files
/// (`state/<kind>/<app>/<stage>/<updateId>.json`) of all but the newest
/// `keep` runs, newest by SST's update ids. The run holding SST's lock (a
/// deploy running, or one that crashed) is always kept; only files named
/// `<24 hex>.json` in those folders are candidates, nothing else is touched.
/// A symbolic link on the way rejects with `STATE_SYMLINK` before anything
/// is removed. `dryRun` reports and removes nothing. An unknown option, or
/// a `keep` that is not a whole number, rejects with `INVALID_OPTION`.
#[napi(
    ts_args_type = "options: PruneOptions",
    ts_return_type = "Promise<PruneResult>"
)]
pub fn prune_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, PruneResult>> {
    let core = options_from_js(options, "pruneStage").and_then(|o: PruneOptions| {
        Ok(prune::PruneOptions {
            keep: js_count(o.keep, "keep")?,
            common: o.common(),
            dry_run: o.dry_run.unwrap_or(false),
        })
    });
    spawn_blocking(
        env,
        move || prune::prune(&core?, &ProcessEnv::process()),
        Into::into,
    )
}
