//! commit: config dir -> one commit of our paths only -> push (local remotes
//! here; HTTP, credentials and races are tested against a real smart-HTTP
//! server in __test__/commit.test.mjs).

mod common;

use common::{blob_in, checkpoint, Fixture};
use sst_local_state::ops::commit::{commit, CommitOptions};
use sst_local_state::ops::prepare::{prepare, PrepareOptions};
use sst_local_state::Env;

fn options(fx: &Fixture, f: impl FnOnce(&mut CommitOptions)) -> CommitOptions {
    let mut o = CommitOptions {
        common: fx.options("dev"),
        ..CommitOptions::default()
    };
    f(&mut o);
    o
}

fn env(pairs: &[(&str, &str)]) -> Env {
    common::env_with(pairs)
}

/// A repo with a full stage committed, prepared into the config dir.
fn prepared() -> (Fixture, git2::Repository) {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let repo = fx.git_init();
    prepare(
        &PrepareOptions {
            common: fx.options("dev"),
            ..Default::default()
        },
        &fx.env(),
    )
    .unwrap();
    (fx, repo)
}

#[test]
fn commits_only_our_paths_and_keeps_the_users_index() {
    let (fx, repo) = prepared();
    let new_state = checkpoint(&["urn:a", "urn:b", "urn:c"]);
    std::fs::write(fx.config_path("app", "dev.json"), &new_state).unwrap();
    // the user's own work: a staged new file, a modified tracked file, an untracked file
    std::fs::write(fx.project.join("staged.txt"), "staged").unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(std::path::Path::new("staged.txt")).unwrap();
    index.write().unwrap();
    std::fs::write(
        fx.project.join("sst.config.ts"),
        format!("{}// edited\n", common::CONFIG_TS),
    )
    .unwrap();
    std::fs::write(fx.project.join("untracked.txt"), "u").unwrap();
    let before = repo.head().unwrap().target().unwrap();

    let report = commit(&options(&fx, |o| o.no_push = true), &fx.env()).unwrap();
    assert!(report.committed && !report.pushed);
    let oid = git2::Oid::from_str(report.commit.as_deref().unwrap()).unwrap();
    let c = repo.find_commit(oid).unwrap();
    assert_eq!(c.parent_id(0).unwrap(), before);
    let diff = repo
        .diff_tree_to_tree(
            Some(&c.parent(0).unwrap().tree().unwrap()),
            Some(&c.tree().unwrap()),
            None,
        )
        .unwrap();
    let paths: Vec<_> = diff
        .deltas()
        .map(|d| d.new_file().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(paths, vec!["infra/state/app/dev.json"]);
    assert_eq!(
        blob_in(&repo, oid, "infra/state/app/dev.json").unwrap(),
        new_state.as_bytes()
    );
    // HEAD (attached main) moved; the user's changes are still there, the state file is clean
    assert_eq!(repo.head().unwrap().target().unwrap(), oid);
    assert_eq!(repo.head().unwrap().shorthand().unwrap(), "main");
    let statuses = repo
        .statuses(Some(git2::StatusOptions::new().include_untracked(true)))
        .unwrap();
    let mut st: Vec<(String, git2::Status)> = statuses
        .iter()
        .map(|s| (s.path().unwrap().to_string(), s.status()))
        .collect();
    st.sort();
    assert_eq!(
        st,
        vec![
            ("sst.config.ts".to_string(), git2::Status::WT_MODIFIED),
            ("staged.txt".to_string(), git2::Status::INDEX_NEW),
            ("untracked.txt".to_string(), git2::Status::WT_NEW),
        ]
    );
}

#[test]
fn message_has_skip_marker_and_audit_trailers() {
    let (fx, repo) = prepared();
    std::fs::write(
        fx.config_path("app", "dev.json"),
        checkpoint(&["urn:a", "urn:b", "urn:c"]),
    )
    .unwrap();
    let update_dir = fx.config.join("state/update/demo-app/dev");
    std::fs::create_dir_all(&update_dir).unwrap();
    std::fs::write(update_dir.join("0aaaaaaaaaaaaaaaaaaaaaaa.json"), r#"{"id":"0aaaaaaaaaaaaaaaaaaaaaaa","version":"4.17.1","command":"deploy","errors":null,"timeStarted":"2026-01-02T00:00:00Z"}"#).unwrap();
    std::fs::write(update_dir.join("0bbbbbbbbbbbbbbbbbbbbbbb.json"), r#"{"id":"0bbbbbbbbbbbbbbbbbbbbbbb","version":"4.17.1","command":"refresh","errors":null,"timeStarted":"2026-01-01T00:00:00Z"}"#).unwrap();
    let vars = env(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "o/r"),
        ("GITHUB_RUN_ID", "42"),
    ]);
    let report = commit(&options(&fx, |o| o.no_push = true), &vars).unwrap();
    let msg = report.message.unwrap();
    let mut lines = msg.lines();
    assert_eq!(
        lines.next().unwrap(),
        "chore(sst-state): demo-app/dev deploy: 2 -> 3 resources [skip ci]"
    );
    for trailer in [
        "SST-App: demo-app",
        "SST-Stage: dev",
        "SST-Update-Id: 0aaaaaaaaaaaaaaaaaaaaaaa",
        "SST-Command: deploy",
        "SST-Resources: 2 -> 3",
        "CI-Run: https://github.com/o/r/actions/runs/42",
    ] {
        assert!(
            msg.lines().any(|l| l == trailer),
            "missing {trailer} in\n{msg}"
        );
    }
    let c = repo
        .find_commit(git2::Oid::from_str(&report.commit.unwrap()).unwrap())
        .unwrap();
    assert_eq!(c.message().unwrap(), msg);
    assert_eq!(c.author().name().unwrap(), "Test User");

    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:a"])).unwrap();
    let custom = commit(
        &options(&fx, |o| {
            o.no_push = true;
            o.message = Some("deploy {app} to {stage}: {summary} [ci skip]".into());
        }),
        &env(&[
            ("GIT_AUTHOR_NAME", "Env Author"),
            ("GIT_AUTHOR_EMAIL", "env@example.com"),
        ]),
    )
    .unwrap();
    assert!(custom
        .message
        .as_deref()
        .unwrap()
        .starts_with("deploy demo-app to dev: deploy: 3 -> 1 resources [ci skip]\n\nSST-App"));
    let c = repo
        .find_commit(git2::Oid::from_str(&custom.commit.unwrap()).unwrap())
        .unwrap();
    assert_eq!(
        (c.author().name().unwrap(), c.committer().name().unwrap()),
        ("Env Author", "Test User")
    );
}

#[test]
fn nothing_changed_means_no_commit() {
    let (fx, repo) = prepared();
    let head = repo.head().unwrap().target().unwrap();
    let report = commit(&options(&fx, |o| o.no_push = true), &fx.env()).unwrap();
    assert!(!report.committed);
    assert!(report.files.is_empty());
    assert_eq!(repo.head().unwrap().target().unwrap(), head);
}

#[test]
fn bad_config_dir_state_is_never_committed() {
    for (bytes, code) in [("", "STATE_EMPTY"), ("{\"version\":3", "STATE_CORRUPT")] {
        let (fx, repo) = prepared();
        let head = repo.head().unwrap().target().unwrap();
        std::fs::write(fx.config_path("app", "dev.json"), bytes).unwrap();
        let err = commit(&options(&fx, |o| o.no_push = true), &fx.env()).unwrap_err();
        assert_eq!(err.code(), code);
        assert!(err
            .to_string()
            .contains(fx.config_path("app", "dev.json").as_str()));
        assert_eq!(repo.head().unwrap().target().unwrap(), head);
        assert_eq!(
            std::fs::read_to_string(fx.config_path("app", "dev.json")).unwrap(),
            bytes,
            "left for inspection"
        );
    }
}

#[test]
fn a_new_passphrase_is_never_committed_over_the_repos() {
    let (fx, _repo) = prepared();
    std::fs::write(
        fx.config_path("passphrase", "dev.json"),
        base64_of(&[9; 32]),
    )
    .unwrap();
    std::fs::remove_file(fx.config_path("secret", "dev.json")).unwrap();
    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:new"])).unwrap();
    let err = commit(&options(&fx, |o| o.no_push = true), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "PASSPHRASE_MISMATCH");
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn pushes_from_a_detached_head_to_the_ci_branch() {
    let (fx, repo) = prepared();
    let bare = fx.add_origin(&repo);
    let head = repo.head().unwrap().target().unwrap();
    repo.set_head_detached(head).unwrap();
    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:x"])).unwrap();

    let err = commit(&options(&fx, |_| {}), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "NO_BRANCH");
    let err = commit(
        &options(&fx, |o| o.remote = Some("upstream".into())),
        &env(&[("SST_LOCAL_STATE_BRANCH", "main")]),
    )
    .unwrap_err();
    assert_eq!(err.code(), "NO_REMOTE");

    let vars = env(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_REF_NAME", "main"),
        ("GITHUB_EVENT_NAME", "push"),
    ]);
    let report = commit(&options(&fx, |_| {}), &vars).unwrap();
    assert!(report.pushed);
    assert_eq!(report.branch.as_deref(), Some("main"));
    let pushed = bare
        .find_reference("refs/heads/main")
        .unwrap()
        .target()
        .unwrap();
    assert_eq!(pushed.to_string(), report.commit.unwrap());
    assert_eq!(
        bare.find_commit(pushed).unwrap().parent_id(0).unwrap(),
        head
    );
    assert_eq!(
        blob_in(&bare, pushed, "infra/state/app/dev.json").unwrap(),
        checkpoint(&["urn:x"]).as_bytes()
    );
    // HEAD follows (still detached), so a later step sees the new state
    assert!(repo.head_detached().unwrap());
    assert_eq!(repo.head().unwrap().target().unwrap(), pushed);
    // and a prepare on this machine finds nothing unsaved
    prepare(
        &PrepareOptions {
            common: fx.options("dev"),
            ..Default::default()
        },
        &fx.env(),
    )
    .unwrap();
}

#[test]
fn a_relative_path_remote_is_resolved_from_the_worktree_as_git_does() {
    // `git remote add origin ../remote.git`: git resolves it from the top of
    // the worktree, whatever directory the command runs in (here the crate's)
    let (fx, repo) = prepared();
    let bare = fx.add_origin(&repo);
    repo.remote_set_url("origin", "../remote.git").unwrap();
    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:rel"])).unwrap();
    let vars = env(&[("SST_LOCAL_STATE_BRANCH", "main")]);
    let report = commit(&options(&fx, |_| {}), &vars).unwrap();
    assert!(report.pushed);
    let pushed = bare
        .find_reference("refs/heads/main")
        .unwrap()
        .target()
        .unwrap();
    assert_eq!(pushed.to_string(), report.commit.unwrap());
    assert_eq!(
        blob_in(&bare, pushed, "infra/state/app/dev.json").unwrap(),
        checkpoint(&["urn:rel"]).as_bytes()
    );
}

#[test]
fn dry_run_writes_nothing() {
    let (fx, repo) = prepared();
    let head = repo.head().unwrap().target().unwrap();
    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:y"])).unwrap();
    let report = commit(
        &options(&fx, |o| {
            o.no_push = true;
            o.dry_run = true;
        }),
        &fx.env(),
    )
    .unwrap();
    assert!(!report.committed);
    assert_eq!(report.files.len(), 1);
    assert_eq!(repo.head().unwrap().target().unwrap(), head);
    assert_ne!(
        std::fs::read_to_string(fx.project.join("infra/state/app/dev.json")).unwrap(),
        checkpoint(&["urn:y"])
    );
}

#[test]
fn not_a_git_repo() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    prepare(
        &PrepareOptions {
            common: fx.options("dev"),
            ..Default::default()
        },
        &fx.env(),
    )
    .unwrap();
    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:z"])).unwrap();
    common::isolate_git_config();
    let err = commit(&options(&fx, |o| o.no_push = true), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "NOT_A_GIT_REPO");
}

