//! Passphrase modes: `env` (the passphrase only in the environment, never
//! in the repository: prepare writes SST's passphrase files from
//! `SST_PASSPHRASE`, commit never commits one, `PASSPHRASE_MISSING` names
//! the variable) and `plain` (committed in plain text on purpose).

mod common;

use common::{blob_in, commit_all, Fixture};
use sst_local_state::ops::commit::{commit, CommitOptions};
use sst_local_state::ops::prepare::{prepare, PrepareOptions};

/// A repository in env mode: dev's state and secrets, no passphrase file.
fn env_project() -> (Fixture, git2::Repository) {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    for p in ["passphrase/dev.json", "passphrase/_fallback.json"] {
        std::fs::remove_file(fx.project.join("infra/state").join(p)).unwrap();
    }
    std::fs::write(
        fx.project.join("package.json"),
        r#"{"name":"x","sstLocalState":{"passphrase":"env"}}"#,
    )
    .unwrap();
    let repo = fx.git_init();
    (fx, repo)
}

fn prep(fx: &Fixture, vars: &[(&str, &str)]) -> sst_local_state::Result<()> {
    let options = PrepareOptions {
        common: fx.options("dev"),
        ..Default::default()
    };
    prepare(&options, &common::env_with(vars)).map(|_| ())
}

#[test]
fn env_mode_prepares_from_the_variable_and_never_commits_the_passphrase() {
    let (fx, repo) = env_project();
    let err = prep(&fx, &[]).unwrap_err();
    assert_eq!(err.code(), "PASSPHRASE_MISSING");
    assert!(err.to_string().contains("set SST_PASSPHRASE"), "{err}");
    assert!(
        err.to_string()
            .contains("package.json sstLocalState.passphrase"),
        "{err}"
    );
    assert!(!fx.config.exists(), "nothing written");

    let pass = fx.passphrase();
    prep(&fx, &[("SST_PASSPHRASE", &pass)]).unwrap();
    for file in ["dev.json", "_fallback.json"] {
        let written = std::fs::read_to_string(fx.config_path("passphrase", file)).unwrap();
        assert_eq!(
            written, pass,
            "SST's passphrase file comes from the variable"
        );
    }

    // SST changed a secret; commit saves it, never the passphrase
    std::fs::write(
        fx.config_path("secret", "dev.json"),
        fx.encrypt(r#"{"MySecret":"new"}"#),
    )
    .unwrap();
    let options = CommitOptions {
        common: fx.options("dev"),
        no_push: true,
        ..Default::default()
    };
    let env = common::env_with(&[("SST_PASSPHRASE", &pass)]);
    let report = commit(&options, &env).unwrap();
    let paths: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["infra/state/secret/dev.json"], "{paths:?}");
    let head = git2::Oid::from_str(report.commit.as_deref().unwrap()).unwrap();
    for p in [
        "infra/state/passphrase/dev.json",
        "infra/state/passphrase/dev.age",
        "infra/state/passphrase/_fallback.json",
    ] {
        assert!(blob_in(&repo, head, p).is_none(), "{p} committed");
    }
    // without the variable commit still saves state (nothing to check it against)
    std::fs::write(
        fx.config_path("secret", "dev.json"),
        fx.encrypt(r#"{"MySecret":"newer"}"#),
    )
    .unwrap();
    assert!(commit(&options, &common::env_with(&[])).unwrap().committed);

    // a passphrase the repository still holds (age, no key here) does not stop a commit
    let (_, public) = sst_local_state::seal::generate();
    let rs = sst_local_state::seal::parse_recipients(camino::Utf8Path::new("r"), &public).unwrap();
    fx.repo_write(
        "passphrase/dev.age",
        sst_local_state::seal::seal(pass.as_bytes(), &rs),
    );
    commit_all(&repo, "a leftover .age");
    // no record of a sync either: nothing vouches for the .age without its key
    std::fs::remove_file(fx.config.join("sst-local-state/synced/demo-app/dev.json")).unwrap();
    std::fs::write(
        fx.config_path("secret", "dev.json"),
        fx.encrypt(r#"{"MySecret":"newest"}"#),
    )
    .unwrap();
    let report = commit(&options, &env).unwrap();
    assert!(report.committed, "{report:?}");
    assert_eq!(report.files.len(), 1, "{:?}", report.files);
    assert!(report.files.iter().all(|f| !f.path.contains("passphrase")));

    // a passphrase SST made itself (prepare did not run) is refused
    let other = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpBQkNERUY=";
    std::fs::write(fx.config_path("passphrase", "dev.json"), other).unwrap();
    let err = commit(&options, &env).unwrap_err();
    assert_eq!(err.code(), "PASSPHRASE_MISMATCH", "{err}");
    assert!(err.to_string().contains("env SST_PASSPHRASE"), "{err}");
    assert!(!err.to_string().contains(&pass) && !err.to_string().contains(other));
}

#[test]
fn the_flag_and_env_override_package_json_and_plain_commits_plain_text() {
    let (fx, _repo) = env_project();
    // the env variable overrides package.json: age mode wants a passphrase in the repository
    let err = prep(&fx, &[("SST_LOCAL_STATE_PASSPHRASE_MODE", "age")]).unwrap_err();
    assert_eq!(err.code(), "PASSPHRASE_MISSING");
    assert!(!err.to_string().contains("SST_PASSPHRASE"), "{err}");
    let mut options = PrepareOptions {
        common: fx.options("dev"),
        ..Default::default()
    };
    options.common.passphrase_mode = Some("bogus".into());
    let err = prepare(&options, &fx.env()).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION");

    // plain: a new passphrase is committed in plain text even with recipients listed
    let fx = Fixture::new();
    let (_, public) = sst_local_state::seal::generate();
    fx.repo_write("age-recipients.txt", format!("{public}\n"));
    let repo = fx.git_init();
    for (key, file, bytes) in [
        ("passphrase", "dev.json", fx.passphrase().into_bytes()),
        (
            "app",
            "dev.json",
            common::checkpoint(&["urn:a"]).into_bytes(),
        ),
    ] {
        let path = fx.config_path(key, file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let mut options = CommitOptions {
        common: fx.options("dev"),
        no_push: true,
        ..Default::default()
    };
    options.common.passphrase_mode = Some("plain".into());
    let report = commit(&options, &fx.env()).unwrap();
    let head = git2::Oid::from_str(report.commit.as_deref().unwrap()).unwrap();
    assert!(blob_in(&repo, head, "infra/state/passphrase/dev.json").is_some());
    assert!(blob_in(&repo, head, "infra/state/passphrase/dev.age").is_none());
    let _ = commit_all;
}
