//! Data safety under hostile conditions (issue 8): fallback files shared by
//! stages, rescue branches, symlinks, concurrent prepares, moved branches,
//! killed runs' leftovers, reruns, bad recipients, I/O errors half-way.
//! Local (path) remotes; the same over the smart-HTTP server, with several
//! processes and kills, is in __test__/safety.test.mjs.

mod common;

use camino::{Utf8Path, Utf8PathBuf};
use common::{blob_in, checkpoint, Fixture};
use sst_local_state::ops::commit::{commit, CommitOptions};
use sst_local_state::ops::prepare::{prepare, PrepareOptions};

const APP: &str = "infra/state/app/dev.json";

/// Commit options for `stage` with config dir `config`, pushing to main.
fn commit_opts(fx: &Fixture, stage: &str, config: &Utf8Path) -> CommitOptions {
    let mut o = CommitOptions {
        common: fx.options(stage),
        branch: Some("main".into()),
        ..CommitOptions::default()
    };
    o.common.config_dir = Some(config.to_path_buf());
    o
}

fn prepare_into(
    fx: &Fixture,
    stage: &str,
    config: &Utf8Path,
) -> sst_local_state::Result<sst_local_state::ops::prepare::PrepareReport> {
    let mut o = PrepareOptions {
        common: fx.options(stage),
        ..Default::default()
    };
    o.common.config_dir = Some(config.to_path_buf());
    prepare(&o, &fx.env())
}

/// `<config>/state/<key>/demo-app/<file>`.
fn in_config(config: &Utf8Path, key: &str, file: &str) -> Utf8PathBuf {
    config.join("state").join(key).join("demo-app").join(file)
}

/// A repo with full dev and prod stages (sharing the fallback pair), pushed
/// to a bare `origin`.
fn two_stages() -> (Fixture, git2::Repository, git2::Repository) {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    fx.repo_full_stage("prod");
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    (fx, repo, bare)
}

fn tip(bare: &git2::Repository, branch: &str) -> git2::Oid {
    bare.find_reference(&format!("refs/heads/{branch}"))
        .unwrap()
        .target()
        .unwrap()
}

/// The content of `path` on the bare repo's main.
fn on_main(bare: &git2::Repository, path: &str) -> Vec<u8> {
    blob_in(bare, tip(bare, "main"), path).unwrap()
}

fn snapshot(dir: &Utf8Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    Fixture::snapshot(dir)
}

// ------------------------------------------------------------ 1. fallback --

#[test]
fn a_commit_never_reverts_fallback_secrets_another_stage_pushed() {
    for forget_known_tip in [false, true] {
        let (fx, repo, bare) = two_stages();
        let (prod_cfg, dev_cfg) = (fx.root.join("p/sst"), fx.root.join("d/sst"));
        prepare_into(&fx, "prod", &prod_cfg).unwrap();
        prepare_into(&fx, "dev", &dev_cfg).unwrap();
        // pipeline D: `sst secret set FB2 … --fallback --stage dev`, deploy, commit
        let new_fallback = fx.encrypt(r#"{"Shared":"f","FB2":"fallback-two"}"#);
        std::fs::write(
            in_config(&dev_cfg, "secret", "_fallback.json"),
            &new_fallback,
        )
        .unwrap();
        commit(&commit_opts(&fx, "dev", &dev_cfg), &fx.env()).unwrap();
        assert_eq!(
            on_main(&bare, "infra/state/secret/_fallback.json"),
            new_fallback
        );
        if forget_known_tip {
            // as in a PR checkout: no refs/remotes/origin/main, so commit fetches
            repo.find_reference("refs/remotes/origin/main")
                .unwrap()
                .delete()
                .unwrap();
        }
        // pipeline P: deploys prod, commits
        let prod_state = checkpoint(&["urn:a", "urn:prod-new"]);
        std::fs::write(in_config(&prod_cfg, "app", "prod.json"), &prod_state).unwrap();
        let report = commit(&commit_opts(&fx, "prod", &prod_cfg), &fx.env()).unwrap();
        assert!(report.pushed, "{report:?}");
        let paths: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["infra/state/app/prod.json"],
            "{forget_known_tip}"
        );
        let main = tip(&bare, "main");
        assert_eq!(
            blob_in(&bare, main, "infra/state/secret/_fallback.json").unwrap(),
            new_fallback,
            "FB2 was reverted (known tip forgotten: {forget_known_tip})"
        );
        assert_eq!(
            blob_in(&bare, main, "infra/state/app/prod.json").unwrap(),
            prod_state.as_bytes()
        );
    }
}

