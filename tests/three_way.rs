//! prepare's three-way rule, cell by cell and per file, with the last
//! synced version as the base: safe to run before every `sst` command
//! (SST's own changes since the last sync are kept), never removing state
//! silently (an old branch), and the passphrase-mismatch situation followed
//! message by message to a clean, committed state.

mod common;

use camino::Utf8PathBuf;
use common::{checkpoint, Fixture};
use sst_local_state::ops::commit::{commit, CommitOptions};
use sst_local_state::ops::prepare::{prepare, Action, PrepareOptions, PrepareReport};
use sst_local_state::Result;

fn run(fx: &Fixture, force: bool) -> Result<PrepareReport> {
    let options = PrepareOptions {
        common: fx.options("dev"),
        force,
        ..PrepareOptions::default()
    };
    prepare(&options, &fx.env())
}

/// A file of the stage and a way to make versions of it.
struct Subject {
    key: &'static str,
    version: fn(&Fixture, &str) -> Vec<u8>,
}

const SUBJECTS: [Subject; 2] = [
    Subject {
        key: "app",
        version: |_, tag| checkpoint(&["urn:a", &format!("urn:{tag}")]).into_bytes(),
    },
    Subject {
        key: "secret",
        version: |fx, tag| fx.encrypt(&format!(r#"{{"S":"{tag}"}}"#)),
    },
];

impl Subject {
    fn config(&self, fx: &Fixture) -> Utf8PathBuf {
        fx.config_path(self.key, "dev.json")
    }
    fn repo_rel(&self) -> String {
        format!("{}/dev.json", self.key)
    }
    fn action(&self, report: &PrepareReport) -> Action {
        let kind = if self.key == "app" { "app" } else { "secret" };
        report
            .files
            .iter()
            .find(|f| serde_json::to_value(f.kind).unwrap() == kind)
            .unwrap()
            .action
    }
}

/// A synced stage: repository and config dir hold `base`.
fn synced(s: &Subject) -> (Fixture, Vec<u8>) {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let base = (s.version)(&fx, "base");
    fx.repo_write(&s.repo_rel(), &base);
    run(&fx, false).unwrap();
    (fx, base)
}

#[test]
fn only_the_repository_moved_restores_it() {
    for s in &SUBJECTS {
        let (fx, _) = synced(s);
        let theirs = (s.version)(&fx, "theirs");
        fx.repo_write(&s.repo_rel(), &theirs);
        let report = run(&fx, false).unwrap();
        assert_eq!(s.action(&report), Action::Written, "{}", s.key);
        assert_eq!(std::fs::read(s.config(&fx)).unwrap(), theirs);
    }
}

#[test]
fn only_the_config_dir_moved_keeps_it_and_says_commit_saves_it() {
    for s in &SUBJECTS {
        let (fx, _) = synced(s);
        let ours = (s.version)(&fx, "deployed-here");
        std::fs::write(s.config(&fx), &ours).unwrap();
        // prepare runs again (before the next `sst` command): twice, same result
        for _ in 0..2 {
            let report = run(&fx, false).unwrap();
            assert_eq!(s.action(&report), Action::Kept, "{}", s.key);
            assert!(report
                .warnings
                .iter()
                .any(|w| w.to_string().contains("`commit` saves it")));
            assert_eq!(std::fs::read(s.config(&fx)).unwrap(), ours);
        }
    }
}

#[test]
fn both_moved_is_unsaved_state_and_force_backs_up_then_restores() {
    for s in &SUBJECTS {
        let (fx, _) = synced(s);
        let ours = (s.version)(&fx, "ours");
        let theirs = (s.version)(&fx, "theirs");
        std::fs::write(s.config(&fx), &ours).unwrap();
        fx.repo_write(&s.repo_rel(), &theirs);
        let before = Fixture::snapshot(&fx.config);
        let err = run(&fx, false).unwrap_err();
        assert_eq!(err.code(), "UNSAVED_STATE", "{}", s.key);
        assert!(err.to_string().contains(s.config(&fx).as_str()), "{err}");
        assert!(err.to_string().contains("`force: true`"), "{err}");
        assert_eq!(Fixture::snapshot(&fx.config), before);
        let report = run(&fx, true).unwrap();
        assert_eq!(std::fs::read(s.config(&fx)).unwrap(), theirs);
        let backup = report.backup_dir.unwrap();
        assert_eq!(
            std::fs::read(backup.join(format!("state/{}/demo-app/dev.json", s.key))).unwrap(),
            ours
        );
    }
}

#[test]
fn neither_moved_changes_nothing_and_a_file_missing_in_the_config_dir_is_restored() {
    for s in &SUBJECTS {
        let (fx, base) = synced(s);
        assert_eq!(s.action(&run(&fx, false).unwrap()), Action::Unchanged);
        std::fs::remove_file(s.config(&fx)).unwrap();
        assert_eq!(s.action(&run(&fx, false).unwrap()), Action::Written);
        assert_eq!(std::fs::read(s.config(&fx)).unwrap(), base);
    }
}

#[test]
fn a_file_the_repository_lacks_is_never_removed_silently() {
    for s in &SUBJECTS {
        // synced before: refused (an old branch?); force backs up and removes
        let (fx, base) = synced(s);
        std::fs::remove_file(fx.project.join("infra/state").join(s.repo_rel())).unwrap();
        let err = run(&fx, false).unwrap_err();
        assert_eq!(err.code(), "STATE_MISSING_IN_REPO", "{}", s.key);
        assert_eq!(std::fs::read(s.config(&fx)).unwrap(), base);
        let report = run(&fx, true).unwrap();
        assert_eq!(s.action(&report), Action::Removed);
        assert!(!s.config(&fx).exists());
        // never synced (a first deploy not committed yet): kept
        let ours = (s.version)(&fx, "new-here");
        std::fs::write(s.config(&fx), &ours).unwrap();
        assert_eq!(s.action(&run(&fx, false).unwrap()), Action::Kept);
        assert_eq!(std::fs::read(s.config(&fx)).unwrap(), ours);
    }
}

#[test]
fn an_old_branch_without_any_state_removes_nothing() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    run(&fx, false).unwrap();
    // `git checkout -b old <a commit before any state>`: no state folder
    std::fs::remove_dir_all(fx.project.join("infra/state")).unwrap();
    let before = Fixture::snapshot(&fx.config.join("state"));
    let err = run(&fx, false).unwrap_err();
    assert_eq!(err.code(), "STATE_MISSING_IN_REPO", "{err}");
    assert!(err.to_string().contains("predates"), "{err}");
    assert_eq!(Fixture::snapshot(&fx.config.join("state")), before);
    assert_eq!(err.exit_code(), 4);
}

#[test]
fn a_new_stage_on_a_fresh_machine_is_still_a_first_deploy() {
    let fx = Fixture::new();
    let report = run(&fx, false).unwrap();
    assert!(report.first_deploy);
    assert_eq!(report.files.len(), 5, "{:?}", report.files);
    assert!(report.files.iter().all(|f| f.action == Action::Absent));
    // then SST writes its first state; the next prepare keeps it
    std::fs::create_dir_all(fx.config_path("app", "").parent().unwrap().join("demo-app")).unwrap();
    std::fs::write(
        fx.config_path("app", "dev.json"),
        checkpoint(&["urn:first"]),
    )
    .unwrap();
    let again = run(&fx, false).unwrap();
    assert!(!again.first_deploy);
    assert_eq!(again.files.last().unwrap().action, Action::Kept);
}

#[test]
fn passphrase_mismatch_followed_message_by_message_ends_clean_with_the_repos_passphrase() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let repo = fx.git_init();
    let repo_passphrase =
        std::fs::read(fx.project.join("infra/state/passphrase/dev.json")).unwrap();
    // prepare was skipped: SST made a new passphrase and a secret with it
    let other_key = [9u8; 32];
    let dir = fx.config_path("passphrase", "");
    std::fs::create_dir_all(dir.parent().unwrap().join("demo-app")).unwrap();
    std::fs::write(
        fx.config_path("passphrase", "dev.json"),
        base64_of(&other_key),
    )
    .unwrap();
    std::fs::create_dir_all(
        fx.config_path("secret", "")
            .parent()
            .unwrap()
            .join("demo-app"),
    )
    .unwrap();
    std::fs::write(
        fx.config_path("secret", "dev.json"),
        common::encrypt_with(&other_key, r#"{"A":"1"}"#),
    )
    .unwrap();
    let commit_opts = CommitOptions {
        common: fx.options("dev"),
        no_push: true,
        ..CommitOptions::default()
    };
    // 1. commit refuses and names the way out
    let err = commit(&commit_opts, &fx.env()).unwrap_err();
    assert_eq!(err.code(), "PASSPHRASE_MISMATCH", "{err}");
    assert!(
        err.to_string().contains("infra/state/passphrase/dev.json"),
        "{err}"
    );
    assert!(err.to_string().contains("prepare --force"), "{err}");
    // 2. prepare refuses too, and does not send the user back to commit
    let err = run(&fx, false).unwrap_err();
    assert_eq!(err.code(), "UNSAVED_STATE", "{err}");
    assert!(err.to_string().contains("cannot be committed"), "{err}");
    assert!(!err.to_string().contains("Commit them first"), "{err}");
    // 3. prepare with force: backed up, the repository's passphrase restored
    let report = run(&fx, true).unwrap();
    assert!(report.backup_dir.is_some());
    assert_eq!(
        std::fs::read(fx.config_path("passphrase", "dev.json")).unwrap(),
        repo_passphrase
    );
    // 4. clean: nothing to commit, the repository's passphrase kept
    let done = commit(&commit_opts, &fx.env()).unwrap();
    assert!(!done.committed, "{done:?}");
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(
        common::blob_in(&repo, head.id(), "infra/state/passphrase/dev.json").unwrap(),
        repo_passphrase
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn a_kept_checkpoint_is_the_one_whose_resources_prepare_reports() {
    let (fx, _) = synced(&SUBJECTS[0]);
    // SST deployed here: 3 resources in the config dir, the repository's has 2
    std::fs::write(
        fx.config_path("app", "dev.json"),
        checkpoint(&["urn:a", "urn:b", "urn:c"]),
    )
    .unwrap();
    let report = run(&fx, false).unwrap();
    assert_eq!(SUBJECTS[0].action(&report), Action::Kept);
    assert_eq!(report.checkpoint.map(|c| c.resources), Some(3));
    let text = sst_local_state::render::prepare(&report);
    assert!(
        text.contains("checkpoint: 3 resources (the config dir's, kept: commit saves it)"),
        "{text}"
    );
    // restored from the repository: the repository's count
    std::fs::remove_file(fx.config_path("app", "dev.json")).unwrap();
    let restored = run(&fx, false).unwrap();
    assert_eq!(SUBJECTS[0].action(&restored), Action::Written);
    assert_eq!(restored.checkpoint.map(|c| c.resources), Some(2));
}

#[test]
fn force_backs_up_every_config_dir_file_it_replaces_even_one_as_last_synced() {
    let (fx, base) = synced(&SUBJECTS[0]);
    let theirs = (SUBJECTS[0].version)(&fx, "theirs");
    fx.repo_write("app/dev.json", &theirs);
    let report = run(&fx, true).unwrap();
    assert_eq!(SUBJECTS[0].action(&report), Action::Written);
    let dir = report
        .backup_dir
        .expect("a forced prepare that replaced a file backs it up");
    assert_eq!(
        std::fs::read(dir.join("state/app/demo-app/dev.json")).unwrap(),
        base
    );
    assert_eq!(std::fs::read(SUBJECTS[0].config(&fx)).unwrap(), theirs);
    // nothing replaced: no backup; not forced: no backup either
    assert!(run(&fx, true).unwrap().backup_dir.is_none());
    fx.repo_write("app/dev.json", &base);
    let plain = run(&fx, false).unwrap();
    assert_eq!(SUBJECTS[0].action(&plain), Action::Written);
    assert!(plain.backup_dir.is_none());
}
