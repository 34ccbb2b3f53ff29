//! A stage SST removed: `sst remove` of an app with `state: { purge: true }`
//! deletes the stage's checkpoint, secrets and passphrase (and its update
//! records) from SST's config dir (SST 4.17 `provider.Purge`; with the real
//! `sst` CLI in __test__/removal.test.mjs). After a sync that is committed
//! as the stage's removal (never skipped as "nothing changed"), prepare
//! refuses to write the removed stage back until then, status says so; a
//! wiped config dir (no record of a sync) or a config dir that never saw a
//! prepare removes nothing, nor does a checkpoint missing alone.

mod common;

use common::{blob_in, Fixture};
use sst_local_state::ops::commit::{commit, CommitOptions, CommitReport};
use sst_local_state::ops::prepare::{prepare, PrepareOptions, PrepareReport};
use sst_local_state::ops::status::{status, SyncState};
use sst_local_state::Result;

const APP: &str = "infra/state/app/dev.json";
const SECRET: &str = "infra/state/secret/dev.json";
const PASSPHRASE: &str = "infra/state/passphrase/dev.json";
const FALLBACK: &str = "infra/state/secret/_fallback.json";

/// A repo on main with a full stage committed, pushed to a bare origin, prepared here.
fn synced() -> (Fixture, git2::Repository, git2::Repository) {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    run_prepare(&fx, false).unwrap();
    (fx, repo, bare)
}

fn run_prepare(fx: &Fixture, force: bool) -> Result<PrepareReport> {
    let options = PrepareOptions {
        common: fx.options("dev"),
        force,
        ..PrepareOptions::default()
    };
    prepare(&options, &fx.env())
}

fn run_commit(fx: &Fixture) -> Result<CommitReport> {
    let options = CommitOptions {
        common: fx.options("dev"),
        branch: Some("main".into()),
        ..CommitOptions::default()
    };
    commit(&options, &fx.env())
}

/// What SST's purge deletes (`pkg/project/provider/local.go` `purge`, then
/// the passphrase): the stage's app and secret files, its update,
/// summary, eventlog and snapshot folders, its passphrase. `_fallback` stays.
fn purge(fx: &Fixture) {
    for key in ["app", "secret", "passphrase"] {
        std::fs::remove_file(fx.config_path(key, "dev.json")).unwrap();
    }
    for key in ["update", "summary", "eventlog", "snapshot"] {
        let _ = std::fs::remove_dir_all(fx.config_path(key, "dev"));
    }
}

/// An update record of the stage, as SST writes one per run.
fn update_record(fx: &Fixture) {
    let dir = fx.config_path("update", "dev");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fe5dad767e90af5062e574cf.json"), "{}").unwrap();
}

fn tip(bare: &git2::Repository) -> git2::Oid {
    bare.find_reference("refs/heads/main")
        .unwrap()
        .target()
        .unwrap()
}

