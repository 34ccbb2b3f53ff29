//! The `sst-local-state` command line. Each command (or family: `lock.rs`
//! holds lock, unlock and locks; `passphrases.rs` rekey and encrypt) has one
//! file here holding its clap flags, the function that runs it and its human
//! rendering (`render`); `mod.rs` holds the parser, the subcommand list and
//! the dispatch, `flags.rs` the flags several commands share, `ui.rs` where
//! output goes.
//!
//! Exit codes ([`EXIT_CODES`], printed by `--help`; an error's is
//! `Error::exit_code`, and a test checks the three agree):
//!
//! - 0 ok
//! - 1 error
//! - 2 usage
//! - 3 stage lock held by another run
//! - 4 state conflict or unsaved state
//!
//! `run` exits with its command's code once the state is saved, `doctor`
//! with 1 when a check is an error.

mod commit;
mod config_dir;
mod doctor;
mod flags;
mod history;
mod init;
mod lock;
mod passphrases;
mod prepare;
mod prune;
pub mod render;
mod rollback;
mod run;
mod show;
mod status;
mod summary;
mod ui;

use std::io::Write;

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::env::Env;
use crate::error::{Error, Result};
use flags::GlobalArgs;
pub use ui::Ui;

/// The CLI's exit codes and what each means (an error's is
/// `Error::exit_code`); `--help` and the module doc list them.
pub const EXIT_CODES: [(i32, &str); 5] = [
    (0, "ok"),
    (1, "error"),
    (2, "usage"),
    (3, "stage lock held by another run"),
    (4, "state conflict or unsaved state"),
];

/// The line `--help` ends with: every one of [`EXIT_CODES`].
fn exit_codes_help() -> String {
    let codes: Vec<String> = EXIT_CODES
        .iter()
        .map(|(code, meaning)| format!("{code} {meaning}"))
        .collect();
    format!("Exit codes: {}.", codes.join(", "))
}

/// Keep SST's local deploy state in git, safely, from any CI.
#[derive(Debug, Parser)]
#[command(name = "sst-local-state", version, about, propagate_version = true)]
#[command(after_help = exit_codes_help())]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Restore the stage's state from the repository into SST's config dir.
    Prepare(prepare::PrepareArgs),
    /// Save the stage's state from SST's config dir to the repository: commit and push.
    Commit(commit::CommitArgs),
    /// Compare the stage's state in the repository and in SST's config dir.
    Status(flags::StageArgs),
    /// Set up age encryption of stage passphrases: create (or reuse) a key
    /// outside the repository and list its public key in <stateDir>/age-recipients.txt.
    Init(init::InitArgs),
    /// Print SST's config directory, computed exactly as SST computes it.
    ConfigDir,
    /// The stage's state changes from git history, newest first.
    History(history::HistoryArgs),
    /// The stage's checkpoint at a revision: resources by type and counts (--json: also the whole checkpoint).
    Show(show::ShowArgs),
    /// Remove the stage's old update/snapshot/eventlog files from SST's config dir, newest N kept.
    Prune(prune::PruneArgs),
    /// Check this setup before a deploy fails: each check ok, warning or error, with how to fix it; exit 1 on an error.
    Doctor(flags::StageArgs),
    /// Re-encrypt every age-encrypted passphrase not encrypted to the current
    /// <stateDir>/age-recipients.txt yet: one commit, pushed like a state commit.
    Rekey(passphrases::PassphrasesArgs),
    /// Migrate every plain passphrase/<stage>.json (and _fallback.json) to .age for the
    /// current recipients, removing the plain files: one commit, pushed like a state commit.
    Encrypt(passphrases::PassphrasesArgs),
    /// Take the stage's lock on the git remote (a create-only push of a lock
    /// ref): exit 3 (LOCK_HELD) when another run holds it.
    Lock(lock::LockArgs),
    /// Release the stage's lock this checkout holds (--force: anyone's).
    Unlock(lock::UnlockArgs),
    /// List the stage locks on the git remote, with holder and age.
    Locks(lock::LocksArgs),
    /// Deploy under the stage lock: lock, prepare, run the command, then commit ALWAYS
    /// (also when the command failed), releasing the lock; exits with the command's code.
    Run(run::RunArgs),
    /// Under the stage lock, restore the stage's state files as they were at a revision,
    /// as a NEW commit on the branch (history is never rewritten), pushed with the lock's
    /// release. Cloud resources change only at the next deploy: run `sst refresh` first.
    Rollback(rollback::RollbackArgs),
    /// A stage's state change as Markdown for a CI job's summary: command, exit code, state
    /// commit, lock wait, resources added, removed and changed by type.
    Summary(summary::SummaryArgs),
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
        Command::Run(args) => return run::run(args, global, env, ui),
        Command::Doctor(args) => return Ok(doctor::run(args, global, env, ui)),
        Command::Prepare(args) => prepare::run(args, global, env, ui),
        Command::Commit(args) => commit::run(args, global, env, ui),
        Command::Status(args) => status::run(args, global, env, ui),
        Command::Init(args) => init::run(args, global, env, ui),
        Command::ConfigDir => config_dir::run(env, ui),
        Command::Lock(args) => lock::lock(args, global, env, ui),
        Command::Unlock(args) => lock::unlock(args, global, env, ui),
        Command::Locks(args) => lock::locks(args, global, env, ui),
        Command::Rollback(args) => rollback::run(args, global, env, ui),
        Command::History(args) => history::run(args, global, env, ui),
        Command::Show(args) => show::run(args, global, env, ui),
        Command::Summary(args) => summary::run(args, global, env, ui),
        Command::Prune(args) => prune::run(args, global, env, ui),
        Command::Rekey(args) => passphrases::rekey(args, global, env, ui),
        Command::Encrypt(args) => passphrases::encrypt(args, global, env, ui),
    };
    done.map(|()| 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use serde_json::Value;

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

    /// Every exit code an error has is in the table, every number of the
    /// table but 0 is some error's, and `--help` and the module doc list
    /// the table as it is.
    #[test]
    fn the_exit_code_table_is_what_errors_exit_with() {
        use crate::error::ErrorCode;
        use std::collections::BTreeSet;
        let table: BTreeSet<i32> = EXIT_CODES.iter().map(|(code, _)| *code).collect();
        assert_eq!(table.len(), EXIT_CODES.len(), "a code twice");
        let mut used: BTreeSet<i32> = ErrorCode::ALL.iter().map(|c| c.exit_code()).collect();
        assert!(ErrorCode::ALL.len() > 40);
        used.insert(0);
        assert_eq!(used, table, "exit codes of errors (and 0) vs EXIT_CODES");
        let (code, out, _) = run_with(&["--help"], &[]);
        assert_eq!(code, 0);
        // clap wraps the line at 100 columns
        let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains(&exit_codes_help()), "{out}");
        let doc = include_str!("mod.rs");
        for (code, meaning) in EXIT_CODES {
            assert!(
                doc.contains(&format!("//! - {code} {meaning}\n")),
                "{code} {meaning}"
            );
        }
        let listed = doc.lines().filter(|l| l.starts_with("//! - ")).count();
        assert_eq!(
            listed,
            EXIT_CODES.len(),
            "the module doc lists another code"
        );
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