#[test]
fn fallback_secrets_changed_by_both_stages_are_a_conflict_not_a_silent_overwrite() {
    let (fx, _repo, bare) = two_stages();
    let (prod_cfg, dev_cfg) = (fx.root.join("p/sst"), fx.root.join("d/sst"));
    prepare_into(&fx, "prod", &prod_cfg).unwrap();
    prepare_into(&fx, "dev", &dev_cfg).unwrap();
    let theirs = fx.encrypt(r#"{"Shared":"dev-side"}"#);
    std::fs::write(in_config(&dev_cfg, "secret", "_fallback.json"), &theirs).unwrap();
    commit(&commit_opts(&fx, "dev", &dev_cfg), &fx.env()).unwrap();
    let ours = fx.encrypt(r#"{"Shared":"prod-side"}"#);
    std::fs::write(in_config(&prod_cfg, "secret", "_fallback.json"), &ours).unwrap();
    let err = commit(&commit_opts(&fx, "prod", &prod_cfg), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_CONFLICT", "{err}");
    assert_eq!(on_main(&bare, "infra/state/secret/_fallback.json"), theirs);
}

// ------------------------------------------------------ 2. rescue branches --

#[test]
fn every_conflicting_run_gets_a_rescue_branch_of_its_own_holding_its_own_bytes() {
    let (fx, _repo, bare) = two_stages();
    let configs: Vec<Utf8PathBuf> = (0..3).map(|i| fx.root.join(format!("m{i}/sst"))).collect();
    for cfg in &configs {
        prepare_into(&fx, "dev", cfg).unwrap();
    }
    // the first run wins; the two others started from the same state and
    // conflict, back to back (within one second: the old names collided)
    let mut rescues = Vec::new();
    for (i, cfg) in configs.iter().enumerate() {
        let state = checkpoint(&["urn:a", &format!("urn:run-{i}")]);
        std::fs::write(in_config(cfg, "app", "dev.json"), &state).unwrap();
        match commit(&commit_opts(&fx, "dev", cfg), &fx.env()) {
            Ok(r) => assert!(i == 0 && r.pushed),
            Err(e) => {
                assert_eq!(e.code(), "STATE_CONFLICT", "{e}");
                let branch = e.details()["rescueBranch"].as_str().unwrap().to_string();
                assert!(e.to_string().contains(&branch), "{e}");
                rescues.push((branch, state));
            }
        }
    }
    assert_eq!(rescues.len(), 2);
    assert_ne!(
        rescues[0].0, rescues[1].0,
        "two runs were given one rescue branch"
    );
    for (branch, state) in &rescues {
        assert_eq!(
            blob_in(&bare, tip(&bare, branch), APP).unwrap(),
            state.as_bytes(),
            "{branch} does not hold that run's state"
        );
    }
}

// -------------------------------------------------------------- 3. symlinks --

#[cfg(unix)]
#[test]
fn a_symlinked_state_folder_is_refused_and_nothing_outside_is_written() {
    let (fx, _repo, bare) = two_stages();
    let cfg = fx.root.join("c/sst");
    prepare_into(&fx, "dev", &cfg).unwrap();
    // infra/state replaced by a link to a folder outside the checkout
    let outside = fx.root.join("outside");
    copy_dir(&fx.project.join("infra/state"), &outside);
    std::fs::rename(fx.project.join("infra/state"), fx.root.join("moved-away")).unwrap();
    std::os::unix::fs::symlink(&outside, fx.project.join("infra/state")).unwrap();
    let before_outside = snapshot(&outside);
    let before_cfg = snapshot(&cfg);
    let before_main = tip(&bare, "main");

    std::fs::write(in_config(&cfg, "app", "dev.json"), checkpoint(&["urn:x"])).unwrap();
    let err = commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_SYMLINK", "{err}");
    assert!(err.to_string().contains("infra/state"), "{err}");
    assert_eq!(
        snapshot(&outside),
        before_outside,
        "commit wrote outside the repository"
    );
    assert_eq!(tip(&bare, "main"), before_main, "pushed anyway");

    std::fs::write(
        in_config(&cfg, "app", "dev.json"),
        &before_cfg["state/app/demo-app/dev.json"],
    )
    .unwrap();
    let err = prepare_into(&fx, "dev", &cfg).unwrap_err();
    assert_eq!(err.code(), "STATE_SYMLINK", "{err}");
    assert_eq!(snapshot(&cfg), before_cfg, "prepare read through the link");
}

#[cfg(unix)]
#[test]
fn a_state_file_that_is_a_symlink_is_never_read_nor_committed() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let outside = fx.root.join("elsewhere.json");
    std::fs::write(&outside, checkpoint(&["urn:not-ours"])).unwrap();
    let file = fx.project.join(APP);
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&outside, &file).unwrap();
    let repo = fx.git_init(); // commits the link itself (mode 120000)
    fx.add_origin(&repo);
    let cfg = fx.root.join("c/sst");
    let err = prepare_into(&fx, "dev", &cfg).unwrap_err();
    assert_eq!(err.code(), "STATE_SYMLINK", "{err}");
    assert!(err.to_string().contains(file.as_str()), "{err}");
    assert!(!in_config(&cfg, "app", "dev.json").exists());

    // a config-dir state file that is a link is not committed either
    let cfg2 = fx.root.join("c2/sst");
    std::fs::create_dir_all(in_config(&cfg2, "app", "")).unwrap();
    std::os::unix::fs::symlink(&outside, in_config(&cfg2, "app", "dev.json")).unwrap();
    let err = commit(&commit_opts(&fx, "dev", &cfg2), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_SYMLINK", "{err}");
}

#[cfg(unix)]
fn copy_dir(from: &Utf8Path, to: &Utf8Path) {
    for (rel, bytes) in snapshot(from) {
        let path = to.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

// ------------------------------------------------- 4. concurrent prepares --

#[test]
fn concurrent_prepares_into_one_config_dir_never_mix_two_states() {
    // two checkouts of one app (different states) prepared at once into
    // one config dir, over and over: each prepare's files land together
    let projects: Vec<Fixture> = (0..2).map(|_| Fixture::new()).collect();
    let big = |tag: &str| {
        let urns: Vec<String> = (0..4000).map(|i| format!("urn:{tag}:{i}")).collect();
        let refs: Vec<&str> = urns.iter().map(String::as_str).collect();
        checkpoint(&refs)
    };
    for (i, fx) in projects.iter().enumerate() {
        fx.repo_full_stage("dev");
        fx.repo_write("app/dev.json", big(&format!("p{i}")));
        fx.repo_write(
            "secret/dev.json",
            fx.encrypt(&format!(r#"{{"Who":"project-{i}"}}"#)),
        );
    }
    let shared = projects[0].root.join("shared/sst");
    let set_of = |fx: &Fixture| {
        ["app/dev.json", "secret/dev.json"]
            .map(|rel| std::fs::read(fx.project.join("infra/state").join(rel)).unwrap())
    };
    let sets: Vec<[Vec<u8>; 2]> = projects.iter().map(set_of).collect();
    for round in 0..25 {
        std::thread::scope(|s| {
            for fx in &projects {
                let shared = shared.clone();
                s.spawn(move || {
                    let mut o = PrepareOptions {
                        common: fx.options("dev"),
                        force: true,
                        ..Default::default()
                    };
                    o.common.config_dir = Some(shared);
                    prepare(&o, &fx.env()).unwrap();
                });
            }
        });
        let now = [
            std::fs::read(in_config(&shared, "app", "dev.json")).unwrap(),
            std::fs::read(in_config(&shared, "secret", "dev.json")).unwrap(),
        ];
        assert!(
            sets.contains(&now),
            "round {round}: the config dir mixes two projects' files"
        );
        // and the record of what was synced matches the files
        let marker: serde_json::Value = serde_json::from_slice(
            &std::fs::read(shared.join("sst-local-state/synced/demo-app/dev.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            marker["files"]["app"].as_str().unwrap(),
            sst_local_state::BlobId::of(&now[0]).to_string(),
            "round {round}"
        );
    }
}

#[test]
fn a_held_config_dir_lock_makes_prepare_wait_then_fail_clearly() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let held = sst_local_state::DirLock::acquire(&fx.config, std::time::Duration::ZERO).unwrap();
    let mut o = PrepareOptions {
        common: fx.options("dev"),
        ..Default::default()
    };
    o.common.config_dir = Some(fx.config.clone());
    let vars = common::env_with(&[("SST_LOCAL_STATE_CONFIG_DIR_LOCK_TIMEOUT", "1")]);
    let err = prepare(&o, &vars).unwrap_err();
    assert_eq!(err.code(), "CONFIG_DIR_LOCKED", "{err}");
    // the former name still counts when the new one is unset; the new one wins
    let old = common::env_with(&[("SST_LOCAL_STATE_LOCK_TIMEOUT", "0")]);
    assert_eq!(prepare(&o, &old).unwrap_err().code(), "CONFIG_DIR_LOCKED");
    let bad = common::env_with(&[
        ("SST_LOCAL_STATE_CONFIG_DIR_LOCK_TIMEOUT", "soon"),
        ("SST_LOCAL_STATE_LOCK_TIMEOUT", "1"),
    ]);
    let err = prepare(&o, &bad).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION", "{err}");
    assert!(
        err.to_string()
            .contains("env SST_LOCAL_STATE_CONFIG_DIR_LOCK_TIMEOUT"),
        "{err}"
    );
    assert!(!in_config(&fx.config, "app", "dev.json").exists());
    drop(held);
    prepare(&o, &vars).unwrap();
    assert!(in_config(&fx.config, "app", "dev.json").exists());
}

// ------------------------------------------------------ 5. a busy branch --

#[test]
fn an_unrelated_move_is_retried_and_a_budget_spent_is_branch_busy_not_a_conflict() {
    let (fx, repo, bare) = two_stages();
    let cfg = fx.root.join("c/sst");
    prepare_into(&fx, "dev", &cfg).unwrap();
    // another run pushes an unrelated commit; our known tip is now stale
    let other_dir = fx.root.join("other");
    let other = git2::Repository::clone(fx.root.join("remote.git").as_str(), &other_dir).unwrap();
    std::fs::write(other_dir.join("README-other.md"), "other\n").unwrap();
    common::commit_all(&other, "unrelated");
    let mut origin = other.find_remote("origin").unwrap();
    origin
        .push(&["refs/heads/main:refs/heads/main"], None)
        .unwrap();
    let moved = tip(&bare, "main");

    let ours = checkpoint(&["urn:a", "urn:busy"]);
    std::fs::write(in_config(&cfg, "app", "dev.json"), &ours).unwrap();
    let no_time = common::env_with(&[("SST_LOCAL_STATE_PUSH_TIMEOUT", "0")]);
    let err = commit(&commit_opts(&fx, "dev", &cfg), &no_time).unwrap_err();
    assert_eq!(err.code(), "BRANCH_BUSY", "{err}");
    assert!(err.to_string().contains("no redeploy is needed"), "{err}");
    let rescue = err.details()["rescueBranch"].as_str().unwrap().to_string();
    assert_eq!(
        blob_in(&bare, tip(&bare, &rescue), APP).unwrap(),
        ours.as_bytes()
    );
    assert_eq!(tip(&bare, "main"), moved, "main must not change");

    // with time to retry, the same commit goes through on the new tip
    let report = commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap();
    assert!(report.pushed);
    let main = tip(&bare, "main");
    assert_eq!(bare.find_commit(main).unwrap().parent_id(0).unwrap(), moved);
    assert_eq!(blob_in(&bare, main, APP).unwrap(), ours.as_bytes());
    let _ = repo;
}

// -------------------------------------------------- 7. killed runs' temps --

#[test]
fn temporary_files_of_killed_runs_are_cleaned_and_none_is_made_in_the_worktree() {
    let (fx, _repo, _bare) = two_stages();
    let cfg = fx.root.join("c/sst");
    prepare_into(&fx, "dev", &cfg).unwrap();
    // what a run killed while writing leaves behind
    let stale_cfg = in_config(&cfg, "app", ".sst-local-state-AbC123.tmp");
    std::fs::write(&stale_cfg, "half a checkpoint").unwrap();
    let stale_tree = fx
        .project
        .join("infra/state/app/.sst-local-state-XyZ789.tmp");
    std::fs::write(&stale_tree, "half a checkpoint").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&stale_tree)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let unrelated = in_config(&cfg, "app", "notes.tmp");
    std::fs::write(&unrelated, "not ours").unwrap();

    prepare_into(&fx, "dev", &cfg).unwrap();
    assert!(!stale_cfg.exists(), "prepare left a killed run's temp file");
    assert!(unrelated.exists(), "a file that is not ours was removed");

    std::fs::write(in_config(&cfg, "app", "dev.json"), checkpoint(&["urn:t"])).unwrap();
    commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap();
    assert!(
        !stale_tree.exists(),
        "commit left a killed run's temp file in the worktree"
    );
    let leftovers: Vec<String> = walk_names(&fx.project)
        .into_iter()
        .filter(|n| n.contains("sst-local-state") && n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk_names(dir: &Utf8Path) -> Vec<String> {
    snapshot(dir).into_keys().collect()
}

// --------------------------------------------------- 8. no empty commits --

#[test]
fn a_rerun_after_a_push_that_landed_pushes_no_empty_commit() {
    let (fx, repo, bare) = two_stages();
    let cfg = fx.root.join("c/sst");
    prepare_into(&fx, "dev", &cfg).unwrap();
    let marker = cfg.join("sst-local-state/synced/demo-app/dev.json");
    let marker_before = std::fs::read(&marker).unwrap();
    let known_before = repo
        .find_reference("refs/remotes/origin/main")
        .unwrap()
        .target()
        .unwrap();
    std::fs::write(
        in_config(&cfg, "app", "dev.json"),
        checkpoint(&["urn:a", "urn:once"]),
    )
    .unwrap();
    let first = commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap();
    assert!(first.pushed);
    let landed = tip(&bare, "main");
    // killed right after the push landed: the local records were not updated
    repo.reference("refs/remotes/origin/main", known_before, true, "test")
        .unwrap();
    std::fs::write(&marker, &marker_before).unwrap();
    // a later second, as a real rerun is (within the same second the same
    // commit would be rebuilt byte for byte, with the same id)
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let again = commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap();
    assert!(!again.committed && !again.pushed, "{again:?}");
    assert_eq!(tip(&bare, "main"), landed, "an empty commit was pushed");
    assert!(
        again
            .warnings
            .iter()
            .any(|w| w.to_string().contains("already holds")),
        "{:?}",
        again.warnings
    );
}

// ---------------------------------------------- 11. malformed recipients --

#[test]
fn a_bad_recipients_line_blocks_only_commits_that_encrypt_a_passphrase() {
    let (fx, _repo, bare) = two_stages();
    fx.repo_write("age-recipients.txt", "# team\nage1-not-a-key\n");
    let cfg = fx.root.join("c/sst");
    prepare_into(&fx, "dev", &cfg).unwrap();
    let state = checkpoint(&["urn:a", "urn:state-only"]);
    std::fs::write(in_config(&cfg, "app", "dev.json"), &state).unwrap();
    let report = commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap();
    assert!(report.pushed);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.code() == "RECIPIENTS_INVALID"
                && w.to_string().contains("age-recipients.txt")),
        "{:?}",
        report.warnings
    );
    assert_eq!(on_main(&bare, APP), state.as_bytes());

    // a new stage's passphrase does need them: refused, naming the line
    let cfg2 = fx.root.join("c2/sst");
    std::fs::create_dir_all(in_config(&cfg2, "passphrase", "")).unwrap();
    std::fs::write(
        in_config(&cfg2, "passphrase", "staging.json"),
        fx.passphrase(),
    )
    .unwrap();
    let err = commit(&commit_opts(&fx, "staging", &cfg2), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION", "{err}");
    assert!(err.to_string().contains("age-recipients.txt:2"), "{err}");
}

// ---------------------------------------- 12. all or nothing on I/O errors --

#[cfg(unix)]
#[test]
fn an_io_error_while_preparing_changes_no_file() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let cfg = fx.root.join("c/sst");
    prepare_into(&fx, "dev", &cfg).unwrap();
    // the repository moves on: new secrets and a new checkpoint
    fx.repo_write(
        "secret/dev.json",
        fx.encrypt(r#"{"MySecret":"rotated-xq8"}"#),
    );
    fx.repo_write("app/dev.json", checkpoint(&["urn:a", "urn:b", "urn:c"]));
    // the checkpoint's folder cannot be written (read-only; for root, who
    // runs CI here and ignores permissions, immutable)
    let app_dir = in_config(&cfg, "app", "");
    let _guard = ReadOnly::new(&app_dir);
    let before = snapshot(&cfg.join("state"));

    let err = prepare_into(&fx, "dev", &cfg).unwrap_err();
    assert_eq!(err.code(), "IO_ERROR", "{err}");
    let after = snapshot(&cfg.join("state"));
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "replaced before the error: {changed:?}");
}

#[cfg(unix)]
/// Makes a folder unwritable until dropped: mode 0555, and for root (whom
/// modes do not stop) the immutable attribute.
struct ReadOnly(Utf8PathBuf);

#[cfg(unix)]
impl ReadOnly {
    fn new(dir: &Utf8Path) -> Self {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let guard = ReadOnly(dir.to_path_buf());
        let probe = dir.join("probe");
        if std::fs::write(&probe, "x").is_ok() {
            std::fs::remove_file(&probe).unwrap();
            let status = std::process::Command::new("chattr")
                .args(["+i", dir.as_str()])
                .status()
                .expect("chattr (e2fsprogs) is needed to make a folder unwritable for root");
            assert!(status.success(), "chattr +i {dir} failed");
            assert!(
                std::fs::write(&probe, "x").is_err(),
                "{dir} is still writable"
            );
        }
        guard
    }
}

#[cfg(unix)]
impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::process::Command::new("chattr")
            .args(["-i", self.0.as_str()])
            .status();
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn a_run_killed_after_its_push_landed_is_the_next_runs_own_lineage_not_a_conflict() {
    let (fx, repo, bare) = two_stages();
    let cfg = fx.root.join("c/sst");
    prepare_into(&fx, "dev", &cfg).unwrap();
    let marker = cfg.join("sst-local-state/synced/demo-app/dev.json");
    let marker_before = std::fs::read(&marker).unwrap();
    let known = |repo: &git2::Repository| {
        repo.find_reference("refs/remotes/origin/main")
            .unwrap()
            .target()
            .unwrap()
    };
    let known_before = known(&repo);
    let killed = checkpoint(&["urn:a", "urn:killed-run"]);
    std::fs::write(in_config(&cfg, "app", "dev.json"), &killed).unwrap();
    commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap();
    let landed = tip(&bare, "main");
    // the run was killed after the push landed: the known tip and the
    // marker are as before, the marker noting what the run was pushing
    let killed_run_marker = |note: bool| {
        let mut m: serde_json::Value = serde_json::from_slice(&marker_before).unwrap();
        if note {
            m["pushing"] = serde_json::json!({ "app": [sst_local_state::BlobId::of(killed.as_bytes()).to_string()] });
        }
        std::fs::write(&marker, serde_json::to_vec(&m).unwrap()).unwrap();
        repo.reference("refs/remotes/origin/main", known_before, true, "test")
            .unwrap();
    };
    // the next deploy runs on top of the killed run's state
    let next = checkpoint(&["urn:a", "urn:killed-run", "urn:next"]);
    std::fs::write(in_config(&cfg, "app", "dev.json"), &next).unwrap();

    // without the note, the landed state looks like another run's
    killed_run_marker(false);
    let err = commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_CONFLICT", "{err}");
    // with it (as every commit now writes it before pushing), it is ours
    killed_run_marker(true);
    let report = commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap();
    assert!(report.pushed, "{report:?}");
    let main = tip(&bare, "main");
    assert_eq!(
        bare.find_commit(main).unwrap().parent_id(0).unwrap(),
        landed
    );
    assert_eq!(blob_in(&bare, main, APP).unwrap(), next.as_bytes());
    // and the note is cleared once the push is recorded
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&marker).unwrap()).unwrap();
    assert!(m.get("pushing").is_none(), "{m}");
}

#[test]
fn an_index_locked_by_another_git_does_not_fail_a_commit_that_was_pushed() {
    // a killed `git` (or a killed run of ours) can leave .git/index.lock
    let (fx, repo, bare) = two_stages();
    let cfg = fx.root.join("c/sst");
    prepare_into(&fx, "dev", &cfg).unwrap();
    std::fs::write(fx.project.join(".git/index.lock"), "").unwrap();
    let state = checkpoint(&["urn:a", "urn:locked-index"]);
    std::fs::write(in_config(&cfg, "app", "dev.json"), &state).unwrap();
    let report = commit(&commit_opts(&fx, "dev", &cfg), &fx.env()).unwrap();
    assert!(report.pushed && report.head_updated, "{report:?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("index could not be refreshed")),
        "{:?}",
        report.warnings
    );
    assert_eq!(on_main(&bare, APP), state.as_bytes());
    assert_eq!(repo.head().unwrap().target().unwrap(), tip(&bare, "main"));
}
