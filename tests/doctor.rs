//! doctor: every check has a passing and a failing fixture; the CLI exits 1
//! when a check is an error, 0 otherwise.

mod common;

use common::{env_with, Fixture};
use sst_local_state::ops::doctor::{doctor, DoctorOptions, DoctorReport, Level};
use sst_local_state::ErrorCode;

fn run(fx: &Fixture, stage: Option<&str>, vars: &[(&str, &str)]) -> DoctorReport {
    let mut common = fx.options("dev");
    common.stage = stage.map(str::to_string);
    doctor(&DoctorOptions { common }, &env_with(vars))
}

/// The level and message of the (first) check `name`.
fn level(r: &DoctorReport, name: &str) -> (Level, String) {
    let c = r
        .checks
        .iter()
        .filter(|c| c.name == name)
        .max_by_key(|c| c.level)
        .unwrap_or_else(|| panic!("no check {name}: {:?}", r.checks));
    if c.level != Level::Ok {
        assert!(c.fix.is_some(), "{name} says how to fix it");
    }
    (c.level, c.message.clone())
}

/// A project that passes every check: a git repo with a remote, encrypted
/// passphrase mode, valid state, sst 4.17.1 installed.
fn healthy() -> Fixture {
    let fx = Fixture::new();
    let (secret, public) = sst_local_state::seal::generate();
    fx.repo_write("age-recipients.txt", format!("{public}\n"));
    let key_file = sst_local_state::seal::default_key_file(&fx.config);
    std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
    std::fs::write(&key_file, format!("{secret}\n")).unwrap();
    let recipients = sst_local_state::seal::parse_recipients(&key_file, &public).unwrap();
    let sealed = sst_local_state::seal::seal(fx.passphrase().as_bytes(), &recipients);
    fx.repo_write("passphrase/dev.age", sealed);
    fx.repo_write("app/dev.json", common::checkpoint(&["urn:a"]));
    let pkg = fx.project.join("node_modules/sst");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("package.json"),
        r#"{"name":"sst","version":"4.17.1"}"#,
    )
    .unwrap();
    std::fs::write(fx.project.join(".gitignore"), "node_modules\n").unwrap();
    let repo = fx.git_init();
    fx.add_origin(&repo);
    fx
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let fx = healthy();
    let r = run(&fx, Some("dev"), &[]);
    assert_eq!((r.errors, r.warnings), (0, 0), "{:#?}", r.checks);
    for name in [
        "sst-config",
        "config-dir",
        "passphrase-mode",
        "git",
        "state-files",
        "crashed-deploy",
        "stage-lock",
        "ci",
        "sst-version",
    ] {
        assert_eq!(level(&r, name).0, Level::Ok, "{name}");
    }
    // the CLI: exit 0
    let (code, _, _) = cli(&fx, &["doctor", "--stage", "dev"]);
    assert_eq!(code, 0);
}