#[test]
fn a_purge_after_a_sync_is_committed_as_the_stages_removal() {
    let (fx, repo, bare) = synced();
    // SST's update records exist until the purge deletes their folder
    update_record(&fx);
    let before = tip(&bare);
    purge(&fx);

    let report = run_commit(&fx).unwrap();
    assert!(report.committed && report.pushed, "{report:?}");
    let mut changes: Vec<(&str, &str)> = report
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.change))
        .collect();
    changes.sort();
    assert_eq!(
        changes,
        [
            (APP, "removed"),
            (PASSPHRASE, "removed"),
            (SECRET, "removed")
        ]
    );
    let new = tip(&bare);
    let commit = bare.find_commit(new).unwrap();
    assert_eq!(commit.parent_id(0).unwrap(), before);
    for path in [APP, SECRET, PASSPHRASE] {
        assert_eq!(
            blob_in(&bare, new, path),
            None,
            "{path} still on the branch"
        );
        assert!(
            blob_in(&bare, before, path).is_some(),
            "history keeps {path}"
        );
        assert!(
            !fx.project.join(path).exists(),
            "{path} still in the worktree"
        );
    }
    assert!(
        blob_in(&bare, new, FALLBACK).is_some(),
        "the fallback secrets are every stage's"
    );
    let message = commit.message().unwrap();
    assert!(
        message.starts_with("chore(sst-state): demo-app/dev remove: stage removed by SST, 2 -> 0 resources [skip ci]"),
        "{message}"
    );
    assert!(message.contains("\nSST-Command: remove\n"), "{message}");
    assert!(message.contains("SST-Resources: 2 -> 0"), "{message}");
    // HEAD followed, the worktree and index are clean
    assert_eq!(repo.head().unwrap().target().unwrap(), new);
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true);
    assert!(repo.statuses(Some(&mut opts)).unwrap().is_empty());

    // afterwards: nothing left to save, and prepare sees a new stage
    assert!(!run_commit(&fx).unwrap().committed);
    let prepared = run_prepare(&fx, false).unwrap();
    assert!(prepared.first_deploy);
    assert!(
        !fx.config_path("app", "dev.json").exists(),
        "the removed stage was written back"
    );
}

#[test]
fn until_it_is_committed_prepare_refuses_to_write_the_removed_stage_back_and_status_says_so() {
    let (fx, _repo, bare) = synced();
    purge(&fx);
    let s = status(&fx.options("dev"), &fx.env()).unwrap();
    assert!(s.stage_removed && !s.clean);
    let state = |kind: &str| {
        s.files
            .iter()
            .find(|f| f.kind.as_str() == kind)
            .unwrap()
            .state
    };
    for kind in ["app", "secret", "passphrase"] {
        assert_eq!(state(kind), SyncState::RemovedInConfigDir, "{kind}");
    }
    assert_eq!(state("fallbackSecret"), SyncState::InSync);
    let text = sst_local_state::render::status(&s);
    assert!(
        text.contains("`sst-local-state commit --stage dev` saves the removal"),
        "{text}"
    );

    let before = Fixture::snapshot(&fx.config);
    let e = run_prepare(&fx, false).unwrap_err();
    assert_eq!(e.code(), "REMOVAL_UNSAVED", "{e}");
    assert_eq!(e.exit_code(), 4);
    assert!(
        e.to_string().contains("sst-local-state commit --stage dev"),
        "{e}"
    );
    assert_eq!(
        Fixture::snapshot(&fx.config),
        before,
        "prepare wrote something"
    );
    // forced, the repository's stage comes back (nothing to back up: SST deleted it)
    let forced = run_prepare(&fx, true).unwrap();
    assert!(!forced.first_deploy);
    assert!(fx.config_path("app", "dev.json").exists());
    assert!(
        !run_commit(&fx).unwrap().committed,
        "nothing to save after the restore"
    );
    assert!(blob_in(&bare, tip(&bare), APP).is_some());
}

#[test]
fn a_wiped_config_dir_or_one_that_never_saw_a_prepare_removes_nothing() {
    // wiped: the whole config dir is gone, the record of the sync with it
    let (fx, _repo, bare) = synced();
    let before = tip(&bare);
    std::fs::remove_dir_all(&fx.config).unwrap();
    std::fs::create_dir_all(&fx.config).unwrap();
    let report = run_commit(&fx).unwrap();
    assert!(!report.committed, "{report:?}");
    assert_eq!(tip(&bare), before);
    assert!(!status(&fx.options("dev"), &fx.env()).unwrap().stage_removed);
    // a config dir that never saw a prepare
    let fresh = Fixture::new();
    fresh.repo_full_stage("dev");
    let repo = fresh.git_init();
    let bare = fresh.add_origin(&repo);
    std::fs::create_dir_all(fresh.config_path("app", "")).unwrap();
    let before = tip(&bare);
    assert!(!run_commit(&fresh).unwrap().committed);
    assert_eq!(tip(&bare), before);
}

