//! Doctor: what is wrong with this setup, before a deploy fails. Each check
//! says ok, warning or error, and how to fix what is not ok. Reads only
//! (the config dir's writability is probed with a file created and removed
//! at once). Never prints a key, a secret or a URL password.

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::ci_env;
use crate::env::Env;
use crate::error::{Error, ErrorCode};
use crate::sst::lock::read_sst_lock;
use crate::stage::guard;
use crate::stage::layout::{self, recipients_rel, state_files, Kind};
use crate::stage::project::{self, Caller, CommonOptions, StageContext};
use crate::stage::repo::read_repo_state;
use crate::stage::seal::Keyring;
use crate::stage::state::check_checkpoint;

/// The `sst` versions this release is tested with.
pub const TESTED_SST_VERSIONS: &[&str] = &["4.17.1"];

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing to do.
    Ok,
    /// Works, but worth a look.
    Warning,
    /// Will fail: fix it before deploying.
    Error,
}

impl Level {
    /// Its name, as `--json` writes it (`ok`, `warning`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// A stable name (`sst-config`, `config-dir`, ...).
    pub name: &'static str,
    /// ok, warning or error.
    pub level: Level,
    /// What was found.
    pub message: String,
    /// How to fix it (absent when ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The error code behind an error, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
}

/// What [`doctor`] takes.
#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
    /// Project and folders; the stage is optional (its checks are skipped without it).
    pub common: CommonOptions,
}

/// The result of [`doctor`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    /// The stage checked, if one was given.
    pub stage: Option<String>,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// How many errors.
    pub errors: usize,
    /// How many warnings.
    pub warnings: usize,
}

fn check(name: &'static str, level: Level, message: impl Into<String>) -> Check {
    Check {
        name,
        level,
        message: message.into(),
        fix: None,
        code: None,
    }
}

impl Check {
    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    fn from_error(name: &'static str, e: &Error, fix: impl Into<String>) -> Self {
        Check {
            code: Some(e.code()),
            ..check(name, Level::Error, e.to_string()).fix(fix)
        }
    }
}

/// How to give an option, in the caller's words: `pass --cwd <dir>` on the
/// command line, `set the cwd option` from JS.
fn give(caller: Caller, js: &str, flag: &str, value: &str) -> String {
    match caller {
        Caller::Cli => format!("pass --{flag} {value}"),
        Caller::Js => format!("set the `{js}` option"),
    }
}

/// How to fix an error of reading or checking state.
fn fix_for(e: &Error, caller: Caller) -> String {
    match e.code() {
        ErrorCode::ProjectNotFound => format!(
            "run it in the SST project, or {}",
            give(caller, "cwd", "cwd", "<dir>")
        ),
        ErrorCode::HomeNotLocal => "return home: \"local\" from app() in sst.config.ts".into(),
        ErrorCode::AppNameUnresolved | ErrorCode::SstConfigTooDeep | ErrorCode::InvalidApp => format!(
            "{} or set SST_LOCAL_STATE_APP",
            give(caller, "app", "app", "<name>")
        ),
        ErrorCode::ConfigDirRelativeXdg | ErrorCode::ConfigDirNoHome => {
            "set XDG_CONFIG_HOME to an absolute path, or HOME".into()
        }
        ErrorCode::AgeKeyMissing => "set SST_LOCAL_STATE_AGE_KEY to your AGE-SECRET-KEY-1... line (or run `sst-local-state init` on this machine)".into(),
        ErrorCode::DecryptFailed => "your key is not a recipient of this passphrase: if age-recipients.txt lists your public key (the message says), a member whose key opens it runs `sst-local-state rekey`; if not, ask one to add it and rekey".into(),
        ErrorCode::StateCorrupt | ErrorCode::StateEmpty => "restore the last good version: `sst-local-state history --stage <s>`, then `sst-local-state show --stage <s> --rev <commit>`".into(),
        ErrorCode::PassphraseMissing | ErrorCode::PassphraseInvalid | ErrorCode::SecretUndecryptable => "restore the passphrase that encrypted these secrets from git history; never let SST make a new one".into(),
        ErrorCode::StateSymlink => "replace the link with a real folder or file".into(),
        _ => "see docs/troubleshooting.md for this code".into(),
    }
}

