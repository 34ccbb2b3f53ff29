//! The `sst-local-state` command line: clap parsing into plain option
//! structs, one function per command, human or `--json` output, and the
//! documented exit codes (0 ok, 1 error, 2 usage, 4 state conflict).

mod commands;
mod ops;
pub mod render;
mod summary;

use std::io::Write;
use std::time::Duration;

use camino::Utf8PathBuf;
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::ops::lock::LockRequest;
use crate::stage::project::{Caller, CommonOptions};

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("reports serialise to JSON")
}

/// Keep SST's local deploy state in git, safely, from any CI.
#[derive(Debug, Parser)]
#[command(name = "sst-local-state", version, about, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok, 1 error, 2 usage, 3 stage lock held by another run, 4 state conflict or unsaved state."
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Flags accepted by every command.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// Print one JSON object on stdout instead of human-readable lines.
    #[arg(long, global = true)]
    json: bool,
    /// Print nothing but errors and warnings (`--json` output is still printed).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more detail about each step.
    #[arg(long, short, global = true)]
    verbose: bool,
    /// Run as if started in this directory.
    #[arg(long, global = true, value_name = "DIR")]
    cwd: Option<Utf8PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Restore the stage's state from the repository into SST's config dir.
    Prepare(PrepareArgs),
    /// Save the stage's state from SST's config dir to the repository: commit and push.
    Commit(CommitArgs),
    /// Compare the stage's state in the repository and in SST's config dir.
    Status(StageArgs),
    /// Set up age encryption of stage passphrases: create (or reuse) a key
    /// outside the repository and list its public key in <stateDir>/age-recipients.txt.
    Init(InitArgs),
    /// Print SST's config directory, computed exactly as SST computes it.
    ConfigDir,
    /// The stage's state changes from git history, newest first.
    History(ops::HistoryArgs),
    /// The stage's checkpoint at a revision: resources by type and counts (--json: also the whole checkpoint).
    Show(ops::ShowArgs),
    /// Remove the stage's old update/snapshot/eventlog files from SST's config dir, newest N kept.
    Prune(ops::PruneArgs),
    /// Check this setup before a deploy fails: each check ok, warning or error, with how to fix it; exit 1 on an error.
    Doctor(StageArgs),
    /// Re-encrypt every age-encrypted passphrase not encrypted to the current
    /// <stateDir>/age-recipients.txt yet: one commit, pushed like a state commit.
    Rekey(SecretsArgs),
    /// Migrate every plain passphrase/<stage>.json (and _fallback.json) to .age for the
    /// current recipients, removing the plain files: one commit, pushed like a state commit.
    Encrypt(SecretsArgs),
    /// Take the stage's lock on the git remote (a create-only push of a lock
    /// ref): exit 3 (LOCK_HELD) when another run holds it.
    Lock(LockArgs),
    /// Release the stage's lock this checkout holds (--force: anyone's).
    Unlock(UnlockArgs),
    /// List the stage locks on the git remote, with holder and age.
    Locks(LocksArgs),
    /// Deploy under the stage lock: lock, prepare, run the command, then commit ALWAYS
    /// (also when the command failed), releasing the lock; exits with the command's code.
    Run(RunArgs),
    /// Under the stage lock, restore the stage's state files as they were at a revision,
    /// as a NEW commit on the branch (history is never rewritten), pushed with the lock's
    /// release. Cloud resources change only at the next deploy: run `sst refresh` first.
    Rollback(ops::RollbackArgs),
    /// A stage's state change as Markdown for a CI job's summary: command, exit code, state
    /// commit, lock wait, resources added, removed and changed by type.
    Summary(summary::SummaryArgs),
}

