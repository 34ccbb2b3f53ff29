//! `run` against a path remote: one configuration for the whole run. The
//! stage, remote and branch are resolved once, before the lock is taken,
//! so prepare, the lock's heartbeat and commit use the same ones even when
//! the command edits `sst.config.ts` and `package.json` (a re-resolution
//! would then find another app and a remote that does not exist). The
//! command's stdio, signals and exit codes are tested in
//! __test__/run.test.mjs.

mod common;

use std::time::Duration;

use common::{blob_in, checkpoint, Fixture};
use sst_local_state::ops::lock::LockRequest;
use sst_local_state::ops::run::{run, RunOptions};

const LOCK_REF: &str = "refs/heads/sst-local-state/lock/demo-app/dev";

#[test]
fn a_command_that_edits_the_project_config_changes_nothing_of_the_run() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);

    // what the command does: deploys (a new checkpoint), renames the app
    // and points package.json at a remote and branch that do not exist
    let deployed = checkpoint(&["urn:a", "urn:b", "urn:deployed"]);
    let files = fx.root.join("command");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("dev.json"), &deployed).unwrap();
    let renamed = common::CONFIG_TS.replace("demo-app", "renamed-app");
    std::fs::write(files.join("sst.config.ts"), renamed).unwrap();
    let settings = r#"{ "sstLocalState": { "remote": "nowhere", "branch": "elsewhere" } }"#;
    std::fs::write(files.join("package.json"), settings).unwrap();
    let script = format!(
        "sleep 2 && cp {files}/dev.json {checkpoint} && cp {files}/sst.config.ts {files}/package.json {project}/",
        checkpoint = fx.config_path("app", "dev.json"),
        project = fx.project,
    );

    let options = RunOptions {
        common: fx.options("dev"),
        lock: LockRequest {
            // renewed every second while the command runs
            ttl: Some(Duration::from_secs(3)),
            ..LockRequest::default()
        },
        command: vec!["sh".into(), "-c".into(), script],
        ..RunOptions::default()
    };
    let mut said = Vec::new();
    let report = run(&options, &fx.env(), &mut |line| said.push(line.to_string())).unwrap();

    assert_eq!(report.exit_code, 0, "{said:?}");
    assert!(
        !said.iter().any(|l| l.contains("could not be renewed")),
        "{said:?}"
    );
    let taken = report.prepare.lock.as_ref().unwrap();
    assert_eq!(
        (taken.app.as_str(), taken.remote.as_str()),
        ("demo-app", "origin")
    );
    let commit = &report.commit;
    assert_eq!(commit.app, "demo-app");
    assert_eq!(commit.remote.as_deref(), Some("origin"));
    assert_eq!(commit.branch.as_deref(), Some("main"));
    assert!(commit.pushed && commit.lock_released, "{commit:?}");
    let main = bare.refname_to_id("refs/heads/main").unwrap();
    assert_eq!(
        blob_in(&bare, main, "infra/state/app/dev.json").unwrap(),
        deployed.as_bytes()
    );
    assert!(
        bare.find_reference(LOCK_REF).is_err(),
        "the lock was released"
    );
}