/// Runs every check. Never fails: a failure is an error check.
pub fn doctor(options: &DoctorOptions, env: &Env) -> DoctorReport {
    let mut checks = Vec::new();
    let stage_given = options.common.stage.is_some() || env.non_empty("SST_STAGE").is_some();
    // the project checks need some stage name to resolve; none is read without one
    let caller = options.common.caller;
    let mut common = options.common.clone();
    if !stage_given {
        common.stage = Some("doctor".into());
    }
    let resolved = project::resolve(&common, env)
        .and_then(|ctx| ctx.refuse_state_branch("doctor").map(|()| ctx));
    match resolved {
        Err(e) => checks.push(Check::from_error("sst-config", &e, fix_for(&e, caller))),
        Ok(ctx) => {
            checks.push(check(
                "sst-config",
                Level::Ok,
                format!(
                    "{}/sst.config.ts: app {}, home \"local\"",
                    ctx.project_root, ctx.app
                ),
            ));
            for w in &ctx.warnings {
                checks.push(
                    check("sst-config", Level::Warning, w.to_string())
                        .fix("make app() return home: \"local\" as a literal"),
                );
            }
            checks.push(config_dir(&ctx.config_dir, caller));
            checks.push(passphrase_mode(&ctx, env));
            checks.push(git_repo(&ctx, env));
            checks.extend(git_push(&ctx, env));
            if stage_given {
                checks.push(state_valid(&ctx, env, caller));
                checks.extend(crashed_deploy(&ctx));
                checks.extend(stage_lock(&ctx, env));
            } else {
                checks.push(
                    check(
                        "stage",
                        Level::Warning,
                        "no stage given: the stage's state files and SST's lock were not checked",
                    )
                    .fix(format!(
                        "{} or set SST_STAGE",
                        give(caller, "stage", "stage", "<name>")
                    )),
                );
            }
            checks.push(ci(&ctx, env));
            checks.push(sst_version(&ctx.project_root));
        }
    }
    DoctorReport {
        stage: stage_given
            .then(|| {
                common
                    .stage
                    .clone()
                    .or_else(|| env.non_empty("SST_STAGE").map(str::to_string))
            })
            .flatten(),
        errors: checks.iter().filter(|c| c.level == Level::Error).count(),
        warnings: checks.iter().filter(|c| c.level == Level::Warning).count(),
        checks,
    }
}

/// The config dir: resolvable (done by now), a directory, writable.
fn config_dir(dir: &Utf8Path, caller: Caller) -> Check {
    const NAME: &str = "config-dir";
    let mut existing = dir.to_path_buf();
    while !existing.exists() {
        match existing.parent() {
            Some(p) => existing = p.to_path_buf(),
            None => break,
        }
    }
    if !existing.is_dir() {
        return check(
            NAME,
            Level::Error,
            format!("{existing} is not a directory; SST cannot keep its state under {dir}"),
        )
        .fix(format!("remove or move {existing}"));
    }
    let probe = existing.join(format!(".sst-local-state-doctor-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            let how = if existing == dir {
                "exists and is writable".to_string()
            } else {
                format!("does not exist yet; SST can create it ({existing} is writable)")
            };
            check(NAME, Level::Ok, format!("{dir} {how}"))
        }
        Err(e) => check(
            NAME,
            Level::Error,
            format!("{existing} is not writable: {e}"),
        )
        .fix(format!(
            "make {existing} writable for this user, or {}",
            give(caller, "configDir", "config-dir", "<dir>")
        )),
    }
}

/// The repository's state files of the stage: valid, the passphrase
/// decrypted with the keys at hand, the secrets decrypted with it.
fn state_valid(ctx: &StageContext, env: &Env, caller: Caller) -> Check {
    const NAME: &str = "state-files";
    let files = state_files(ctx);
    let result = guard::check_repo_paths(ctx, &files).and_then(|()| {
        let mut warnings = Vec::new();
        let keyring = Keyring::new(env, &ctx.config_dir);
        let set = read_repo_state(ctx, &files, env, &keyring, true, &mut warnings)?.set;
        let info = set.check(|kind| files[kind].repo_path.clone())?;
        Ok((set.is_empty(), info))
    });
    match result {
        Err(e) => Check::from_error(NAME, &e, fix_for(&e, caller)),
        Ok((true, _)) => check(
            NAME,
            Level::Ok,
            format!(
                "no state for stage {} in {} yet (a first deploy)",
                ctx.stage, ctx.state_dir
            ),
        ),
        Ok((false, info)) => {
            let secrets: usize = info.secret_counts.iter().flatten().sum();
            let resources = info.checkpoint.map_or("no checkpoint".to_string(), |c| {
                format!("{} resources", c.resources)
            });
            check(
                NAME,
                Level::Ok,
                format!(
                    "{}: {resources}, {secrets} secret(s) decrypted with the stage's passphrase",
                    ctx.state_dir
                ),
            )
        }
    }
}