/// Flags of the project-wide passphrase commands (`rekey`, `encrypt`).
#[derive(Debug, Args)]
struct SecretsArgs {
    /// State folder relative to the project root [default: infra/state].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<String>,
    /// SST's config dir (the default key file lives below it).
    #[arg(long, value_name = "DIR")]
    config_dir: Option<Utf8PathBuf>,
    /// Branch to push to [default: from the CI environment, else the checked-out branch].
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// Remote to push to [default: origin].
    #[arg(long, value_name = "NAME")]
    remote: Option<String>,
    /// Commit on HEAD locally; push nothing.
    #[arg(long, conflicts_with_all = ["branch", "remote"])]
    no_push: bool,
    /// Show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
}

impl SecretsArgs {
    fn options(&self, global: &GlobalArgs) -> crate::ops::secrets::SecretsOptions {
        crate::ops::secrets::SecretsOptions {
            common: CommonOptions {
                cwd: global.cwd.clone(),
                state_dir: self.state_dir.clone(),
                config_dir: self.config_dir.clone(),
                caller: Caller::Cli,
                ..CommonOptions::default()
            },
            branch: self.branch.clone(),
            remote: self.remote.clone(),
            no_push: self.no_push,
            dry_run: self.dry_run,
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// Branch the state goes to [default: from the CI environment, else the checked-out branch].
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// Commit message template (as for commit).
    #[arg(long, short, value_name = "TEMPLATE")]
    message: Option<String>,
    #[command(flatten)]
    place: LockPlaceArgs,
    #[command(flatten)]
    wait: LockWaitArgs,
    /// Deploy a new stage (none of whose state the repository holds) even in CI (as for prepare).
    #[arg(long)]
    allow_new_stage: bool,
    /// The command to run (after `--`), e.g. `-- npx sst deploy --stage prod`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// Where stage locks live.
#[derive(Debug, Args)]
struct LockPlaceArgs {
    /// Remote holding the lock [default: env SST_LOCAL_STATE_REMOTE, package.json, origin].
    #[arg(long, value_name = "NAME")]
    remote: Option<String>,
    /// Ref prefix of stage locks [default: env SST_LOCAL_STATE_LOCK_PREFIX, package.json
    /// lockPrefix, refs/heads/sst-local-state/lock].
    #[arg(long, value_name = "REF")]
    lock_ref_prefix: Option<String>,
}

/// How a lock is taken.
#[derive(Debug, Args)]
struct LockWaitArgs {
    /// How long the lock is valid before another run may break it (`90s`, `2h`; 1s to 7days)
    /// [default: 1h].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    lock_ttl: Option<Duration>,
    /// How long to wait for a lock another run holds (`90s`, `5m`; at most 7days) [default: 0,
    /// fail at once].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    lock_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
struct LockArgs {
    #[command(flatten)]
    stage: StageArgs,
    #[command(flatten)]
    place: LockPlaceArgs,
    #[command(flatten)]
    wait: LockWaitArgs,
}

#[derive(Debug, Args)]
struct UnlockArgs {
    #[command(flatten)]
    stage: StageArgs,
    #[command(flatten)]
    place: LockPlaceArgs,
    /// Delete the lock whoever holds it (says whose it was).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct LocksArgs {
    #[command(flatten)]
    place: LockPlaceArgs,
}

impl LockWaitArgs {
    fn request(&self, place: &LockPlaceArgs) -> LockRequest {
        LockRequest {
            prefix: place.lock_ref_prefix.clone(),
            ttl: self.lock_ttl,
            timeout: self.lock_timeout,
            command: None,
            run: None,
        }
    }
}

/// A humantime duration (`90s`, `5m`, `1h 30m`, `0`).
fn parse_duration(value: &str) -> std::result::Result<Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|e| format!("{e} (examples: 90s, 5m, 1h)"))
}

#[derive(Debug, Args)]
struct InitArgs {
    /// State folder relative to the project root [default: infra/state].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<String>,
    /// SST's config dir (the default key file lives below it).
    #[arg(long, value_name = "DIR")]
    config_dir: Option<Utf8PathBuf>,
    /// Where to keep the secret key, outside the project and any git worktree; relative to
    /// --cwd [default: env SST_LOCAL_STATE_AGE_KEY_FILE, else <configDir>/sst-local-state/age-key.txt].
    #[arg(long, value_name = "FILE")]
    key_file: Option<Utf8PathBuf>,
    /// List this public key (age1…, e.g. a CI key made elsewhere) instead of creating or
    /// reading a key on this machine.
    #[arg(long, value_name = "AGE1", conflicts_with = "key_file")]
    recipient: Option<String>,
}

/// Flags naming the stage and where its state lives.
#[derive(Debug, Args)]
struct StageArgs {
    /// The stage (else env SST_STAGE).
    #[arg(long, value_name = "NAME")]
    stage: Option<String>,
    /// The app name (else env SST_LOCAL_STATE_APP, package.json, then sst.config.ts).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// State folder relative to the project root [default: infra/state].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<String>,
    /// SST's config dir [default: as SST computes it].
    #[arg(long, value_name = "DIR")]
    config_dir: Option<Utf8PathBuf>,
    /// Where the passphrase lives: age (committed encrypted), env (never in the repository:
    /// SST_PASSPHRASE), plain [default: env SST_LOCAL_STATE_PASSPHRASE_MODE, package.json, age].
    #[arg(long, value_name = "MODE", value_parser = ["age", "env", "plain"])]
    passphrase: Option<String>,
}

#[derive(Debug, Args)]
struct PrepareArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// Overwrite config-dir files with unsaved changes (remove those the repository lacks);
    /// every config-dir file it replaces is backed up first.
    #[arg(long)]
    force: bool,
    /// Show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Fail (STATE_MISSING) when the repository has no state for the stage.
    #[arg(long)]
    require_state: bool,
    /// Deploy a new stage (none of whose state the repository holds) even in CI, where it is
    /// refused (STAGE_UNKNOWN) unless env SST_LOCAL_STATE_NEW_STAGES or package.json
    /// sstLocalState.newStages allows it.
    #[arg(long)]
    allow_new_stage: bool,
    #[command(flatten)]
    locked: LockedArgs,
}

/// Taking the stage lock first (prepare, run).
#[derive(Debug, Args)]
struct LockedArgs {
    /// Take the stage's lock on the remote first (exit 3 when another run holds it), and
    /// start from the branch's newest state; commit releases it.
    #[arg(long)]
    lock: bool,
    /// Branch whose newest state a locked prepare starts from [default: as commit picks it].
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    #[command(flatten)]
    place: LockPlaceArgs,
    #[command(flatten)]
    wait: LockWaitArgs,
}

#[derive(Debug, Args)]
struct CommitArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// Commit message template; {app}, {stage} and {summary} are replaced
    /// [default: "chore(sst-state): {app}/{stage} {summary} [skip ci]"].
    #[arg(long, short, value_name = "TEMPLATE")]
    message: Option<String>,
    /// Branch to push to [default: from the CI environment, else the checked-out branch].
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// Remote to push to [default: origin].
    #[arg(long, value_name = "NAME")]
    remote: Option<String>,
    /// Commit on HEAD locally; push nothing.
    #[arg(long, conflicts_with_all = ["branch", "remote"])]
    no_push: bool,
    /// Show what would be committed; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Keep the stage lock this checkout holds (renewed) instead of releasing it.
    #[arg(long)]
    keep_lock: bool,
}

