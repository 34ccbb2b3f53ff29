//! SST's own lock of a stage (`state/lock/<app>/<stage>.json` in its config
//! dir): present while a deploy runs, or left by one that crashed.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

/// SST's lock file for a stage (present while a deploy runs, or after one crashed).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SstLock {
    /// The lock file.
    pub path: Utf8PathBuf,
    /// The SST command that took it (`deploy`, `remove`, ...).
    pub command: String,
    /// When it was taken (RFC 3339, as SST wrote it).
    pub created: String,
    /// SST's update id of that run.
    pub update_id: Option<String>,
}

/// SST's lock file of a stage at `path` (`state/lock/<app>/<stage>.json`
/// in its config dir), when present (`None` when absent or unreadable).
pub fn read_sst_lock(path: &Utf8Path) -> Option<SstLock> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        created: Option<String>,
        #[serde(rename = "updateID")]
        update_id: Option<String>,
        command: Option<String>,
    }
    let bytes = std::fs::read(path).ok()?;
    let raw: Raw = serde_json::from_slice(&bytes).unwrap_or(Raw {
        created: None,
        update_id: None,
        command: None,
    });
    Some(SstLock {
        path: path.to_path_buf(),
        command: raw.command.unwrap_or_else(|| "unknown".into()),
        created: raw.created.unwrap_or_else(|| "unknown".into()),
        update_id: raw.update_id,
    })
}
