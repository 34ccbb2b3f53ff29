//! status: every way a state file can compare between the repository and
//! the config dir, and `clean` only when nothing needs prepare or commit.

mod common;

use common::{checkpoint, Fixture};
use sst_local_state::ops::prepare::{prepare, PrepareOptions};
use sst_local_state::ops::status::{status, StatusReport, SyncState};

fn prepared() -> Fixture {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    prepare(
        &PrepareOptions {
            common: fx.options("dev"),
            ..PrepareOptions::default()
        },
        &fx.env(),
    )
    .unwrap();
    fx
}

fn report(fx: &Fixture) -> StatusReport {
    status(&fx.options("dev"), &fx.env()).unwrap()
}

fn app_state(fx: &Fixture) -> SyncState {
    report(fx).files.last().unwrap().state
}

#[test]
fn in_sync_after_prepare_is_clean() {
    let fx = prepared();
    let r = report(&fx);
    assert_eq!(r.files.len(), 5, "{:?}", r.files);
    assert!(
        r.files.iter().all(|f| f.state == SyncState::InSync),
        "{:?}",
        r.files
    );
    assert!(r.clean);
    assert_eq!(r.repo_checkpoint.unwrap().resources, 2);
}

#[test]
fn a_change_on_either_side_says_which_and_is_not_clean() {
    let fx = prepared();
    std::fs::write(
        fx.config_path("app", "dev.json"),
        checkpoint(&["urn:deployed"]),
    )
    .unwrap();
    assert_eq!(app_state(&fx), SyncState::ChangedInConfigDir);
    assert!(!report(&fx).clean);

    let fx = prepared();
    fx.repo_write("app/dev.json", checkpoint(&["urn:pulled"]));
    assert_eq!(app_state(&fx), SyncState::ChangedInRepo);
    assert!(!report(&fx).clean);
}

#[test]
fn one_side_only_and_neither() {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    let r = report(&fx);
    assert_eq!(r.files.len(), 5, "{:?}", r.files);
    assert!(r.files.iter().all(|f| f.state == SyncState::OnlyInRepo));
    assert!(!r.clean);

    let fx = Fixture::new();
    std::fs::create_dir_all(fx.config_path("app", "").parent().unwrap().join("demo-app")).unwrap();
    std::fs::write(fx.config_path("app", "dev.json"), checkpoint(&["urn:x"])).unwrap();
    let r = report(&fx);
    assert_eq!(r.files.len(), 5, "{:?}", r.files);
    assert_eq!(r.files.last().unwrap().state, SyncState::OnlyInConfigDir);
    assert!(r.files[..4].iter().all(|f| f.state == SyncState::Absent));
    assert!(!r.clean);

    let fx = Fixture::new();
    let r = report(&fx);
    assert_eq!(r.files.len(), 5, "{:?}", r.files);
    assert!(r.files.iter().all(|f| f.state == SyncState::Absent));
    assert!(r.clean, "a stage with no state anywhere needs nothing");
}

#[cfg(unix)]
#[test]
fn a_symlinked_state_folder_is_refused() {
    let fx = prepared();
    let outside = fx.root.join("outside");
    std::fs::rename(fx.project.join("infra/state"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, fx.project.join("infra/state")).unwrap();
    let err = status(&fx.options("dev"), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_SYMLINK", "{err}");
}
