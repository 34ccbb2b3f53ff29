//! Fetch and push through the `git` command-line tool over path remotes:
//! the receiving repository's hooks run (a refusing `pre-receive` hook is a
//! `PUSH_REJECTED`), a shallow CI clone survives a conflict and its rescue,
//! and without git a path remote is a clear `GIT_NOT_FOUND`. (HTTPS, ssh,
//! redirects and no git on PATH: __test__/transport.test.mjs.)

mod common;

use camino::{Utf8Path, Utf8PathBuf};
use common::{checkpoint, Fixture};
use sst_local_state::ops::commit::{commit, CommitOptions, CommitReport};
use sst_local_state::ops::prepare::{prepare, PrepareOptions};
use sst_local_state::Env;
use sst_local_state::Result;

fn git(dir: &Utf8Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap()
}

fn git_ok(dir: &Utf8Path, args: &[&str]) -> String {
    let out = git(dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The dev stage committed and pushed to a bare `origin` beside the project.
fn with_origin() -> (Fixture, Utf8PathBuf) {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let repo = fx.git_init();
    fx.add_origin(&repo);
    let bare = fx.root.join("remote.git");
    (fx, bare)
}

/// prepare, then a "deploy" that leaves `state` as the checkpoint.
fn deploy_in(fx: &Fixture, dir: &Utf8Path, config: &Utf8Path, state: &str) {
    let mut o = PrepareOptions {
        common: fx.options("dev"),
        ..Default::default()
    };
    o.common.cwd = Some(dir.to_path_buf());
    o.common.config_dir = Some(config.to_path_buf());
    prepare(&o, &fx.env()).unwrap();
    std::fs::write(config.join("state/app/demo-app/dev.json"), state).unwrap();
}

fn commit_in(fx: &Fixture, dir: &Utf8Path, config: &Utf8Path, env: &Env) -> Result<CommitReport> {
    let mut o = CommitOptions {
        common: fx.options("dev"),
        branch: Some("main".into()),
        ..CommitOptions::default()
    };
    o.common.cwd = Some(dir.to_path_buf());
    o.common.config_dir = Some(config.to_path_buf());
    commit(&o, env)
}

#[cfg(unix)]
#[test]
fn a_path_remote_runs_the_servers_pre_receive_hook() {
    use std::os::unix::fs::PermissionsExt;
    let (fx, bare) = with_origin();
    let hook = bare.join("hooks/pre-receive");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'pushes are frozen today' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = git_ok(&bare, &["rev-parse", "main"]);
    let config = fx.root.join("c/sst");
    deploy_in(
        &fx,
        &fx.project,
        &config,
        &checkpoint(&["urn:a", "urn:frozen"]),
    );

    let err = commit_in(&fx, &fx.project, &config, &fx.env()).unwrap_err();
    assert_eq!(err.code(), "PUSH_REJECTED", "{err}");
    assert!(err.to_string().contains("pushes are frozen today"), "{err}");
    assert_eq!(git_ok(&bare, &["rev-parse", "main"]), before);
}

#[test]
fn a_shallow_clone_of_a_path_remote_survives_a_conflict_and_its_rescue() {
    let (fx, bare) = with_origin();
    let url = format!("file://{bare}");
    let clones: Vec<Utf8PathBuf> = ["a", "b"]
        .iter()
        .map(|name| {
            let dir = fx.root.join(name);
            git_ok(&fx.root, &["clone", "-q", "--depth", "1", &url, name]);
            git_ok(&dir, &["checkout", "-q", "--detach"]);
            dir
        })
        .collect();
    let configs: Vec<Utf8PathBuf> = ["ca", "cb"]
        .iter()
        .map(|c| fx.root.join(c).join("sst"))
        .collect();
    deploy_in(
        &fx,
        &clones[0],
        &configs[0],
        &checkpoint(&["urn:a", "urn:first"]),
    );
    deploy_in(
        &fx,
        &clones[1],
        &configs[1],
        &checkpoint(&["urn:a", "urn:second"]),
    );
    assert!(
        commit_in(&fx, &clones[0], &configs[0], &fx.env())
            .unwrap()
            .pushed
    );
    let err = commit_in(&fx, &clones[1], &configs[1], &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_CONFLICT", "{err}");
    let rescue = err.details()["rescueBranch"].as_str().unwrap().to_string();
    git_ok(
        &bare,
        &["rev-parse", "--verify", &format!("refs/heads/{rescue}")],
    );
    // the loser's checkout is still a healthy shallow clone
    assert!(
        clones[1].join(".git/shallow").exists(),
        ".git/shallow is gone"
    );
    git_ok(&clones[1], &["fsck", "--no-progress"]);
    git_ok(&clones[1], &["log", "--oneline", "-3", "HEAD"]);
    git_ok(
        &clones[1],
        &["log", "--oneline", "-3", &format!("refs/heads/{rescue}")],
    );
}

#[test]
fn without_git_a_path_remote_is_git_not_found_and_nothing_is_pushed() {
    let (fx, bare) = with_origin();
    let before = git_ok(&bare, &["rev-parse", "main"]);
    let config = fx.root.join("c/sst");
    deploy_in(
        &fx,
        &fx.project,
        &config,
        &checkpoint(&["urn:a", "urn:no-git"]),
    );
    let no_git = common::env_with(&[("SST_LOCAL_STATE_GIT", "none")]);
    let err = commit_in(&fx, &fx.project, &config, &no_git).unwrap_err();
    assert_eq!(err.code(), "GIT_NOT_FOUND", "{err}");
    assert!(err.to_string().contains("hooks"), "{err}");
    assert_eq!(git_ok(&bare, &["rev-parse", "main"]), before);
}
