//! prepare: repo -> config dir, with every check before any write.

mod common;

use common::{checkpoint, encrypt_with, Fixture};
use sst_local_state::ops::prepare::{prepare, Action, PrepareOptions};
use sst_local_state::ops::status::{status, SyncState};

fn run(
    fx: &Fixture,
    stage: &str,
    f: impl FnOnce(&mut PrepareOptions),
) -> sst_local_state::Result<sst_local_state::ops::prepare::PrepareReport> {
    let mut options = PrepareOptions {
        common: fx.options(stage),
        ..PrepareOptions::default()
    };
    f(&mut options);
    prepare(&options, &fx.env())
}

#[test]
fn restores_every_file_with_private_modes() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let report = run(&fx, "dev", |_| {}).unwrap();
    assert_eq!(report.app, "demo-app");
    assert!(!report.first_deploy);
    assert_eq!(report.files.len(), 5, "{:?}", report.files);
    assert!(
        report.files.iter().all(|f| f.action == Action::Written),
        "{:?}",
        report.files
    );
    for (key, file) in [
        ("app", "dev.json"),
        ("passphrase", "dev.json"),
        ("secret", "dev.json"),
        ("secret", "_fallback.json"),
        ("passphrase", "_fallback.json"),
    ] {
        let repo = std::fs::read(fx.project.join("infra/state").join(key).join(file)).unwrap();
        assert_eq!(
            std::fs::read(fx.config_path(key, file)).unwrap(),
            repo,
            "{key}/{file}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(fx.config_path(key, file))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(
                mode,
                if key == "app" { 0o644 } else { 0o600 },
                "{key}/{file}"
            );
        }
    }
    // a second run changes nothing
    let again = run(&fx, "dev", |_| {}).unwrap();
    assert_eq!(again.files.len(), 5, "{:?}", again.files);
    assert!(again.files.iter().all(|f| f.action == Action::Unchanged));
    let st = status(&fx.options("dev"), &fx.env()).unwrap();
    assert!(st.clean);
    assert_eq!(st.repo_checkpoint.unwrap().resources, 2);
}

#[test]
fn first_deploy_is_success_unless_state_is_required() {
    let fx = Fixture::new();
    let report = run(&fx, "dev", |_| {}).unwrap();
    assert!(report.first_deploy);
    assert_eq!(report.files.len(), 5, "{:?}", report.files);
    assert!(report.files.iter().all(|f| f.action == Action::Absent));
    let err = run(&fx, "dev", |o| o.require_state = true).unwrap_err();
    assert_eq!(err.code(), "STATE_MISSING");
    assert!(err.to_string().contains("infra/state/app/dev.json"));
}

/// Each bad repository gives its code and leaves the config dir exactly as it was.
#[test]
fn bad_state_is_rejected_before_anything_is_written() {
    type Breakage = Box<dyn Fn(&Fixture)>;
    let cases: Vec<(&str, Breakage)> = vec![
        (
            "STATE_EMPTY",
            Box::new(|fx| fx.repo_write("app/dev.json", "")),
        ),
        (
            "STATE_CORRUPT",
            Box::new(|fx| fx.repo_write("app/dev.json", "{\"version\":3,")),
        ),
        (
            "STATE_CORRUPT",
            Box::new(|fx| fx.repo_write("app/dev.json", "[1,2]")),
        ),
        (
            "PASSPHRASE_INVALID",
            Box::new(|fx| fx.repo_write("passphrase/dev.json", "c2hvcnQ=")),
        ),
        (
            "PASSPHRASE_INVALID",
            Box::new(|fx| fx.repo_write("passphrase/dev.json", format!("{}\n", fx.passphrase()))),
        ),
        (
            "PASSPHRASE_MISSING",
            Box::new(|fx| {
                std::fs::remove_file(fx.project.join("infra/state/passphrase/dev.json")).unwrap()
            }),
        ),
        (
            "PASSPHRASE_MISSING",
            Box::new(|fx| {
                std::fs::remove_file(fx.project.join("infra/state/passphrase/_fallback.json"))
                    .unwrap()
            }),
        ),
        (
            "SECRET_UNDECRYPTABLE",
            Box::new(|fx| fx.repo_write("secret/dev.json", encrypt_with(&[1; 32], "{}"))),
        ),
        (
            "SECRET_UNDECRYPTABLE",
            Box::new(|fx| {
                fx.repo_write("secret/_fallback.json", b"garbage-garbage-garbage-garbage")
            }),
        ),
    ];
    for (code, breakage) in cases {
        let fx = Fixture::new();
        fx.repo_full_stage("dev");
        run(&fx, "dev", |_| {}).unwrap();
        // the repo moves on to a valid new version of every file, except the broken one
        fx.repo_write("app/dev.json", checkpoint(&["urn:new"]));
        breakage(&fx);
        let before = Fixture::snapshot(&fx.config);
        let err = run(&fx, "dev", |_| {}).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert!(
            err.to_string().contains("infra/state/"),
            "names the file: {err}"
        );
        assert!(
            !err.to_string().contains("secret-value-xq7"),
            "no secret value in {err}"
        );
        assert_eq!(
            Fixture::snapshot(&fx.config),
            before,
            "{code}: config dir changed"
        );
    }
}

