//! Guards every command puts around the state it reads and writes: one OS
//! lock per SST config dir, no symbolic links on the state's paths (in the
//! repository or the config dir), and no temporary files of ours left
//! behind by a killed run.

use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsx::{self, DirLock};
use crate::stage::layout::{self, StateFile};
use crate::stage::project::StageContext;

/// How long a run waits for another run's config-dir lock by default.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// Takes the config dir's lock (see [`DirLock`]), waiting up to
/// `SST_LOCAL_STATE_CONFIG_DIR_LOCK_TIMEOUT` seconds (default 120; the
/// former name `SST_LOCAL_STATE_LOCK_TIMEOUT` is read when it is unset).
pub fn lock_config_dir(ctx: &StageContext, env: &Env) -> Result<DirLock> {
    let set = [fsx::LOCK_TIMEOUT_ENV, fsx::LOCK_TIMEOUT_ENV_OLD]
        .into_iter()
        .find_map(|name| Some((name, env.non_empty(name)?)));
    let wait = match set {
        None => LOCK_WAIT,
        Some((name, v)) => Duration::from_secs(v.trim().parse().map_err(|_| {
            Error::option(
                format!("env {name}"),
                format!("{v:?} is not a whole number of seconds"),
            )
        })?),
    };
    DirLock::acquire(&ctx.config_dir, wait)
}

/// Refuses a symbolic link anywhere on the repository side of the stage's
/// files: the state folder, its `app`/`passphrase`/`secret` folders, the
/// files (plain and `.age`) and the recipients file.
pub fn check_repo_paths(ctx: &StageContext, files: &[StateFile]) -> Result<()> {
    for file in files {
        fsx::refuse_symlinks(&ctx.project_root, &file.repo_rel)?;
        if let Some(sealed) = &file.sealed_rel {
            fsx::refuse_symlinks(&ctx.project_root, sealed)?;
        }
    }
    fsx::refuse_symlinks(&ctx.project_root, &layout::recipients_rel(ctx))
}

/// Refuses a stage file in the config dir that is a symbolic link (SST
/// writes regular files; a link could make us read or commit any file).
/// The folders above may be links (a symlinked `~/.config` is common).
pub fn check_config_files(files: &[StateFile]) -> Result<()> {
    files
        .iter()
        .try_for_each(|f| fsx::refuse_symlink(&f.config_path, "file"))
}

/// Removes temporary files a killed run of ours left in the config dir's
/// folders of this app. Call only while holding the config dir's lock: no
/// other run of ours is writing there then.
pub fn clean_config_temps(ctx: &StageContext, files: &[StateFile]) -> Vec<Utf8PathBuf> {
    let mut dirs: Vec<Utf8PathBuf> = files
        .iter()
        .filter_map(|f| f.config_path.parent().map(Utf8Path::to_path_buf))
        .collect();
    if let Some(marker_dir) = layout::marker_path(ctx).parent() {
        dirs.push(marker_dir.to_path_buf());
    }
    dirs.sort();
    dirs.dedup();
    dirs.iter()
        .flat_map(|d| fsx::remove_stale_temps(d, None))
        .collect()
}

/// Removes temporary files left by a killed run: in the git dir (where
/// worktree writes are staged; only those older than ten minutes, since a
/// concurrent run may own a younger one) and, from versions that staged
/// them beside the target, in the worktree's state folders.
pub fn clean_worktree_temps(
    ctx: &StageContext,
    files: &[StateFile],
    git_dir: &Utf8Path,
) -> Vec<Utf8PathBuf> {
    let mut removed = fsx::remove_stale_temps(git_dir, Some(Duration::from_secs(600)));
    let mut dirs: Vec<Utf8PathBuf> = files
        .iter()
        .filter_map(|f| f.repo_path.parent().map(Utf8Path::to_path_buf))
        .collect();
    dirs.push(ctx.state_dir_abs());
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        removed.extend(fsx::remove_stale_temps(&dir, Some(Duration::from_secs(60))));
    }
    removed
}