/// No plaintext passphrase tracked by git, and recipients to encrypt a new one to.
fn passphrase_mode(ctx: &StageContext, env: &Env) -> Check {
    const NAME: &str = "passphrase-mode";
    let dir = ctx.state_dir_abs().join("passphrase");
    let plain: Vec<Utf8PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(|n| dir.join(n)))
        .filter(|p| p.extension() == Some("json"))
        .collect();
    let tracked: Vec<String> = match gitx_index_paths(ctx, &plain) {
        Some(t) => t,
        None => plain.iter().map(|p| p.to_string()).collect(),
    };
    let allowed = env.non_empty("SST_LOCAL_STATE_PLAINTEXT_PASSPHRASE") == Some("1")
        || ctx.settings.plaintext_passphrase == Some(true);
    if !tracked.is_empty() {
        let level = if allowed {
            Level::Warning
        } else {
            Level::Error
        };
        return check(NAME, level, format!("plaintext passphrase(s) in the repository: {} (anyone who can read the repository can decrypt every secret)", tracked.join(", ")))
            .fix("encrypt each to the recipients in age-recipients.txt as passphrase/<stage>.age, `git rm` the plain file, and rotate the secrets (the plain file stays in git history)");
    }
    let recipients = ctx.project_root.join(recipients_rel(ctx));
    match std::fs::read_to_string(&recipients) {
        Err(_) if allowed => check(NAME, Level::Warning, "no age-recipients.txt; plaintext passphrases are allowed by your settings").fix("run `sst-local-state init` and commit age-recipients.txt"),
        Err(_) => check(NAME, Level::Warning, format!("no {}: commit refuses a new passphrase (PLAINTEXT_PASSPHRASE)", recipients_rel(ctx)))
            .fix("run `sst-local-state init` and commit age-recipients.txt"),
        Ok(text) => match crate::stage::seal::parse_recipients(&recipients, &text) {
            Ok(list) if list.is_empty() => check(NAME, Level::Error, format!("{recipients} lists no recipient")).fix("run `sst-local-state init` to add your public key"),
            Ok(list) => check(NAME, Level::Ok, format!("passphrases are age-encrypted to {} recipient(s); no plaintext passphrase in the repository", list.len())),
            Err(e) => Check::from_error(NAME, &e, "fix or remove the malformed line (each line: an age1... public key, or a # comment)"),
        },
    }
}

/// Which of `paths` git tracks (`None` outside a repository).
fn gitx_index_paths(ctx: &StageContext, paths: &[Utf8PathBuf]) -> Option<Vec<String>> {
    let repo = crate::git::gitx::discover(&ctx.project_root).ok()?;
    let workdir = crate::git::gitx::workdir(&repo, &ctx.project_root).ok()?;
    let index = repo.index().ok()?;
    Some(
        paths
            .iter()
            .filter_map(|p| {
                let rel = crate::git::gitx::relative_to(&workdir, p).ok()?;
                index
                    .get_path(rel.as_std_path(), 0)
                    .map(|_| rel.to_string())
            })
            .collect(),
    )
}

/// The remote commit pushes to: env, `package.json`, `origin`.
fn remote_name(ctx: &StageContext, env: &Env) -> String {
    env.non_empty("SST_LOCAL_STATE_REMOTE")
        .map(str::to_string)
        .or_else(|| ctx.settings.remote.clone())
        .unwrap_or_else(|| "origin".into())
}

/// A git repository with a remote to push state commits to.
fn git_repo(ctx: &StageContext, env: &Env) -> Check {
    const NAME: &str = "git";
    let repo = match crate::git::gitx::discover(&ctx.project_root) {
        Ok(r) => r,
        Err(e) => {
            return Check::from_error(
                NAME,
                &e,
                "run `git init` (or clone the project) so that state can be committed",
            )
        }
    };
    let remote = remote_name(ctx, env);
    let found = repo.find_remote(&remote).is_ok();
    match found {
        true => check(
            NAME,
            Level::Ok,
            format!("git repository with remote {remote}"),
        ),
        false => check(
            NAME,
            Level::Warning,
            format!("no remote {remote}: commit can only commit locally (--no-push)"),
        )
        .fix(format!("git remote add {remote} <url>")),
    }
}