impl StageArgs {
    fn common(&self, global: &GlobalArgs) -> CommonOptions {
        CommonOptions {
            stage: self.stage.clone(),
            app: self.app.clone(),
            cwd: global.cwd.clone(),
            state_dir: self.state_dir.clone(),
            config_dir: self.config_dir.clone(),
            caller: Caller::Cli,
            passphrase_mode: self.passphrase.clone(),
        }
    }
}

/// Where a command writes: results on `out` (stdout), progress and errors
/// on `err` (stderr).
pub struct Ui<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    json: bool,
    quiet: bool,
    verbose: bool,
}

impl Ui<'_> {
    /// A detail line on stderr, shown with `--verbose` only (paths, the commit message).
    pub fn detail(&mut self, line: &str) {
        if self.verbose && !self.json {
            let _ = writeln!(self.err, "  {line}");
        }
    }

    /// A progress line on stderr (not with `--quiet` or `--json`).
    pub fn progress(&mut self, line: &str) {
        if !self.quiet && !self.json {
            let _ = writeln!(self.err, "{line}");
        }
    }

    /// The command's result: `human` on stdout, or `json` with `--json`.
    fn result(&mut self, human: &str, json: &Value) {
        if self.json {
            let _ = writeln!(self.out, "{json}");
        } else if !human.is_empty() && !self.quiet {
            let _ = writeln!(self.out, "{human}");
        }
    }

    /// A warning on stderr (shown even with `--quiet`; in `--json` mode it is in the result).
    pub fn warn(&mut self, warning: &crate::warning::Warning) {
        if !self.json {
            let _ = writeln!(self.err, "warning[{}]: {warning}", warning.code());
        }
    }

    /// Each of `warnings`, in order, as [`Ui::warn`] shows one.
    pub fn warn_all(&mut self, warnings: &[crate::warning::Warning]) {
        for warning in warnings {
            self.warn(warning);
        }
    }

    /// A commit message (if any), a `message | ` detail line each line.
    pub fn message_detail(&mut self, message: Option<&str>) {
        for line in message.into_iter().flat_map(str::lines) {
            self.detail(&format!("message | {line}"));
        }
    }

    fn error(&mut self, error: &Error) {
        if self.json {
            let mut body = error.details();
            body.insert("code".into(), error.code().into());
            body.insert("message".into(), error.to_string().into());
            let _ = writeln!(self.out, "{}", json!({ "error": body }));
        } else {
            let _ = writeln!(self.err, "error[{}]: {error}", error.code());
        }
    }
}

