//! The flags several commands share: the global ones, the stage's, and the
//! stage lock's; each command's own flags live in its file.

use std::time::Duration;

use camino::Utf8PathBuf;
use clap::Args;

use crate::ops::lock::LockRequest;
use crate::stage::project::{Caller, CommonOptions};

/// Flags accepted by every command.
#[derive(Debug, Args)]
pub(super) struct GlobalArgs {
    /// Print one JSON object on stdout instead of human-readable lines.
    #[arg(long, global = true)]
    pub(super) json: bool,
    /// Print nothing but errors and warnings (`--json` output is still printed).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub(super) quiet: bool,
    /// Print more detail about each step.
    #[arg(long, short, global = true)]
    pub(super) verbose: bool,
    /// Run as if started in this directory.
    #[arg(long, global = true, value_name = "DIR")]
    pub(super) cwd: Option<Utf8PathBuf>,
}

/// Flags naming the stage and where its state lives.
#[derive(Debug, Args)]
pub(super) struct StageArgs {
    /// The stage (else env SST_STAGE).
    #[arg(long, value_name = "NAME")]
    pub(super) stage: Option<String>,
    /// The app name (else env SST_LOCAL_STATE_APP, package.json, then sst.config.ts).
    #[arg(long, value_name = "NAME")]
    pub(super) app: Option<String>,
    /// State folder relative to the project root [default: infra/state].
    #[arg(long, value_name = "DIR")]
    pub(super) state_dir: Option<String>,
    /// SST's config dir [default: as SST computes it].
    #[arg(long, value_name = "DIR")]
    pub(super) config_dir: Option<Utf8PathBuf>,
    /// Where the passphrase lives: age (committed encrypted), env (never in the repository:
    /// SST_PASSPHRASE), plain [default: env SST_LOCAL_STATE_PASSPHRASE_MODE, package.json, age].
    #[arg(long, value_name = "MODE", value_parser = ["age", "env", "plain"])]
    pub(super) passphrase: Option<String>,
    /// State-branch mode: keep the state on this branch of the remote, not on the code branch
    /// (prepare, commit, run) [default: env SST_LOCAL_STATE_STATE_BRANCH, package.json
    /// stateBranch; none].
    #[arg(long, value_name = "NAME")]
    pub(super) state_branch: Option<String>,
}

impl StageArgs {
    pub(super) fn common(&self, global: &GlobalArgs) -> CommonOptions {
        CommonOptions {
            stage: self.stage.clone(),
            app: self.app.clone(),
            cwd: global.cwd.clone(),
            state_dir: self.state_dir.clone(),
            config_dir: self.config_dir.clone(),
            caller: Caller::Cli,
            passphrase_mode: self.passphrase.clone(),
            state_branch: self.state_branch.clone(),
        }
    }
}

/// Where a commit goes (commit, rekey, encrypt).
#[derive(Debug, Args)]
pub(super) struct PushArgs {
    /// Branch to push to [default: from the CI environment, else the checked-out branch].
    #[arg(long, value_name = "NAME")]
    pub(super) branch: Option<String>,
    /// Remote to push to [default: origin].
    #[arg(long, value_name = "NAME")]
    pub(super) remote: Option<String>,
    /// Commit on HEAD locally; push nothing.
    #[arg(long, conflicts_with_all = ["branch", "remote"])]
    pub(super) no_push: bool,
}

/// Where stage locks live.
#[derive(Debug, Args)]
pub(super) struct LockPlaceArgs {
    /// Remote holding the lock [default: env SST_LOCAL_STATE_REMOTE, package.json, origin].
    #[arg(long, value_name = "NAME")]
    pub(super) remote: Option<String>,
    /// Ref prefix of stage locks [default: env SST_LOCAL_STATE_LOCK_PREFIX, package.json
    /// lockPrefix, refs/heads/sst-local-state/lock].
    #[arg(long, value_name = "REF")]
    pub(super) lock_ref_prefix: Option<String>,
}

/// How a lock is taken.
#[derive(Debug, Args)]
pub(super) struct LockWaitArgs {
    /// How long the lock is valid before another run may break it (`90s`, `2h`; 1s to 7days)
    /// [default: 1h].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(super) lock_ttl: Option<Duration>,
    /// How long to wait for a lock another run holds (`90s`, `5m`; at most 7days) [default: 0,
    /// fail at once].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(super) lock_timeout: Option<Duration>,
}

impl LockWaitArgs {
    pub(super) fn request(&self, place: &LockPlaceArgs) -> LockRequest {
        LockRequest {
            prefix: place.lock_ref_prefix.clone(),
            ttl: self.lock_ttl,
            timeout: self.lock_timeout,
            command: None,
            run: None,
        }
    }
}

/// Taking the stage lock first (prepare, run).
#[derive(Debug, Args)]
pub(super) struct LockedArgs {
    /// Take the stage's lock on the remote first (exit 3 when another run holds it), and
    /// start from the branch's newest state; commit releases it.
    #[arg(long)]
    pub(super) lock: bool,
    /// Branch whose newest state a locked prepare starts from [default: as commit picks it].
    #[arg(long, value_name = "NAME")]
    pub(super) branch: Option<String>,
    #[command(flatten)]
    pub(super) place: LockPlaceArgs,
    #[command(flatten)]
    pub(super) wait: LockWaitArgs,
}

/// A humantime duration (`90s`, `5m`, `1h 30m`, `0`).
fn parse_duration(value: &str) -> std::result::Result<Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|e| format!("{e} (examples: 90s, 5m, 1h)"))
}