#[test]
fn unsaved_state_is_refused_then_backed_up_with_force() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    run(&fx, "dev", |_| {}).unwrap();
    // a local deploy changes the config dir's checkpoint; nobody commits it
    let local = checkpoint(&["urn:a", "urn:b", "urn:local"]);
    std::fs::write(fx.config_path("app", "dev.json"), &local).unwrap();
    // meanwhile the repository moves on
    fx.repo_write("app/dev.json", checkpoint(&["urn:a"]));
    let st = status(&fx.options("dev"), &fx.env()).unwrap();
    assert_eq!(
        st.files
            .iter()
            .find(|f| f.kind == sst_local_state::Kind::App)
            .unwrap()
            .state,
        SyncState::ChangedInConfigDir
    );

    let before = Fixture::snapshot(&fx.config);
    let err = run(&fx, "dev", |_| {}).unwrap_err();
    assert_eq!(err.code(), "UNSAVED_STATE");
    assert!(err
        .to_string()
        .contains(fx.config_path("app", "dev.json").as_str()));
    assert_eq!(Fixture::snapshot(&fx.config), before);

    let dry = run(&fx, "dev", |o| {
        o.force = true;
        o.dry_run = true;
    })
    .unwrap();
    assert!(dry.backup_dir.is_some());
    assert_eq!(Fixture::snapshot(&fx.config), before, "dry run wrote");

    let report = run(&fx, "dev", |o| o.force = true).unwrap();
    let backup = report.backup_dir.unwrap();
    assert_eq!(
        std::fs::read_to_string(backup.join("state/app/demo-app/dev.json")).unwrap(),
        local
    );
    assert_eq!(
        std::fs::read_to_string(fx.config_path("app", "dev.json")).unwrap(),
        checkpoint(&["urn:a"])
    );
}

#[test]
fn repo_changes_since_the_last_prepare_are_applied() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    run(&fx, "dev", |_| {}).unwrap();
    fx.repo_write("app/dev.json", checkpoint(&["urn:z"]));
    let st = status(&fx.options("dev"), &fx.env()).unwrap();
    assert_eq!(st.files.last().unwrap().state, SyncState::ChangedInRepo);
    let report = run(&fx, "dev", |_| {}).unwrap();
    assert_eq!(report.files.last().unwrap().action, Action::Written);
    // a file the repository lacks (an older branch?) is never removed
    // silently: refused, nothing touched; `force` backs it up, then removes it
    std::fs::remove_file(fx.project.join("infra/state/secret/_fallback.json")).unwrap();
    std::fs::remove_file(fx.project.join("infra/state/passphrase/_fallback.json")).unwrap();
    let before = Fixture::snapshot(&fx.config.join("state"));
    let err = run(&fx, "dev", |_| {}).unwrap_err();
    assert_eq!(err.code(), "STATE_MISSING_IN_REPO", "{err}");
    assert!(err.to_string().contains("secret/_fallback.json"), "{err}");
    assert!(err.to_string().contains("`force: true`"), "{err}");
    assert_eq!(Fixture::snapshot(&fx.config.join("state")), before);
    let report = run(&fx, "dev", |o| o.force = true).unwrap();
    assert!(!fx.config_path("secret", "_fallback.json").exists());
    let backup = report.backup_dir.unwrap();
    assert!(backup.join("state/secret/demo-app/_fallback.json").exists());
    assert_eq!(
        report
            .files
            .iter()
            .filter(|f| f.action == Action::Removed)
            .count(),
        2
    );
}