/// Another run saves this stage's state after our prepare and before our
/// commit: building on the new tip would silently drop its deploy.
#[test]
fn a_state_change_saved_by_another_run_since_prepare_is_a_conflict() {
    let (fx, repo) = prepared();
    let bare = fx.add_origin(&repo);
    // the other run: a clone of the remote that commits a new checkpoint and pushes it
    let other_dir = fx.root.join("other");
    let other = git2::Repository::clone(fx.root.join("remote.git").as_str(), &other_dir).unwrap();
    let theirs = checkpoint(&["urn:a", "urn:theirs"]);
    std::fs::write(other_dir.join("infra/state/app/dev.json"), &theirs).unwrap();
    common::commit_all(&other, "their deploy");
    common::push_main(&other);
    // our deploy, started from the state prepare restored, ends
    let ours = checkpoint(&["urn:a", "urn:ours"]);
    std::fs::write(fx.config_path("app", "dev.json"), &ours).unwrap();
    let err = commit(&options(&fx, |o| o.branch = Some("main".into())), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_CONFLICT", "{err}");
    let rescue = err.details()["rescueBranch"].as_str().unwrap().to_string();
    assert!(rescue.starts_with("sst-local-state/rescue/demo-app/dev/"));
    let main = bare
        .find_reference("refs/heads/main")
        .unwrap()
        .target()
        .unwrap();
    assert_eq!(
        blob_in(&bare, main, "infra/state/app/dev.json").unwrap(),
        theirs.as_bytes()
    );
    let saved = bare
        .find_reference(&format!("refs/heads/{rescue}"))
        .unwrap()
        .target()
        .unwrap();
    assert_eq!(
        blob_in(&bare, saved, "infra/state/app/dev.json").unwrap(),
        ours.as_bytes()
    );
    // the worktree holds the branch's state again: ours is on the rescue
    // branch and in the config dir, so a prepare sees the divergence
    assert_eq!(
        std::fs::read_to_string(fx.project.join("infra/state/app/dev.json")).unwrap(),
        theirs
    );
    assert_eq!(
        std::fs::read_to_string(fx.config_path("app", "dev.json")).unwrap(),
        ours
    );
}

#[test]
fn an_unreachable_remote_is_a_network_error_and_loses_nothing() {
    let (fx, repo) = prepared();
    repo.remote("origin", "http://127.0.0.1:9/nothing-listens-here.git")
        .unwrap();
    let head = repo.head().unwrap().target().unwrap();
    let state = checkpoint(&["urn:a", "urn:unpushed"]);
    std::fs::write(fx.config_path("app", "dev.json"), &state).unwrap();
    let err = commit(&options(&fx, |o| o.branch = Some("main".into())), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "NETWORK_ERROR", "{err}");
    assert!(err.to_string().contains("run commit again"), "{err}");
    assert_eq!(
        std::fs::read_to_string(fx.config_path("app", "dev.json")).unwrap(),
        state
    );
    assert_eq!(repo.head().unwrap().target().unwrap(), head);
}

#[test]
fn a_config_dir_that_does_not_exist_is_not_created() {
    let (fx, _repo) = prepared();
    let mut o = options(&fx, |o| o.no_push = true);
    let missing = fx.root.join("typo/sst");
    o.common.config_dir = Some(missing.clone());
    let report = commit(&o, &fx.env()).unwrap();
    assert!(!report.committed);
    assert!(
        !fx.root.join("typo").exists(),
        "commit created the config dir"
    );
}