fn cli(fx: &Fixture, args: &[&str]) -> (i32, String, String) {
    let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    argv.extend([
        "--cwd".into(),
        fx.project.to_string(),
        "--config-dir".into(),
        fx.config.to_string(),
    ]);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = sst_local_state::run_cli(&argv, &env_with(&[]), &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn sst_config_fails_outside_a_project_and_on_another_home() {
    let fx = healthy();
    std::fs::write(
        fx.project.join("sst.config.ts"),
        common::CONFIG_TS.replace(r#"home: "local""#, r#"home: "aws""#),
    )
    .unwrap();
    let r = run(&fx, Some("dev"), &[]);
    assert_eq!(level(&r, "sst-config").0, Level::Error);
    assert_eq!(r.checks[0].code, Some(ErrorCode::HomeNotLocal));
    std::fs::remove_file(fx.project.join("sst.config.ts")).unwrap();
    let r = run(&fx, Some("dev"), &[]);
    assert_eq!(r.checks[0].code, Some(ErrorCode::ProjectNotFound));
    // the CLI: exit 1, the JSON report on stdout
    let (code, out, _) = cli(&fx, &["doctor", "--stage", "dev", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["errors"], 1);
    assert_eq!(v["checks"][0]["level"], "error");
    assert!(v["checks"][0]["fix"].as_str().unwrap().contains("--cwd"));
}

#[test]
fn config_dir_fails_below_a_file() {
    let fx = healthy();
    let file = fx.root.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let mut common = fx.options("dev");
    common.config_dir = Some(file.join("sst"));
    let r = doctor(&DoctorOptions { common }, &env_with(&[]));
    let (lvl, msg) = level(&r, "config-dir");
    assert_eq!(lvl, Level::Error, "{msg}");
    assert!(msg.contains("is not a directory"), "{msg}");
}

#[test]
fn state_files_fail_when_corrupt_or_the_key_is_missing() {
    let fx = healthy();
    fx.repo_write("app/dev.json", "{ not json");
    let r = run(&fx, Some("dev"), &[]);
    assert_eq!(level(&r, "state-files").0, Level::Error);
    assert!(r
        .checks
        .iter()
        .any(|c| c.code == Some(ErrorCode::StateCorrupt)));

    let fx = healthy();
    std::fs::remove_file(sst_local_state::seal::default_key_file(&fx.config)).unwrap();
    let r = run(&fx, Some("dev"), &[]);
    let c = r.checks.iter().find(|c| c.name == "state-files").unwrap();
    assert_eq!(
        (c.level, c.code),
        (Level::Error, Some(ErrorCode::AgeKeyMissing)),
        "{c:?}"
    );
}

#[test]
fn passphrase_mode_fails_on_a_tracked_plain_passphrase() {
    let fx = healthy();
    fx.repo_write("passphrase/dev.json", fx.passphrase());
    let repo = git2::Repository::open(&fx.project).unwrap();
    common::commit_all(&repo, "plain passphrase");
    let r = run(&fx, Some("dev"), &[]);
    let (lvl, msg) = level(&r, "passphrase-mode");
    assert_eq!(lvl, Level::Error, "{msg}");
    assert!(msg.contains("infra/state/passphrase/dev.json"), "{msg}");
    assert!(
        !msg.contains(&fx.passphrase()),
        "never the passphrase itself"
    );
    // explicitly allowed: a warning
    let r = run(
        &fx,
        Some("dev"),
        &[("SST_LOCAL_STATE_PLAINTEXT_PASSPHRASE", "1")],
    );
    assert_eq!(level(&r, "passphrase-mode").0, Level::Warning);
    // no recipients file: a warning
    let fx = healthy();
    std::fs::remove_file(fx.project.join("infra/state/age-recipients.txt")).unwrap();
    assert_eq!(
        level(&run(&fx, Some("dev"), &[]), "passphrase-mode").0,
        Level::Warning
    );
}

#[test]
fn git_fails_outside_a_repository_and_warns_without_a_remote() {
    let fx = Fixture::new();
    let r = run(&fx, Some("dev"), &[]);
    assert_eq!(level(&r, "git").0, Level::Error);
    fx.git_init();
    let r = run(&fx, Some("dev"), &[]);
    assert_eq!(level(&r, "git").0, Level::Warning);
}

#[test]
fn git_push_fails_when_the_remote_is_unreachable() {
    let fx = healthy();
    let repo = git2::Repository::open(&fx.project).unwrap();
    repo.remote_set_url("origin", "http://127.0.0.1:9/nothing.git")
        .unwrap();
    let r = run(&fx, Some("dev"), &[]);
    let c = r.checks.iter().find(|c| c.name == "git-push").unwrap();
    assert_eq!(
        (c.level, c.code),
        (Level::Error, Some(ErrorCode::NetworkError)),
        "{c:?}"
    );
    assert!(c.message.contains("127.0.0.1:9"), "{c:?}");
}

#[test]
fn crashed_deploy_sst_lock_is_an_error_pending_operations_a_warning() {
    let fx = healthy();
    let lock = fx.config_path("lock", "dev.json");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, r#"{"created":"2026-01-01T00:00:00Z","updateID":"u","runID":"r","command":"deploy","ignore":true}"#).unwrap();
    let r = run(&fx, Some("dev"), &[]);
    let (lvl, msg) = level(&r, "crashed-deploy");
    assert_eq!(lvl, Level::Error);
    assert!(msg.contains("`deploy`"), "{msg}");
    std::fs::remove_file(&lock).unwrap();
    let app = fx.config_path("app", "dev.json");
    std::fs::create_dir_all(app.parent().unwrap()).unwrap();
    std::fs::write(
        &app,
        r#"{"version":3,"checkpoint":{"latest":{"resources":[],"pending_operations":[{}]}}}"#,
    )
    .unwrap();
    let r = run(&fx, Some("dev"), &[]);
    assert_eq!(level(&r, "crashed-deploy").0, Level::Warning);
}

#[test]
fn ci_serialization_where_detectable() {
    let fx = healthy();
    let gha = [("GITHUB_ACTIONS", "true"), ("GITHUB_REF_NAME", "main")];
    assert_eq!(level(&run(&fx, Some("dev"), &gha), "ci").0, Level::Warning);
    let wf = fx.project.join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(wf.join("deploy.yml"), "concurrency: { group: deploy-prod, cancel-in-progress: false }\nsteps:\n  - run: npx sst-local-state prepare --stage prod\n").unwrap();
    let (lvl, msg) = level(&run(&fx, Some("dev"), &gha), "ci");
    assert_eq!(lvl, Level::Ok, "{msg}");
    assert!(msg.contains("github-actions"), "{msg}");
    assert_eq!(
        level(&run(&fx, Some("dev"), &[("GITLAB_CI", "true")]), "ci").0,
        Level::Warning
    );
}

#[test]
fn sst_version_warns_when_untested_or_absent() {
    let fx = healthy();
    std::fs::write(
        fx.project.join("node_modules/sst/package.json"),
        r#"{"version":"3.0.1"}"#,
    )
    .unwrap();
    let (lvl, msg) = level(&run(&fx, Some("dev"), &[]), "sst-version");
    assert_eq!(lvl, Level::Warning);
    assert!(msg.contains("3.0.1") && msg.contains("4.17.1"), "{msg}");
    std::fs::remove_dir_all(fx.project.join("node_modules")).unwrap();
    assert_eq!(
        level(&run(&fx, Some("dev"), &[]), "sst-version").0,
        Level::Warning
    );
}

#[test]
fn without_a_stage_the_stage_checks_are_skipped_with_a_warning() {
    let fx = healthy();
    let r = run(&fx, None, &[]);
    assert_eq!(level(&r, "stage").0, Level::Warning);
    let names: Vec<&str> = r.checks.iter().map(|c| c.name).collect();
    // every check but the stage's own (state-files, crashed-deploy, stage-lock)
    assert_eq!(
        names,
        [
            "sst-config",
            "config-dir",
            "passphrase-mode",
            "git",
            "git-push",
            "stage",
            "ci",
            "sst-version"
        ]
    );
    assert_eq!(r.stage, None);
    let r = run(&fx, None, &[("SST_STAGE", "dev")]);
    assert_eq!(r.stage.as_deref(), Some("dev"));
    assert_eq!(level(&r, "state-files").0, Level::Ok);
}

#[test]
fn stage_lock_ok_when_free_or_held_a_warning_when_expired() {
    use sst_local_state::ops::lock::{lock, LockOptions, LockRequest};
    let fx = healthy();
    let (lvl, msg) = level(&run(&fx, Some("dev"), &[]), "stage-lock");
    assert_eq!(lvl, Level::Ok);
    assert!(msg.contains("no stage lock"), "{msg}");
    let take = |ttl: u64| {
        let options = LockOptions {
            common: fx.options("dev"),
            lock: LockRequest {
                ttl: Some(std::time::Duration::from_secs(ttl)),
                command: Some("sst deploy".into()),
                ..LockRequest::default()
            },
            ..LockOptions::default()
        };
        lock(&options, &fx.env(), &mut |_| {}).unwrap()
    };
    let held = take(3600);
    let (lvl, msg) = level(&run(&fx, Some("dev"), &[]), "stage-lock");
    assert_eq!(lvl, Level::Ok, "{msg}");
    assert!(
        msg.contains("`sst deploy`") && msg.contains(&held.holder.user),
        "{msg}"
    );
    // a lock that expired: a run died holding it
    sst_local_state::ops::lock::unlock(
        &sst_local_state::ops::lock::UnlockOptions {
            common: fx.options("dev"),
            ..Default::default()
        },
        &fx.env(),
    )
    .unwrap();
    take(1);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = run(&fx, Some("dev"), &[]);
    let (lvl, msg) = level(&r, "stage-lock");
    assert_eq!(lvl, Level::Warning);
    assert!(
        msg.contains("expired") && msg.contains("`sst deploy`") && msg.contains("ago"),
        "{msg}"
    );
    let fix = r
        .checks
        .iter()
        .find(|c| c.name == "stage-lock")
        .unwrap()
        .fix
        .clone();
    assert_eq!(
        fix.as_deref(),
        Some(
            "check that run's deploy was saved, then `sst-local-state unlock --force --stage dev`"
        )
    );
}