#[test]
fn a_config_dir_file_never_synced_and_unknown_to_the_repo_is_kept() {
    // a first deploy (or `sst secret set`) not committed yet
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.config_path("app", "").parent().unwrap().join("demo-app")).unwrap();
    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:x"])).unwrap();
    let report = run(&fx, "dev", |_| {}).unwrap();
    assert_eq!(report.files.last().unwrap().action, Action::Kept);
    assert!(
        !report.first_deploy,
        "the config dir holds this stage's state"
    );
    assert!(report.warnings.iter().any(|w| w.code() == "UNSAVED"));
    assert_eq!(
        std::fs::read_to_string(fx.config_path("app", "dev.json")).unwrap(),
        checkpoint(&["urn:x"])
    );
}

#[test]
fn dry_run_writes_nothing() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let report = run(&fx, "dev", |o| o.dry_run = true).unwrap();
    assert_eq!(report.files.len(), 5, "{:?}", report.files);
    assert!(report.files.iter().all(|f| f.action == Action::Written));
    assert!(!fx.config.exists());
}

#[test]
fn path_traversal_cannot_escape() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    for (stage, app, state_dir, code) in [
        ("../x", None, None, "INVALID_STAGE"),
        ("a/b", None, None, "INVALID_STAGE"),
        ("_fallback", None, None, "INVALID_STAGE"),
        ("", None, None, "INVALID_STAGE"),
        ("dev", Some("../evil"), None, "INVALID_APP"),
        ("dev", Some("a/b"), None, "INVALID_APP"),
        ("dev", None, Some("../../outside"), "INVALID_OPTION"),
        ("dev", None, Some("/etc"), "INVALID_OPTION"),
    ] {
        let err = run(&fx, stage, |o| {
            o.common.app = app.map(Into::into);
            o.common.state_dir = state_dir.map(Into::into);
        })
        .unwrap_err();
        assert_eq!(err.code(), code, "{stage} {app:?} {state_dir:?}");
    }
    assert!(!fx.config.exists());
    assert_eq!(
        Fixture::snapshot(&fx.root)
            .keys()
            .filter(|k| !k.starts_with("project/"))
            .count(),
        0
    );
}

#[test]
fn app_name_and_home_come_from_sst_config() {
    let fx = Fixture::new();
    std::fs::write(fx.project.join("sst.config.ts"), "export default $config({ app() { return { name: process.env.X, home: 'local' } }, async run() {} })").unwrap();
    let err = run(&fx, "dev", |_| {}).unwrap_err();
    assert_eq!(err.code(), "APP_NAME_UNRESOLVED");
    assert!(err.to_string().contains("--app"));
    assert_eq!(
        run(&fx, "dev", |o| o.common.app = Some("given".into()))
            .unwrap()
            .app,
        "given"
    );

    std::fs::write(fx.project.join("sst.config.ts"), "export default $config({ app: async () => ({ name: `aws-app`, home: \"aws\" }), async run() {} })").unwrap();
    assert_eq!(
        run(&fx, "dev", |_| {}).unwrap_err().code(),
        "HOME_NOT_LOCAL"
    );

    std::fs::write(fx.project.join("sst.config.ts"), "export default $config({ app(i) { return { name: 'dyn', home: i.stage === 'x' ? 'local' : 'local' } }, async run() {} })").unwrap();
    let report = run(&fx, "dev", |_| {}).unwrap();
    assert_eq!(report.app, "dyn");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("home")),
        "{:?}",
        report.warnings
    );

    // from a subdirectory, package.json settings, and env precedence
    let sub = fx.project.join("packages/web");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        fx.project.join("package.json"),
        r#"{"name":"x","sstLocalState":{"app":"from-pkg","stateDir":"deploy/state"}}"#,
    )
    .unwrap();
    let report = run(&fx, "dev", |o| o.common.cwd = Some(sub.clone())).unwrap();
    assert_eq!(
        (report.app.as_str(), report.project_root.as_str()),
        ("from-pkg", fx.project.as_str())
    );
    assert_eq!(report.state_dir, fx.project.join("deploy/state"));
    std::fs::write(
        fx.project.join("package.json"),
        r#"{"sstLocalState":{"stateDirectory":"typo"}}"#,
    )
    .unwrap();
    let err = run(&fx, "dev", |_| {}).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION");
    assert!(err.to_string().contains("package.json"));
}