/// Runs the CLI with `argv` (without the program name) in environment
/// `env`, writing to `out` and `err`; returns the process exit code.
pub fn run(argv: &[String], env: &Env, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let wants_json = argv
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--json");
    let cli = match Cli::try_parse_from(
        std::iter::once("sst-local-state".to_string()).chain(argv.iter().cloned()),
    ) {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            // an unknown option is INVALID_OPTION, named with the likely one
            // (as unknown JS option keys and package.json settings are)
            if e.kind() == clap::error::ErrorKind::UnknownArgument {
                let context = |kind| e.get(kind).map(ToString::to_string);
                let arg = context(clap::error::ContextKind::InvalidArg).unwrap_or_default();
                let hint = context(clap::error::ContextKind::SuggestedArg)
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default();
                let error = Error::option(arg.clone(), format!("unknown option{hint}"));
                if wants_json {
                    let body = json!({"error": {"code": error.code(), "message": error.to_string(), "option": arg}});
                    let _ = writeln!(out, "{body}");
                } else {
                    let _ = writeln!(err, "error[{}]: {error}\n", error.code());
                    let _ = write!(err, "{}", e.render());
                }
                return code;
            }
            if code == 0 {
                let _ = write!(out, "{}", e.render());
            } else if wants_json {
                let error = Error::Usage(e.kind().to_string());
                let body = json!({"error": {"code": error.code(), "message": e.render().to_string().trim()}});
                let _ = writeln!(out, "{body}");
            } else {
                let _ = write!(err, "{}", e.render());
            }
            return code;
        }
    };
    let mut ui = Ui {
        out,
        err,
        json: cli.global.json,
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
    };
    match execute(&cli, env, &mut ui) {
        Ok(code) => code,
        Err(error) => {
            ui.error(&error);
            error.exit_code()
        }
    }
}