#[test]
fn a_checkpoint_missing_alone_or_update_records_left_are_not_a_removal() {
    let (fx, _repo, bare) = synced();
    let before = tip(&bare);
    // only the checkpoint is gone: not what SST's purge leaves
    std::fs::remove_file(fx.config_path("app", "dev.json")).unwrap();
    assert!(!run_commit(&fx).unwrap().committed);
    assert_eq!(tip(&bare), before);
    let restored = run_prepare(&fx, false).unwrap();
    assert!(fx.config_path("app", "dev.json").exists(), "{restored:?}");
    // the stage's files gone but its update records left: not a purge either
    purge(&fx);
    update_record(&fx);
    assert!(!run_commit(&fx).unwrap().committed);
    assert_eq!(tip(&bare), before);
}

#[test]
fn history_lists_the_removal_and_rollback_brings_the_stage_back_passphrase_included() {
    use sst_local_state::ops::history::{history, HistoryOptions};
    use sst_local_state::ops::rollback::{rollback, RollbackOptions};
    let (fx, _repo, bare) = synced();
    let before = tip(&bare);
    purge(&fx);
    run_commit(&fx).unwrap();
    let h = history(
        &HistoryOptions {
            common: fx.options("dev"),
            ..HistoryOptions::default()
        },
        &fx.env(),
    )
    .unwrap();
    let newest = &h.entries[0];
    assert_eq!(newest.command.as_deref(), Some("remove"));
    assert_eq!(newest.resources, None);
    assert_eq!(newest.removed.len(), 2, "{newest:?}");
    // back to the state before the removal: no --force, the tip has no passphrase to protect
    let r = rollback(
        &RollbackOptions {
            common: fx.options("dev"),
            to: before.to_string(),
            ..RollbackOptions::default()
        },
        &fx.env(),
        &mut |_| {},
    )
    .unwrap();
    assert!(r.committed && !r.passphrase_changed, "{r:?}");
    for path in [APP, SECRET, PASSPHRASE] {
        assert_eq!(
            blob_in(&bare, tip(&bare), path),
            blob_in(&bare, before, path),
            "{path}"
        );
    }
    // and prepare restores it (the removal is committed: nothing unsaved)
    let prepared = run_prepare(&fx, false).unwrap();
    assert!(!prepared.first_deploy);
    assert!(fx.config_path("passphrase", "dev.json").exists());
}

#[test]
fn a_removal_over_a_stage_another_run_changed_meanwhile_is_a_conflict_with_its_way_out() {
    let (fx, _repo, bare) = synced();
    // another run deploys the stage after this machine's sync
    let other_dir = fx.root.join("other");
    let other = git2::Repository::clone(bare.path().to_str().unwrap(), &other_dir).unwrap();
    let theirs = common::checkpoint(&["urn:a", "urn:b", "urn:theirs"]);
    std::fs::write(other_dir.join(APP), &theirs).unwrap();
    common::commit_all(&other, "their deploy");
    common::push_main(&other);
    let theirs_tip = tip(&bare);
    purge(&fx);
    let e = run_commit(&fx).unwrap_err();
    assert_eq!(e.code(), "STATE_CONFLICT", "{e}");
    let message = e.to_string();
    assert!(
        message.contains("This run removed the stage (SST's purge)"),
        "{message}"
    );
    assert!(
        message.contains(
            "then `sst remove --stage dev` again and `sst-local-state commit --stage dev"
        ),
        "{message}"
    );
    assert_eq!(tip(&bare), theirs_tip, "nothing removed from the branch");
    // the worktree holds the branch's state: the forced prepare restores it
    assert_eq!(
        std::fs::read_to_string(fx.project.join(APP)).unwrap(),
        theirs
    );
    run_prepare(&fx, true).unwrap();
    assert_eq!(
        std::fs::read_to_string(fx.config_path("app", "dev.json")).unwrap(),
        theirs
    );
}
