//! Passphrases in the repository are age-encrypted: init, commit of a new
//! passphrase, prepare with and without the key, and the plain-text opt-in.

mod common;

use common::{blob_in, checkpoint, Fixture};
use sst_local_state::ops::commit::{commit, CommitOptions};
use sst_local_state::ops::init::{init, InitOptions};
use sst_local_state::ops::prepare::{prepare, PrepareOptions};
use sst_local_state::ops::status::{status, SyncState};
use sst_local_state::Env;

fn env(pairs: &[(&str, &str)]) -> Env {
    common::env_with(pairs)
}

/// A repository with an app and no state yet; SST's first deploy left a new
/// passphrase and a checkpoint in the config dir.
fn first_deploy() -> (Fixture, git2::Repository) {
    let fx = Fixture::new();
    let repo = fx.git_init();
    std::fs::create_dir_all(fx.config_path("app", "").parent().unwrap()).unwrap();
    for (key, file, bytes) in [
        ("passphrase", "dev.json", fx.passphrase().into_bytes()),
        ("app", "dev.json", checkpoint(&["urn:a"]).into_bytes()),
    ] {
        let path = fx.config_path(key, file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    (fx, repo)
}

fn commit_local(
    fx: &Fixture,
    vars: &Env,
) -> sst_local_state::Result<sst_local_state::ops::commit::CommitReport> {
    commit(
        &CommitOptions {
            common: fx.options("dev"),
            no_push: true,
            ..Default::default()
        },
        vars,
    )
}

#[test]
fn a_new_passphrase_is_committed_encrypted_and_restored_with_the_key() {
    let (fx, repo) = first_deploy();
    let key_file = fx.root.join("keys/age.txt");
    let report = init(
        &InitOptions {
            common: fx.options("dev"),
            key_file: Some(key_file.clone()),
            recipient: None,
        },
        &fx.env(),
    )
    .unwrap();
    assert!(report.created_key && report.added_recipient);
    assert!(report.public_key.starts_with("age1"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = init(
        &InitOptions {
            common: fx.options("dev"),
            key_file: Some(key_file.clone()),
            recipient: None,
        },
        &fx.env(),
    )
    .unwrap();
    assert!(!again.created_key && !again.added_recipient);
    assert_eq!(again.public_key, report.public_key);

    let made = commit_local(&fx, &fx.env()).unwrap();
    let oid = git2::Oid::from_str(made.commit.as_deref().unwrap()).unwrap();
    let sealed = blob_in(&repo, oid, "infra/state/passphrase/dev.age")
        .expect("the passphrase is committed as .age");
    assert!(
        blob_in(&repo, oid, "infra/state/passphrase/dev.json").is_none(),
        "never in plain text"
    );
    assert!(!String::from_utf8_lossy(&sealed).contains(&fx.passphrase()));
    assert!(
        blob_in(&repo, oid, "infra/state/age-recipients.txt").is_some(),
        "the recipients travel with it"
    );

    // a fresh machine restores it with the key from the CI secret
    let key = std::fs::read_to_string(&key_file).unwrap();
    let fresh = fx.root.join("fresh/sst");
    let prep = |vars: &Env| {
        let mut o = PrepareOptions {
            common: fx.options("dev"),
            ..Default::default()
        };
        o.common.config_dir = Some(fresh.clone());
        prepare(&o, vars)
    };
    assert_eq!(prep(&fx.env()).unwrap_err().code(), "AGE_KEY_MISSING");
    let (other, _) = sst_local_state::seal::generate();
    assert_eq!(
        prep(&env(&[("SST_LOCAL_STATE_AGE_KEY", &other)]))
            .unwrap_err()
            .code(),
        "DECRYPT_FAILED"
    );
    assert!(!fresh.exists(), "nothing written on a key error");
    let with_key = env(&[("SST_LOCAL_STATE_AGE_KEY", &key)]);
    prep(&with_key).unwrap();
    assert_eq!(
        std::fs::read_to_string(fresh.join("state/passphrase/demo-app/dev.json")).unwrap(),
        fx.passphrase()
    );

    // status without a key says it cannot compare; with the key it is in sync
    let mut so = fx.options("dev");
    so.config_dir = Some(fresh.clone());
    let st = status(&so, &fx.env()).unwrap();
    assert_eq!(st.files[0].state, SyncState::Encrypted);
    assert_eq!(
        status(&so, &with_key).unwrap().files[0].state,
        SyncState::InSync
    );

    // a later deploy: the unchanged passphrase is not re-encrypted (no noise in git)
    std::fs::write(
        fx.config_path("app", "dev.json"),
        checkpoint(&["urn:a", "urn:b"]),
    )
    .unwrap();
    let next = commit_local(&fx, &fx.env()).unwrap();
    assert_eq!(
        next.files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        vec!["infra/state/app/dev.json"]
    );
}

#[test]
fn no_recipients_means_no_plaintext_passphrase_unless_allowed() {
    let (fx, repo) = first_deploy();
    let head = repo.head().unwrap().target().unwrap();
    let err = commit_local(&fx, &fx.env()).unwrap_err();
    assert_eq!(err.code(), "PLAINTEXT_PASSPHRASE");
    assert!(err.to_string().contains("age-recipients.txt"));
    assert_eq!(repo.head().unwrap().target().unwrap(), head);

    let made = commit_local(&fx, &env(&[("SST_LOCAL_STATE_PLAINTEXT_PASSPHRASE", "1")])).unwrap();
    assert!(made
        .warnings
        .iter()
        .any(|w| w.code() == "PLAINTEXT_PASSPHRASE"));
    let oid = git2::Oid::from_str(made.commit.as_deref().unwrap()).unwrap();
    assert_eq!(
        blob_in(&repo, oid, "infra/state/passphrase/dev.json").unwrap(),
        fx.passphrase().as_bytes()
    );
}

#[test]
fn a_malformed_age_key_is_named_by_where_it_came_from_never_shown() {
    let (fx, _repo) = first_deploy();
    let (secret, public) = sst_local_state::seal::generate();
    fx.repo_write("age-recipients.txt", format!("{public}\n"));
    let recipients =
        sst_local_state::seal::parse_recipients(camino::Utf8Path::new("r"), &public).unwrap();
    fx.repo_write(
        "passphrase/dev.age",
        sst_local_state::seal::seal(fx.passphrase().as_bytes(), &recipients),
    );
    let prep = |vars: &Env| {
        let mut o = PrepareOptions {
            common: fx.options("dev"),
            ..Default::default()
        };
        o.common.config_dir = Some(fx.root.join("fresh/sst"));
        let Err(err) = prepare(&o, vars) else {
            panic!("prepared with a malformed key")
        };
        assert_eq!(err.code(), "INVALID_OPTION", "{err}");
        let text = err.to_string();
        assert!(
            !text.contains("NOTAKEY") && !text.contains(&secret),
            "{text}"
        );
        text
    };
    let text = prep(&env(&[(
        "SST_LOCAL_STATE_AGE_KEY",
        "AGE-SECRET-KEY-1NOTAKEY",
    )]));
    assert_eq!(
        text,
        "invalid env SST_LOCAL_STATE_AGE_KEY: its value is not a valid age secret key: expected an AGE-SECRET-KEY-1… line as `sst-local-state init` or age-keygen writes it (not shown here: it may be secret)"
    );
    let key_file = fx.root.join("keys/age.txt");
    std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
    std::fs::write(
        &key_file,
        format!("# mine\n{secret}\nAGE-SECRET-KEY-1NOTAKEY\n"),
    )
    .unwrap();
    let text = prep(&env(&[("SST_LOCAL_STATE_AGE_KEY_FILE", key_file.as_str())]));
    assert!(
        text.starts_with(&format!(
            "invalid age key file {key_file} (env SST_LOCAL_STATE_AGE_KEY_FILE): line 3 is not a valid age secret key"
        )),
        "{text}"
    );
}