/// The remote: reachable, the credential source that would be used (never
/// the credential), and whether the branch accepts a push (a dry run).
fn git_push(ctx: &StageContext, env: &Env) -> Option<Check> {
    const NAME: &str = "git-push";
    let repo = crate::git::gitx::discover(&ctx.project_root).ok()?;
    let name = remote_name(ctx, env);
    repo.find_remote(&name).ok()?;
    let remote = match crate::git::remote::Remote::open(&repo, &name, env) {
        Ok(r) => r,
        Err(e) => {
            return Some(Check::from_error(
                NAME,
                &e,
                "install git, or use an HTTPS remote",
            ))
        }
    };
    let branch = env
        .non_empty("SST_LOCAL_STATE_BRANCH")
        .map(str::to_string)
        .or_else(|| ctx.settings.branch.clone())
        .or_else(|| ci_env::detect(env).and_then(|c| c.branch))
        .or_else(|| {
            repo.head()
                .ok()
                .filter(|h| h.is_branch())
                .and_then(|h| h.shorthand().ok().map(str::to_string))
        });
    let Some(branch) = branch else {
        return Some(
            check(
                NAME,
                Level::Warning,
                format!(
                    "{} ({}): no branch to push to (detached, no CI branch variable)",
                    remote.display_url,
                    remote.transport()
                ),
            )
            .fix("pass --branch to commit, or set SST_LOCAL_STATE_BRANCH"),
        );
    };
    let head = repo.head().ok().and_then(|h| h.target())?;
    let credentials = remote.tried();
    Some(match remote.push_dry_run(head, &branch) {
        Ok(true) => check(NAME, Level::Ok, format!("{} reachable; a push to {branch} is accepted (dry run; branch protection not consulted); credentials: {credentials}", remote.display_url)),
        Ok(false) => check(NAME, Level::Warning, format!("{} through libgit2 (no git on PATH): push not checked; credentials: {credentials}", remote.display_url)).fix("install git to check push rights before a deploy"),
        Err(e) => {
            let fix = match e.code() {
                ErrorCode::AuthFailed => "give this job push rights (GitHub: `permissions: contents: write`; Azure: `persistCredentials: true`; GitLab: a project token in the URL), or set SST_LOCAL_STATE_GIT_TOKEN",
                ErrorCode::NetworkError => "check the remote's URL and that this machine reaches it",
                ErrorCode::HostKeyRejected => "add the server's host key to ~/.ssh/known_hosts from a trusted source",
                _ => "see docs/troubleshooting.md for this code",
            };
            Check::from_error(NAME, &e, fix)
        }
    })
}

/// SST's own lock, and pending operations, left by a crashed deploy.
fn crashed_deploy(ctx: &StageContext) -> Vec<Check> {
    const NAME: &str = "crashed-deploy";
    let mut out = Vec::new();
    if let Some(lock) = read_sst_lock(&layout::sst_lock_path(ctx)) {
        out.push(check(NAME, Level::Error, format!("SST's lock {} is held by `{}` since {}: the next deploy fails with \"Concurrent update detected\"", lock.path, lock.command, lock.created))
            .fix(format!("make sure no deploy of {} is running, then `sst unlock --stage {}`", ctx.stage, ctx.stage)));
    }
    let app = &state_files(ctx)[Kind::App];
    for (side, path) in [
        ("config dir", &app.config_path),
        ("repository", &app.repo_path),
    ] {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        if let Ok(info) = check_checkpoint(path, &bytes) {
            if info.pending_operations > 0 {
                out.push(check(NAME, Level::Warning, format!("the {side}'s checkpoint {path} has {} pending operation(s): a run was interrupted mid-operation", info.pending_operations))
                    .fix(format!("`sst refresh --stage {}` before the next deploy", ctx.stage)));
            }
        }
    }
    if out.is_empty() {
        out.push(check(
            NAME,
            Level::Ok,
            "no SST lock and no pending operations",
        ));
    }
    out
}

