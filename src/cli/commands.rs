//! The CLI's stage and project commands (prepare, commit, status, init,
//! config-dir, the lock commands, run, rekey, encrypt): each turns its
//! flags into the operation's options, runs it, and prints its result.

use serde_json::json;

use super::{render, to_json, CommitArgs, GlobalArgs, InitArgs, LockArgs, LocksArgs};
use super::{PrepareArgs, RunArgs, SecretsArgs, StageArgs, Ui, UnlockArgs};
use crate::env::Env;
use crate::error::Result;
use crate::ops::commit::CommitOptions;
use crate::ops::init::InitOptions;
use crate::ops::lock::{ListOptions, LockOptions, UnlockOptions};
use crate::ops::prepare::PrepareOptions;
use crate::ops::run::RunOptions;
use crate::sst::config_dir::{resolve_config_dir, Platform};
use crate::stage::project::{Caller, CommonOptions};

/// `prepare`: restores the stage's state; the paths it used with `--verbose`.
pub(super) fn prepare(
    args: &PrepareArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = PrepareOptions {
        common: args.stage.common(global),
        force: args.force,
        dry_run: args.dry_run,
        require_state: args.require_state,
        lock: args
            .locked
            .lock
            .then(|| args.locked.wait.request(&args.locked.place)),
        branch: args.locked.branch.clone(),
        remote: args.locked.place.remote.clone(),
        allow_new_stage: args.allow_new_stage.then_some(true),
    };
    let report = crate::ops::prepare::prepare(&options, env)?;
    ui.detail(&format!("project root {}", report.project_root));
    ui.detail(&format!("state folder {}", report.state_dir));
    for f in &report.files {
        ui.detail(&format!(
            "{}: {} -> {}",
            f.kind.label(),
            f.repo_path,
            f.config_path
        ));
    }
    ui.result(&render::prepare(&report), &to_json(&report));
    ui.warn_all(&report.warnings);
    Ok(())
}

/// `commit`: saves the stage's state; the remote and message with `--verbose`.
pub(super) fn commit(
    args: &CommitArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = CommitOptions {
        common: args.stage.common(global),
        message: args.message.clone(),
        branch: args.branch.clone(),
        remote: args.remote.clone(),
        no_push: args.no_push,
        dry_run: args.dry_run,
        keep_lock: args.keep_lock,
        trailers: Vec::new(),
        run_lock: None,
    };
    let report = crate::ops::commit::commit(&options, env)?;
    if let Some(url) = &report.remote_url {
        ui.detail(&format!("remote {url}"));
    }
    ui.message_detail(report.message.as_deref());
    ui.result(&render::commit(&report), &to_json(&report));
    ui.warn_all(&report.warnings);
    Ok(())
}

/// `status`: compares the stage's state in the repository and the config dir.
pub(super) fn status(
    args: &StageArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let report = crate::ops::status::status(&args.common(global), env)?;
    ui.result(&render::status(&report), &to_json(&report));
    ui.warn_all(&report.warnings);
    Ok(())
}

/// `init`: sets up age encryption of the project's passphrases.
pub(super) fn init(args: &InitArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let options = InitOptions {
        common: CommonOptions {
            cwd: global.cwd.clone(),
            state_dir: args.state_dir.clone(),
            config_dir: args.config_dir.clone(),
            caller: Caller::Cli,
            ..CommonOptions::default()
        },
        key_file: args.key_file.clone(),
        recipient: args.recipient.clone(),
    };
    let report = crate::ops::init::init(&options, env)?;
    ui.result(&render::init(&report), &to_json(&report));
    Ok(())
}

/// `config-dir`: prints SST's config directory.
pub(super) fn config_dir(env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let dir = resolve_config_dir(env, Platform::current())?;
    ui.result(&dir, &json!({ "configDir": dir }));
    Ok(())
}

/// `lock`: takes the stage's lock, telling of the wait as progress.
pub(super) fn lock(args: &LockArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let options = LockOptions {
        common: args.stage.common(global),
        remote: args.place.remote.clone(),
        lock: args.wait.request(&args.place),
    };
    let report = crate::ops::lock::lock(&options, env, &mut |line| ui.progress(line))?;
    ui.result(&render::lock(&report), &to_json(&report));
    Ok(())
}

/// `unlock`: releases the stage's lock (anyone's with `--force`).
pub(super) fn unlock(
    args: &UnlockArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = UnlockOptions {
        common: args.stage.common(global),
        remote: args.place.remote.clone(),
        prefix: args.place.lock_ref_prefix.clone(),
        force: args.force,
    };
    let report = crate::ops::lock::unlock(&options, env)?;
    ui.result(&render::unlock(&report), &to_json(&report));
    Ok(())
}

/// `locks`: lists the stage locks on the remote.
pub(super) fn locks(
    args: &LocksArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = ListOptions {
        common: CommonOptions {
            cwd: global.cwd.clone(),
            caller: Caller::Cli,
            ..CommonOptions::default()
        },
        remote: args.place.remote.clone(),
        prefix: args.place.lock_ref_prefix.clone(),
    };
    let locks = crate::ops::lock::list(&options, env)?;
    ui.result(&render::locks(&locks), &json!({ "locks": to_json(&locks) }));
    Ok(())
}

/// `run`: a deploy under the stage lock; the wrapped command's exit code.
pub(super) fn run(args: &RunArgs, global: &GlobalArgs, env: &Env, ui: &mut Ui<'_>) -> Result<i32> {
    let report = crate::ops::run::run(&run_options(args, global), env, &mut |line| {
        ui.progress(&format!("sst-local-state run: {line}"))
    })?;
    ui.warn_all(&report.prepare.warnings);
    ui.warn_all(&report.commit.warnings);
    ui.progress(&render::commit(&report.commit));
    ui.result("", &to_json(&report));
    Ok(report.exit_code)
}

/// The options of `run`, given once for its prepare, lock and commit.
fn run_options(args: &RunArgs, global: &GlobalArgs) -> RunOptions {
    RunOptions {
        common: args.stage.common(global),
        branch: args.branch.clone(),
        remote: args.place.remote.clone(),
        message: args.message.clone(),
        lock: args.wait.request(&args.place),
        allow_new_stage: args.allow_new_stage.then_some(true),
        command: args.command.clone(),
    }
}

/// `rekey`: re-encrypts every age-encrypted passphrase to the current recipients.
pub(super) fn rekey(
    args: &SecretsArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let report = crate::ops::rekey::rekey(&args.options(global), env)?;
    secrets_result(ui, "rekey", &report);
    Ok(())
}

/// `encrypt`: migrates every plain passphrase to `.age`.
pub(super) fn encrypt(
    args: &SecretsArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let report = crate::ops::encrypt::encrypt(&args.options(global), env)?;
    secrets_result(ui, "encrypt", &report);
    Ok(())
}

/// The result of a project-wide passphrase command, with its warnings.
fn secrets_result(
    ui: &mut Ui<'_>,
    command: &str,
    report: &crate::ops::passphrases::PassphrasesReport,
) {
    ui.message_detail(report.message.as_deref());
    ui.result(&render::secrets(command, report), &to_json(report));
    ui.warn_all(&report.warnings);
}