#[test]
fn no_project_and_no_stage() {
    let fx = Fixture::new();
    let err = run(&fx, "dev", |o| o.common.cwd = Some(fx.root.clone())).unwrap_err();
    assert_eq!(err.code(), "PROJECT_NOT_FOUND");
    let err = run(&fx, "dev", |o| o.common.stage = None).unwrap_err();
    assert_eq!(err.code(), "STAGE_REQUIRED");
}

#[test]
fn status_reports_sst_lock_and_pending_operations() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    run(&fx, "dev", |_| {}).unwrap();
    // a crashed deploy: SST's lock is left, the checkpoint has pending operations
    let lock = fx.config.join("state/lock/demo-app/dev.json");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, r#"{"created":"2026-11-26T10:00:00Z","updateID":"0123456789abcdef01234567","runID":"r","command":"deploy","ignore":true}"#).unwrap();
    let pending = r#"{"version":3,"checkpoint":{"stack":"s","latest":{"resources":[{"urn":"a"}],"pending_operations":[{"resource":{"urn":"b"},"type":"creating"}]}}}"#;
    std::fs::write(fx.config_path("app", "dev.json"), pending).unwrap();
    let st = status(&fx.options("dev"), &fx.env()).unwrap();
    let lock_info = st.sst_lock.unwrap();
    assert_eq!(
        (lock_info.command.as_str(), lock_info.created.as_str()),
        ("deploy", "2026-11-26T10:00:00Z")
    );
    assert_eq!(
        lock_info.update_id.as_deref(),
        Some("0123456789abcdef01234567")
    );
    assert_eq!(st.config_checkpoint.unwrap().pending_operations, 1);
    assert!(!st.clean);
    // prepare warns about the lock (and refuses the unsaved checkpoint)
    std::fs::write(
        fx.config_path("app", "dev.json"),
        checkpoint(&["urn:a", "urn:b"]),
    )
    .unwrap();
    let report = run(&fx, "dev", |_| {}).unwrap();
    assert!(report.sst_lock.is_some());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("sst unlock")),
        "{:?}",
        report.warnings
    );
}

/// A marker that does not parse (a malformed id here) is said, and treated
/// as no record: files that match the repository are kept in sync, one that
/// differs is unsaved work and stops the prepare (nothing overwritten).
#[test]
fn a_corrupt_marker_is_reported_and_treated_as_absent() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    run(&fx, "dev", |_| {}).unwrap();
    let marker = fx.config.join("sst-local-state/synced/demo-app/dev.json");
    std::fs::write(&marker, r#"{"version":1,"files":{"app":"not-a-blob-id"}}"#).unwrap();
    let again = run(&fx, "dev", |_| {}).unwrap();
    let codes: Vec<_> = again.warnings.iter().map(|w| w.code()).collect();
    assert!(codes.contains(&"MARKER_CORRUPT"), "{codes:?}");
    assert_eq!(again.files.len(), 5, "{:?}", again.files);
    assert!(
        again.files.iter().all(|f| f.action == Action::Unchanged),
        "{:?}",
        again.files
    );
    // the record is written anew and parses
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&marker).unwrap()).unwrap();
    assert_eq!(written["files"]["app"].as_str().unwrap().len(), 40);

    // with no record, a changed config-dir checkpoint is unsaved work: refused
    std::fs::write(&marker, "{").unwrap();
    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:mine"])).unwrap();
    let e = run(&fx, "dev", |_| {}).unwrap_err();
    assert_eq!(e.code(), "UNSAVED_STATE", "{e}");
    assert_eq!(
        std::fs::read(fx.config_path("app", "dev.json")).unwrap(),
        checkpoint(&["urn:mine"]).as_bytes()
    );
}