/// Our stage lock on the remote: none, held (who, since when), or expired
/// (a run that died holding it: the next locked run breaks it, but it is
/// worth knowing whose it was).
fn stage_lock(ctx: &StageContext, env: &Env) -> Option<Check> {
    const NAME: &str = "stage-lock";
    let repo = crate::git::gitx::discover(&ctx.project_root).ok()?;
    let name = remote_name(ctx, env);
    repo.find_remote(&name).ok()?;
    let unlock = format!("sst-local-state unlock --force --stage {}", ctx.stage);
    let current = crate::ops::lock::StageLock::open(
        ctx,
        &repo,
        env,
        &Some(name),
        &None,
        project::Caller::Cli,
    )
    .and_then(|lock| Ok((lock.current()?, lock.lock_ref)));
    Some(match current {
        Err(e) => check(
            NAME,
            Level::Warning,
            format!("the stage lock could not be read: {e}"),
        )
        .fix("see the git-push check; `sst-local-state locks` lists the locks"),
        Ok((None, lock_ref)) => check(NAME, Level::Ok, format!("no stage lock ({lock_ref})")),
        Ok((Some(info), lock_ref)) if info.holder.is_none() => check(
            NAME,
            Level::Warning,
            format!("{lock_ref} is held by {}", info.describe()),
        )
        .fix(format!("if nothing of yours made it, `{unlock}`")),
        Ok((Some(info), lock_ref)) if info.expired => check(
            NAME,
            Level::Warning,
            format!(
                "the stage lock {lock_ref} expired: held by {} (expired {}); a run died holding it. The next locked run breaks it",
                info.describe(),
                info.holder.as_ref().map_or("?", |h| h.expires.as_str())
            ),
        )
        .fix(format!("check that run's deploy was saved, then `{unlock}`")),
        Ok((Some(info), lock_ref)) => check(
            NAME,
            Level::Ok,
            format!(
                "the stage lock {lock_ref} is held by {} (expires {}): a deploy is running",
                info.describe(),
                info.holder.as_ref().map_or("?", |h| h.expires.as_str())
            ),
        ),
    })
}

/// The CI system, and whether deploys of a stage look serialized there.
fn ci(ctx: &StageContext, env: &Env) -> Check {
    const NAME: &str = "ci";
    let Some(info) = ci_env::detect(env) else {
        return check(NAME, Level::Ok, "not running in CI");
    };
    let root = &ctx.project_root;
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap_or_default();
    let (found, hint) = match info.provider {
        "github-actions" => {
            let dir = root.join(".github/workflows");
            let any = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    std::fs::read_to_string(e.path())
                        .is_ok_and(|t| t.contains("sst-local-state") && t.contains("concurrency:"))
                });
            (Some(any), "`concurrency: { group: deploy-<stage>, cancel-in-progress: false }` in the workflow")
        }
        "gitlab" => (
            Some(read(".gitlab-ci.yml").contains("resource_group")),
            "`resource_group: $STAGE` on the deploy job",
        ),
        _ => (None, ""),
    };
    let name = info.provider;
    match found {
        Some(true) => check(NAME, Level::Ok, format!("{name} detected; deploys look serialized")),
        Some(false) => check(NAME, Level::Warning, format!("{name} detected; no serialization of deploys found in its configuration"))
            .fix(format!("add {hint}: two deploys of one stage at once end in STATE_CONFLICT")),
        None => check(NAME, Level::Ok, format!("{name} detected (serialization of deploys not detectable there: make sure one deploy per stage runs at a time)")),
    }
}

/// The installed `sst` against the versions this release is tested with.
fn sst_version(root: &Utf8Path) -> Check {
    const NAME: &str = "sst-version";
    #[derive(serde::Deserialize)]
    struct Pkg {
        version: String,
    }
    let file = root.join("node_modules/sst/package.json");
    let tested = TESTED_SST_VERSIONS.join(", ");
    match std::fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Pkg>(&b).ok())
    {
        None => check(
            NAME,
            Level::Warning,
            format!("sst is not installed in {root}/node_modules"),
        )
        .fix("npm install sst (or bun add sst) in the project"),
        Some(p) if TESTED_SST_VERSIONS.contains(&p.version.as_str()) => {
            check(NAME, Level::Ok, format!("sst {} (tested)", p.version))
        }
        Some(p) => check(
            NAME,
            Level::Warning,
            format!(
                "sst {} is installed; sst-local-state is tested with {tested}",
                p.version
            ),
        )
        .fix(format!(
            "check SST's changelog for changes to the local home, or install sst {tested}"
        )),
    }
}