/// Runs the command; its exit code (0, `run`'s command's, or `doctor`'s).
fn execute(cli: &Cli, env: &Env, ui: &mut Ui<'_>) -> Result<i32> {
    let global = &cli.global;
    let done = match &cli.command {
        // the commands with an exit code of their own
        Command::Run(args) => return commands::run(args, global, env, ui),
        Command::Doctor(args) => return Ok(ops::doctor(args, global, env, ui)),
        Command::Prepare(args) => commands::prepare(args, global, env, ui),
        Command::Commit(args) => commands::commit(args, global, env, ui),
        Command::Status(args) => commands::status(args, global, env, ui),
        Command::Init(args) => commands::init(args, global, env, ui),
        Command::ConfigDir => commands::config_dir(env, ui),
        Command::Lock(args) => commands::lock(args, global, env, ui),
        Command::Unlock(args) => commands::unlock(args, global, env, ui),
        Command::Locks(args) => commands::locks(args, global, env, ui),
        Command::Rollback(args) => ops::rollback(args, global, env, ui),
        Command::History(args) => ops::history(args, global, env, ui),
        Command::Show(args) => ops::show(args, global, env, ui),
        Command::Summary(args) => summary::summary(args, global, env, ui),
        Command::Prune(args) => ops::prune(args, global, env, ui),
        Command::Rekey(args) => commands::rekey(args, global, env, ui),
        Command::Encrypt(args) => commands::encrypt(args, global, env, ui),
    };
    done.map(|()| 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    fn run_with(args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
        let env = Env::from_pairs(vars);
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&argv, &env, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn config_dir_human_and_json() {
        let (code, out, _) = run_with(&["config-dir"], &[("HOME", "/home/u")]);
        assert_eq!((code, out.as_str()), (0, "/home/u/.config/sst\n"));
        let (code, out, _) = run_with(&["config-dir", "--json"], &[("XDG_CONFIG_HOME", "/x")]);
        assert_eq!(code, 0);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, json!({"configDir": "/x/sst"}));
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn errors_have_codes_and_exit_1() {
        let (code, out, err) = run_with(&["config-dir"], &[("XDG_CONFIG_HOME", "rel")]);
        assert_eq!(code, 1);
        assert!(out.is_empty());
        assert!(err.starts_with("error[CONFIG_DIR_RELATIVE_XDG]"), "{err}");
        let (code, out, _) = run_with(&["--json", "config-dir"], &[]);
        assert_eq!(code, 1);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["code"], "CONFIG_DIR_NO_HOME");
    }

    #[test]
    fn usage_errors_exit_2() {
        let (code, _, err) = run_with(&["no-such-command"], &[]);
        assert_eq!(code, 2);
        assert!(err.contains("no-such-command"));
        let (code, out, _) = run_with(&["--json", "config-dir", "--bogus"], &[]);
        assert_eq!(code, 2);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["code"], "INVALID_OPTION");
        assert!(v["error"]["message"].as_str().unwrap().contains("--bogus"));
        // the nearest known option is named
        let (code, _, err) = run_with(&["prepare", "--stage", "dev", "--dryrun"], &[]);
        assert_eq!(code, 2);
        assert!(
            err.starts_with(
                "error[INVALID_OPTION]: invalid --dryrun: unknown option (did you mean --dry-run?)"
            ),
            "{err}"
        );
        let (code, out, _) = run_with(&["--json", "prepare", "--stage", "dev", "--forse"], &[]);
        assert_eq!(code, 2);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["code"], "INVALID_OPTION");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("--force"),
            "{v}"
        );
        // a missing subcommand or value is still a usage error
        let (code, out, _) = run_with(&["--json", "prepare", "--stage"], &[]);
        assert_eq!(code, 2);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["code"], "USAGE");
    }

    #[test]
    fn help_and_version_exit_0() {
        let (code, out, _) = run_with(&["--help"], &[]);
        assert_eq!(code, 0);
        assert!(out.contains("config-dir"));
        let (code, out, _) = run_with(&["--version"], &[]);
        assert_eq!(code, 0);
        assert_eq!(
            out.trim(),
            format!("sst-local-state {}", env!("CARGO_PKG_VERSION"))
        );
    }
}
