//! State-branch mode with a local bare remote: commit lands on the state
//! branch (created parentless, only the state folder's paths) without
//! writing the checkout; prepare reads it back from the fetched tip; the
//! commands that do not support the mode yet refuse it. Protected branches,
//! HTTP, concurrency and conflicts: __test__/state-branch.test.mjs.

mod common;

use camino::Utf8PathBuf;
use common::{blob_in, checkpoint, Fixture};
use sst_local_state::ops::commit::{commit, CommitOptions};
use sst_local_state::ops::prepare::{prepare, PrepareOptions};
use sst_local_state::ops::status::status;
use sst_local_state::CommonOptions;

const SB: &str = "sst-state";

fn state_branch(fx: &Fixture, config: &Utf8PathBuf) -> CommonOptions {
    CommonOptions {
        state_branch: Some(SB.into()),
        config_dir: Some(config.clone()),
        ..fx.options("dev")
    }
}

/// The checkout as state-branch mode must leave it: HEAD, the status, the
/// project's files (`.git` aside).
fn checkout(fx: &Fixture, repo: &git2::Repository) -> (git2::Oid, usize, Vec<(String, Vec<u8>)>) {
    let files = Fixture::snapshot(&fx.project)
        .into_iter()
        .filter(|(path, _)| !path.starts_with(".git"))
        .collect();
    let statuses = repo.statuses(None).unwrap().len();
    (repo.head().unwrap().target().unwrap(), statuses, files)
}

#[test]
fn commit_lands_on_a_new_parentless_state_branch_and_prepare_reads_it_back() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    let main_before = bare.refname_to_id("refs/heads/main").unwrap();
    let before = checkout(&fx, &repo);
    let env = common::env_with(&[("SST_LOCAL_STATE_PLAINTEXT_PASSPHRASE", "1")]);

    // a first deploy: no state branch yet
    let prepared = prepare(
        &PrepareOptions {
            common: state_branch(&fx, &fx.config),
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    assert!(prepared.first_deploy);
    // the checkout holds dev, the (absent) state branch nothing
    assert!(
        prepared.known_stages.is_empty(),
        "{:?}",
        prepared.known_stages
    );
    let state = checkpoint(&["urn:a", "urn:b", "urn:c"]);
    for (key, content) in [("app", state.clone()), ("passphrase", fx.passphrase())] {
        let path = fx.config_path(key, "dev.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let report = commit(
        &CommitOptions {
            common: state_branch(&fx, &fx.config),
            ..CommitOptions::default()
        },
        &env,
    )
    .unwrap();
    assert!(report.committed && report.pushed && !report.head_updated);
    assert_eq!(report.branch.as_deref(), Some(SB));

    let tip = bare.refname_to_id(&format!("refs/heads/{SB}")).unwrap();
    let commit = bare.find_commit(tip).unwrap();
    assert_eq!(commit.parent_count(), 0);
    let mut paths = Vec::new();
    commit
        .tree()
        .unwrap()
        .walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                paths.push(format!("{dir}{}", entry.name().unwrap()));
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    assert!(!paths.is_empty(), "an empty state branch");
    assert!(
        paths.iter().all(|p| p.starts_with("infra/state/")),
        "{paths:?}"
    );
    assert_eq!(
        blob_in(&bare, tip, "infra/state/app/dev.json").unwrap(),
        state.as_bytes()
    );
    assert_eq!(bare.refname_to_id("refs/heads/main").unwrap(), main_before);
    assert_eq!(checkout(&fx, &repo), before);

    // another config dir prepared from the state branch gets it
    let other = fx.root.join("other/sst");
    let prepared = prepare(
        &PrepareOptions {
            common: state_branch(&fx, &other),
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    assert!(!prepared.first_deploy);
    assert_eq!(prepared.known_stages, ["dev"]);
    let restored = other.join("state/app/demo-app/dev.json");
    assert_eq!(std::fs::read_to_string(restored).unwrap(), state);
    assert_eq!(checkout(&fx, &repo), before);

    // a new stage's prepare knows the stages the state branch holds (its copy holds none)
    let new_stage = prepare(
        &PrepareOptions {
            common: CommonOptions {
                stage: Some("other".into()),
                ..state_branch(&fx, &fx.root.join("new/sst"))
            },
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    assert!(new_stage.first_deploy);
    assert_eq!(new_stage.known_stages, ["dev"]);

    // without state-branch mode the checkout's (older) state is what prepare reads
    let in_tree = fx.root.join("in-tree/sst");
    prepare(
        &PrepareOptions {
            common: CommonOptions {
                config_dir: Some(in_tree.clone()),
                ..fx.options("dev")
            },
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    let restored = in_tree.join("state/app/demo-app/dev.json");
    assert_ne!(std::fs::read_to_string(restored).unwrap(), state);
}

#[test]
fn commands_without_state_branch_support_refuse_it_and_no_push_too() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let repo = fx.git_init();
    let before = checkout(&fx, &repo);
    let e = status(&state_branch(&fx, &fx.config), &fx.env()).unwrap_err();
    assert_eq!(e.code(), "INVALID_OPTION");
    assert!(
        e.to_string()
            .contains("status is not yet supported with a state branch"),
        "{e}"
    );
    std::fs::create_dir_all(fx.config_path("app", "")).unwrap();
    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:x"])).unwrap();
    let e = commit(
        &CommitOptions {
            common: state_branch(&fx, &fx.config),
            no_push: true,
            ..CommitOptions::default()
        },
        &fx.env(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "INVALID_OPTION");
    assert!(e.to_string().contains("options.push"), "{e}");
    assert_eq!(checkout(&fx, &repo), before);
}
