//! rollback against a path remote (pushed through git): a new commit whose
//! stage files are the revision's blobs, history kept, under the stage lock
//! (released with the push), refused when the passphrase differs unless
//! forced, nothing committed when nothing changes.

mod common;

use common::{commit_all, Fixture};
use git2::{Oid, Repository};
use sst_local_state::ops::lock::{lock, LockOptions, LockRequest};
use sst_local_state::ops::rollback::{rollback, RollbackOptions, RollbackReport};
use sst_local_state::Error;

const LOCK_REF: &str = "refs/heads/sst-local-state/lock/demo-app/dev";
const APP: &str = "infra/state/app/dev.json";
const SECRET: &str = "infra/state/secret/dev.json";
const PASSPHRASE: &str = "infra/state/passphrase/dev.json";

fn options(fx: &Fixture, to: Oid, force: bool) -> RollbackOptions {
    RollbackOptions {
        common: fx.options("dev"),
        to: to.to_string(),
        force,
        ..RollbackOptions::default()
    }
}

fn roll(fx: &Fixture, to: Oid, force: bool) -> Result<RollbackReport, Error> {
    rollback(&options(fx, to, force), &fx.env(), &mut |_| {})
}

fn tip(bare: &Repository) -> Oid {
    bare.find_reference("refs/heads/main")
        .unwrap()
        .target()
        .unwrap()
}

fn blob(repo: &Repository, commit: Oid, path: &str) -> Option<Oid> {
    let tree = repo.find_commit(commit).unwrap().tree().unwrap();
    tree.get_path(std::path::Path::new(path))
        .ok()
        .map(|e| e.id())
}

fn push(repo: &Repository) {
    repo.find_remote("origin")
        .unwrap()
        .push(&["+refs/heads/main:refs/heads/main"], None)
        .unwrap();
}

/// A checkout with origin: `c0` without the stage, `c1` with it, `c2` with
/// a bigger checkpoint and new secrets; origin's main at `c2`.
fn history(fx: &Fixture) -> (Repository, Repository, [Oid; 3]) {
    let repo = fx.git_init();
    let c0 = repo.head().unwrap().target().unwrap();
    fx.repo_full_stage("dev");
    let c1 = commit_all(&repo, "state 1");
    fx.repo_write(
        "app/dev.json",
        common::checkpoint(&["urn:a", "urn:b", "urn:c"]),
    );
    fx.repo_write("secret/dev.json", fx.encrypt(r#"{"MySecret":"v2"}"#));
    let c2 = commit_all(&repo, "state 2");
    let bare = fx.add_origin(&repo);
    (repo, bare, [c0, c1, c2])
}

#[test]
fn rollback_commits_the_revisions_files_on_the_tip_and_keeps_history() {
    let fx = Fixture::new();
    let (repo, bare, [_, c1, c2]) = history(&fx);
    let r = roll(&fx, c1, false).unwrap();
    assert!(r.committed && r.lock_released, "{r:?}");
    assert_eq!(
        (r.to.as_str(), r.from.as_str()),
        (&*c1.to_string(), &*c2.to_string())
    );
    let new = tip(&bare);
    assert_eq!(r.commit.as_deref(), Some(&*new.to_string()));
    let commit = bare.find_commit(new).unwrap();
    assert_eq!(commit.parent_id(0).unwrap(), c2, "built on the tip");
    assert!(bare.graph_descendant_of(new, c1).unwrap(), "history kept");
    for path in [APP, SECRET, PASSPHRASE] {
        assert_eq!(blob(&bare, new, path), blob(&repo, c1, path), "{path}");
    }
    assert_ne!(blob(&bare, new, APP), blob(&bare, c2, APP));
    let message = commit.message().unwrap();
    assert!(message.contains(&format!("Rollback-To: {c1}")), "{message}");
    assert!(
        message.contains(&format!("Rollback-From: {c2}")),
        "{message}"
    );
    assert!(message.contains("[skip ci]"), "{message}");
    let files: Vec<_> = r.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(files, [APP, SECRET]);
    assert!(r.note.contains("sst refresh"), "{}", r.note);
    // the lock was taken and released
    assert!(bare.find_reference(LOCK_REF).is_err());

    // again: the tip holds c1's files already, nothing committed
    let again = roll(&fx, c1, false).unwrap();
    assert!(!again.committed && again.files.is_empty(), "{again:?}");
    assert!(again.lock_released, "{again:?}");
    assert_eq!(again.lock_ref, LOCK_REF);
    assert_eq!(tip(&bare), new);
    assert!(bare.find_reference(LOCK_REF).is_err(), "released");
    // and forward again to c2
    let forward = roll(&fx, c2, false).unwrap();
    assert!(forward.committed);
    assert_eq!(blob(&bare, tip(&bare), APP), blob(&repo, c2, APP));
}

#[test]
fn a_revision_without_the_stage_or_unknown_is_a_clear_error() {
    let fx = Fixture::new();
    let (_repo, bare, [c0, _, c2]) = history(&fx);
    let e = roll(&fx, c0, false).unwrap_err();
    assert_eq!(e.code(), "STATE_MISSING", "{e}");
    assert!(e.to_string().contains("no state"), "{e}");
    let mut o = options(&fx, c0, false);
    o.to = "no-such-rev".into();
    let e = rollback(&o, &fx.env(), &mut |_| {}).unwrap_err();
    assert_eq!(e.code(), "INVALID_OPTION", "{e}");
    assert!(e.to_string().contains("options.to"), "{e}");
    assert_eq!(tip(&bare), c2);
    assert!(
        bare.find_reference(LOCK_REF).is_err(),
        "the lock is released"
    );
}

#[test]
fn a_changed_passphrase_is_refused_unless_forced() {
    let fx = Fixture::new();
    let (repo, bare, [_, c1, _]) = history(&fx);
    fx.repo_write(
        "passphrase/dev.json",
        "bmV3LXBhc3NwaHJhc2UtMzItYnl0ZXMtbG9uZy4uLi4=",
    );
    commit_all(&repo, "new passphrase");
    push(&repo);
    let before = tip(&bare);
    let e = roll(&fx, c1, false).unwrap_err();
    assert_eq!(e.code(), "PASSPHRASE_CHANGED", "{e}");
    assert!(e.to_string().contains("force: true"), "{e}");
    assert_eq!(tip(&bare), before, "nothing pushed");
    assert!(
        bare.find_reference(LOCK_REF).is_err(),
        "the lock is released"
    );

    let r = roll(&fx, c1, true).unwrap();
    assert!(r.committed && r.passphrase_changed, "{r:?}");
    assert_eq!(
        blob(&bare, tip(&bare), PASSPHRASE),
        blob(&repo, c1, PASSPHRASE)
    );
    let message = bare
        .find_commit(tip(&bare))
        .unwrap()
        .message()
        .unwrap()
        .to_string();
    assert!(message.contains("Rollback-Passphrase-Changed"), "{message}");
}

#[test]
fn the_same_passphrase_reformatted_is_not_a_change_and_stays() {
    let fx = Fixture::new();
    let (repo, bare, [_, c1, _]) = history(&fx);
    fx.repo_write("passphrase/dev.json", format!("{}\n", fx.passphrase()));
    commit_all(&repo, "same passphrase, newline");
    push(&repo);
    let tip_before = tip(&bare);
    let r = roll(&fx, c1, false).unwrap();
    assert!(r.committed && !r.passphrase_changed, "{r:?}");
    assert_eq!(
        blob(&bare, tip(&bare), PASSPHRASE),
        blob(&bare, tip_before, PASSPHRASE)
    );
}

#[test]
fn a_held_lock_stops_the_rollback() {
    let fx = Fixture::new();
    let (repo, bare, [_, c1, c2]) = history(&fx);
    let held = LockOptions {
        common: fx.options("dev"),
        lock: LockRequest {
            command: Some("sst deploy".into()),
            ..LockRequest::default()
        },
        ..LockOptions::default()
    };
    lock(&held, &fx.env(), &mut |_| {}).unwrap();
    // the lock is another run's
    std::fs::remove_dir_all(repo.path().join("sst-local-state")).unwrap();
    let e = roll(&fx, c1, false).unwrap_err();
    assert_eq!(e.code(), "LOCK_HELD", "{e}");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(tip(&bare), c2, "nothing pushed");
    assert!(
        bare.find_reference(LOCK_REF).is_ok(),
        "the other run's lock stays"
    );
}

#[test]
fn a_lock_this_checkout_holds_is_used_and_released_with_the_push() {
    let fx = Fixture::new();
    let (repo, bare, [_, c1, _]) = history(&fx);
    let held = LockOptions {
        common: fx.options("dev"),
        ..LockOptions::default()
    };
    lock(&held, &fx.env(), &mut |_| {}).unwrap();
    let r = roll(&fx, c1, false).unwrap();
    assert!(r.committed && r.lock_released, "{r:?}");
    assert!(bare.find_reference(LOCK_REF).is_err(), "released");
    assert!(!repo
        .path()
        .join("sst-local-state/locks/demo-app/dev.json")
        .exists());
}

#[test]
fn age_passphrases_are_compared_decrypted() {
    let fx = Fixture::new();
    let (secret, public) = sst_local_state::seal::generate();
    let key_file = sst_local_state::seal::default_key_file(&fx.config);
    std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
    std::fs::write(&key_file, format!("{secret}\n")).unwrap();
    let recipients = sst_local_state::seal::parse_recipients(&key_file, &public).unwrap();
    let seal = |plain: &str| sst_local_state::seal::seal(plain.as_bytes(), &recipients);
    fx.repo_write("age-recipients.txt", format!("{public}\n"));
    fx.repo_write("passphrase/dev.age", seal(&fx.passphrase()));
    fx.repo_write("app/dev.json", common::checkpoint(&["urn:a"]));
    let repo = fx.git_init();
    let c1 = repo.head().unwrap().target().unwrap();
    // the same passphrase sealed again (as a rekey does): other bytes, same plaintext
    fx.repo_write("passphrase/dev.age", seal(&fx.passphrase()));
    fx.repo_write("app/dev.json", common::checkpoint(&["urn:a", "urn:b"]));
    let c2 = commit_all(&repo, "rekeyed and deployed");
    const SEALED: &str = "infra/state/passphrase/dev.age";
    assert_ne!(blob(&repo, c1, SEALED), blob(&repo, c2, SEALED));
    let bare = fx.add_origin(&repo);
    let r = roll(&fx, c1, false).unwrap();
    assert!(r.committed && !r.passphrase_changed, "{r:?}");
    let files: Vec<_> = r.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        files,
        [APP],
        "the re-sealed passphrase stays as the tip has it"
    );
    assert_eq!(blob(&bare, tip(&bare), SEALED), blob(&repo, c2, SEALED));
    assert_eq!(blob(&bare, tip(&bare), APP), blob(&repo, c1, APP));

    // another passphrase: refused; without the key it cannot be compared
    // the checkout catches up with the rollback commit
    let rolled = tip(&bare);
    repo.find_remote("origin")
        .unwrap()
        .fetch(&["+refs/heads/main:refs/remotes/origin/main"], None, None)
        .unwrap();
    let rolled = repo.find_object(rolled, None).unwrap();
    repo.reset(&rolled, git2::ResetType::Hard, None).unwrap();
    fx.repo_write(
        "passphrase/dev.age",
        seal("b3RoZXItcGFzc3BocmFzZS1vZi0zMi1ieXRlcy4uLi4="),
    );
    let c3 = commit_all(&repo, "another passphrase");
    push(&repo);
    assert_eq!(tip(&bare), c3);
    assert_eq!(
        repo.find_commit(c3).unwrap().parent_id(0).unwrap(),
        rolled.id()
    );
    let before = tip(&bare);
    assert_eq!(
        roll(&fx, c1, false).unwrap_err().code(),
        "PASSPHRASE_CHANGED"
    );
    std::fs::remove_file(&key_file).unwrap();
    assert_eq!(roll(&fx, c1, false).unwrap_err().code(), "AGE_KEY_MISSING");
    assert_eq!(tip(&bare), before, "nothing pushed");
    assert!(bare.find_reference(LOCK_REF).is_err());
    // forced without a key: nothing can be compared, the tip's passphrase
    // stays (never the revision's older ciphertext), and the report says
    // so; the tip holds c1's other files already: nothing to commit
    let forced = roll(&fx, c1, true).unwrap();
    assert!(
        !forced.committed && !forced.passphrase_changed,
        "{forced:?}"
    );
    assert!(!forced.passphrase_compared, "{forced:?}");
    assert!(
        forced.note.contains("could not be compared"),
        "{}",
        forced.note
    );
    assert_eq!(tip(&bare), before);
    // forced with the key: compared, and the passphrase goes back too
    std::fs::write(&key_file, format!("{secret}\n")).unwrap();
    let forced = roll(&fx, c1, true).unwrap();
    assert!(
        forced.committed && forced.passphrase_changed && forced.passphrase_compared,
        "{forced:?}"
    );
    assert_eq!(blob(&bare, tip(&bare), SEALED), blob(&repo, c1, SEALED));
}

#[test]
fn forced_without_a_key_a_rollback_never_undoes_a_rekey() {
    let fx = Fixture::new();
    let (k1, k2) = (
        sst_local_state::seal::generate(),
        sst_local_state::seal::generate(),
    );
    let list = |keys: &[&(String, String)]| {
        let text: String = keys.iter().map(|k| format!("{}\n", k.1)).collect();
        fx.repo_write("age-recipients.txt", &text);
        sst_local_state::seal::parse_recipients(camino::Utf8Path::new("r"), &text).unwrap()
    };
    let opens = |bytes: &[u8], key: &(String, String)| {
        let ids = sst_local_state::seal::identities(
            &common::env_with(&[("SST_LOCAL_STATE_AGE_KEY", &key.0)]),
            camino::Utf8Path::new("/none"),
        )
        .unwrap();
        sst_local_state::seal::open(camino::Utf8Path::new("x.age"), bytes, &ids).is_ok()
    };
    const SEALED: &str = "infra/state/passphrase/dev.age";
    let both = list(&[&k1, &k2]);
    fx.repo_write(
        "passphrase/dev.age",
        sst_local_state::seal::seal(fx.passphrase().as_bytes(), &both),
    );
    fx.repo_write("app/dev.json", common::checkpoint(&["urn:a"]));
    let repo = fx.git_init();
    let before = repo.head().unwrap().target().unwrap();
    let bare = fx.add_origin(&repo);
    // k2 is revoked: removed from the list, rekey pushed (by a member holding k1)
    list(&[&k1]);
    let mut rekey_options = sst_local_state::ops::passphrases::PassphrasesOptions {
        common: fx.options("dev"),
        branch: Some("main".into()),
        ..Default::default()
    };
    rekey_options.common.stage = None;
    let with_k1 = common::env_with(&[("SST_LOCAL_STATE_AGE_KEY", &k1.0)]);
    assert!(
        sst_local_state::ops::rekey::rekey(&rekey_options, &with_k1)
            .unwrap()
            .pushed
    );
    fx.repo_write("app/dev.json", common::checkpoint(&["urn:a", "urn:b"]));
    commit_all(&repo, "a deploy after the rekey");
    push(&repo);
    let rekeyed = tip(&bare);
    let sealed_now = blob(&bare, rekeyed, SEALED);
    let bytes = |oid: Option<Oid>| bare.find_blob(oid.unwrap()).unwrap().content().to_vec();
    assert!(!opens(&bytes(sealed_now), &k2) && opens(&bytes(blob(&bare, before, SEALED)), &k2));

    // a machine without an age key rolls back to before the rekey, forced
    let r = roll(&fx, before, true).unwrap();
    assert!(r.committed, "{r:?}");
    assert!(!r.passphrase_changed && !r.passphrase_compared, "{r:?}");
    assert!(
        r.note.contains("could not be compared (AGE_KEY_MISSING"),
        "{}",
        r.note
    );
    let files: Vec<_> = r.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(files, [APP], "only the checkpoint goes back");
    let now = tip(&bare);
    assert_eq!(
        blob(&bare, now, SEALED),
        sealed_now,
        "the tip's .age is kept"
    );
    assert!(
        !opens(&bytes(blob(&bare, now, SEALED)), &k2),
        "the revoked key opens it"
    );
    assert_eq!(blob(&bare, now, APP), blob(&bare, before, APP));
    let message = bare
        .find_commit(now)
        .unwrap()
        .message()
        .unwrap()
        .to_string();
    assert!(
        message.contains("Rollback-Passphrase-Kept")
            && !message.contains("Rollback-Passphrase-Changed"),
        "{message}"
    );
    // rekey finds nothing undone
    assert!(
        !sst_local_state::ops::rekey::rekey(&rekey_options, &with_k1)
            .unwrap()
            .committed
    );
}

// ------------------------------------------------------------ interference --
// Another run acting between our fetch and our push, injected by hooks of
// the path remote (pushed through git, so its hooks run): `post-receive`
// of the push that took our lock runs after the lock landed and before the
// rollback fetches and pushes; `pre-receive` of the rollback's own push runs
// after git checked its leases and before the server's atomic transaction.

/// Installs `hook` (`pre-receive` or `post-receive`) in the bare remote:
/// once, on the first push whose command (`<old> <new> <ref>`) line matches
/// the extended regex `line`, it runs `action` (shell, in the remote).
#[cfg(unix)]
fn once_on(bare: &Repository, hook: &str, line: &str, action: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let marker = bare.path().join("interfere-once");
    let script = format!(
        "#!/bin/sh\n\
         input=$(cat)\n\
         if [ -f '{marker}' ] && printf '%s\\n' \"$input\" | grep -Eq '{line}'; then\n\
         \x20 rm -f '{marker}'\n\
         \x20 {action} || exit 1\n\
         fi\n\
         exit 0\n",
        marker = marker.display(),
    );
    let path = bare.path().join("hooks").join(hook);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&marker, "").unwrap();
    marker
}

/// Once, while the rollback's push (the one updating main) is received,
/// after git checked its leases and before the server's transaction:
/// `git update-ref <args>` in the remote, outside git's object quarantine.
#[cfg(unix)]
fn during_push(bare: &Repository, args: &str) -> std::path::PathBuf {
    let action = format!("env -u GIT_QUARANTINE_PATH git update-ref {args}");
    once_on(bare, "pre-receive", " refs/heads/main$", &action)
}

/// A commit in `bare` on top of `parent` that sets `path` to `content`.
#[cfg(unix)]
fn commit_on(bare: &Repository, parent: Oid, path: &str, content: &[u8]) -> Oid {
    let parent = bare.find_commit(parent).unwrap();
    let mut index = git2::Index::new().unwrap();
    index.read_tree(&parent.tree().unwrap()).unwrap();
    let blob = bare.blob(content).unwrap();
    index
        .add(&git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: content.len() as u32,
            id: blob,
            flags: path.len() as u16,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        })
        .unwrap();
    let tree = bare.find_tree(index.write_tree_to(bare).unwrap()).unwrap();
    let sig = git2::Signature::now("Other Pipeline", "other@example.com").unwrap();
    bare.commit(
        None,
        &sig,
        &sig,
        &format!("other: {path}"),
        &tree,
        &[&parent],
    )
    .unwrap()
}

#[cfg(unix)]
fn lock_on(bare: &Repository) -> Option<Oid> {
    bare.find_reference(LOCK_REF).ok().and_then(|r| r.target())
}

/// A rollback that lost its lock: `LOCK_LOST` (exit 4) saying that nothing
/// was pushed, and the branch still at `tip_before`.
#[cfg(unix)]
fn assert_lost(e: &Error, bare: &Repository, tip_before: Oid) {
    assert_eq!(e.code(), "LOCK_LOST", "{e}");
    assert_eq!(e.exit_code(), 4);
    let message = e.to_string();
    assert!(message.contains(LOCK_REF), "{message}");
    assert!(message.contains("The rollback was NOT pushed"), "{message}");
    let moved = "the branch moved although the lock was lost";
    assert_eq!(tip(bare), tip_before, "{moved}");
}

#[cfg(unix)]
#[test]
fn a_lock_deleted_after_it_was_taken_fails_with_lock_lost_and_pushes_nothing() {
    let fx = Fixture::new();
    let (_repo, bare, [_, c1, c2]) = history(&fx);
    // right after our lock landed, someone runs `unlock --force`
    let marker = once_on(
        &bare,
        "post-receive",
        &format!("^0{{40}} [0-9a-f]{{40}} {LOCK_REF}$"),
        &format!("git update-ref -d {LOCK_REF}"),
    );
    let e = roll(&fx, c1, false).unwrap_err();
    assert!(!marker.exists(), "the hook did not run");
    assert_lost(&e, &bare, c2);
    assert_eq!(lock_on(&bare), None, "a lock appeared");
}

#[cfg(unix)]
#[test]
fn a_lock_broken_during_the_push_fails_with_lock_lost_and_leaves_the_new_lock() {
    let fx = Fixture::new();
    let (_repo, bare, [_, c1, c2]) = history(&fx);
    // while our push is received (its leases already checked by git), an
    // expired-lock breaker replaces our lock with its own (any commit will do)
    let theirs = commit_on(&bare, c2, "their-lock.txt", b"theirs\n");
    let marker = during_push(&bare, &format!("{LOCK_REF} {theirs}"));
    let mut said = Vec::new();
    let e = rollback(&options(&fx, c1, false), &fx.env(), &mut |l| {
        said.push(l.to_string())
    })
    .unwrap_err();
    assert!(!marker.exists(), "the hook did not run");
    assert_lost(&e, &bare, c2);
    assert_eq!(
        lock_on(&bare),
        Some(theirs),
        "the other run's lock was touched"
    );
    // nothing else is said: above all no hint to break the other run's lock
    assert!(said.is_empty(), "{said:?}");
}

#[cfg(unix)]
#[test]
fn a_branch_moved_during_the_push_is_rolled_back_again_on_the_new_tip() {
    let fx = Fixture::new();
    let (repo, bare, [_, c1, c2]) = history(&fx);
    // another pipeline's commit (another file) lands while our push is received
    let other = commit_on(&bare, c2, "README-other.md", b"other pipeline\n");
    let marker = during_push(&bare, &format!("refs/heads/main {other}"));
    let r = roll(&fx, c1, false).unwrap();
    assert!(!marker.exists(), "the hook did not run");
    assert_eq!(r.attempts, 2, "{r:?}");
    assert!(r.committed && r.lock_released, "{r:?}");
    assert_eq!(r.from, other.to_string(), "planned again on the new tip");
    let new = tip(&bare);
    assert_eq!(r.commit.as_deref(), Some(&*new.to_string()));
    let commit = bare.find_commit(new).unwrap();
    assert_eq!(commit.parent_id(0).unwrap(), other, "built on the new tip");
    assert!(
        commit
            .message()
            .unwrap()
            .contains(&format!("Rollback-From: {other}")),
        "{:?}",
        commit.message()
    );
    assert!(
        blob(&bare, new, "README-other.md").is_some(),
        "the other pipeline's commit was undone"
    );
    for path in [APP, SECRET, PASSPHRASE] {
        assert_eq!(blob(&bare, new, path), blob(&repo, c1, path), "{path}");
    }
    assert_eq!(lock_on(&bare), None, "the lock is released");
}

#[cfg(unix)]
#[test]
fn a_new_passphrase_landing_during_the_push_stops_the_retry() {
    let fx = Fixture::new();
    let (_repo, bare, [_, c1, c2]) = history(&fx);
    // what lands meanwhile changes the stage's passphrase: the retry plans
    // again on it and refuses, as a rollback started after it would
    let other = commit_on(
        &bare,
        c2,
        PASSPHRASE,
        b"bmV3LXBhc3NwaHJhc2UtMzItYnl0ZXMtbG9uZy4uLi4=",
    );
    let marker = during_push(&bare, &format!("refs/heads/main {other}"));
    let e = roll(&fx, c1, false).unwrap_err();
    assert!(!marker.exists(), "the hook did not run");
    assert_eq!(e.code(), "PASSPHRASE_CHANGED", "{e}");
    assert!(e.to_string().contains(&other.to_string()), "{e}");
    assert_eq!(tip(&bare), other, "nothing pushed over the new tip");
    assert_eq!(lock_on(&bare), None, "the lock is released");
}

/// Env mode (the passphrase only in `SST_PASSPHRASE`): the repository keeps
/// no passphrase, and a rollback to a revision from before the switch never
/// writes one back; the revision's passphrase is compared with the
/// environment's.
#[test]
fn env_mode_never_restores_a_passphrase_file() {
    let fx = Fixture::new();
    let (repo, bare, [_, c1, _]) = history(&fx);
    // the switch to env mode: the stage's passphrase leaves the repository
    std::fs::remove_file(fx.project.join(PASSPHRASE)).unwrap();
    let mut index = repo.index().unwrap();
    index.remove_path(std::path::Path::new(PASSPHRASE)).unwrap();
    index.write().unwrap();
    let c3 = commit_all(&repo, "env mode");
    push(&repo);
    assert_eq!(blob(&bare, c3, PASSPHRASE), None);
    let env_mode = |to: Oid, passphrase: Option<&str>, force: bool| {
        let mut o = options(&fx, to, force);
        o.common.passphrase_mode = Some("env".into());
        let vars: Vec<(&str, &str)> = passphrase
            .map(|p| ("SST_PASSPHRASE", p))
            .into_iter()
            .collect();
        rollback(&o, &common::env_with(&vars), &mut |_| {})
    };
    // no passphrase in the environment: nothing to compare with
    let e = env_mode(c1, None, false).unwrap_err();
    assert_eq!(e.code(), "PASSPHRASE_MISSING", "{e}");
    // another passphrase in the environment: the revision's state would not decrypt
    let e = env_mode(c1, Some("b3RoZXItcGFzc3BocmFzZQ=="), false).unwrap_err();
    assert_eq!(e.code(), "PASSPHRASE_CHANGED", "{e}");
    assert_eq!(tip(&bare), c3, "nothing pushed");
    // the same passphrase: the state is rolled back, the passphrase stays out
    let r = env_mode(c1, Some(&fx.passphrase()), false).unwrap();
    assert!(r.committed && !r.passphrase_changed, "{r:?}");
    let new = tip(&bare);
    assert_eq!(blob(&bare, new, APP), blob(&repo, c1, APP));
    assert_eq!(blob(&bare, new, SECRET), blob(&repo, c1, SECRET));
    assert_eq!(
        blob(&bare, new, PASSPHRASE),
        None,
        "no passphrase written back"
    );
    let files: Vec<_> = r.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(files, [APP, SECRET]);
    // a revision without a passphrase needs none in the environment
    let back = env_mode(c3, None, false).unwrap();
    assert!(back.committed && !back.passphrase_changed, "{back:?}");
    assert_eq!(blob(&bare, tip(&bare), APP), blob(&repo, c3, APP));
    assert_eq!(blob(&bare, tip(&bare), PASSPHRASE), None);
    // forced past another passphrase: still none written
    let forced = env_mode(c1, Some("b3RoZXItcGFzc3BocmFzZQ=="), true).unwrap();
    assert!(forced.committed && forced.passphrase_changed, "{forced:?}");
    let newer = tip(&bare);
    assert_eq!(blob(&bare, newer, APP), blob(&repo, c1, APP));
    assert_eq!(blob(&bare, newer, PASSPHRASE), None);
    assert!(bare.find_reference(LOCK_REF).is_err(), "released");
}

/// HEAD's commit id in the checkout.
fn head(repo: &Repository) -> Oid {
    repo.head().unwrap().peel_to_commit().unwrap().id()
}

/// Paths git reports as changed or untracked (`git status`), nothing ignored.
fn dirty(repo: &Repository) -> Vec<String> {
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true);
    repo.statuses(Some(&mut options))
        .unwrap()
        .iter()
        .map(|s| format!("{:?} {}", s.status(), s.path().unwrap()))
        .collect()
}

#[test]
fn the_checkout_at_the_tip_follows_the_rollback_as_commit_does_files_removed_too() {
    let fx = Fixture::new();
    let (repo, bare, [_, _, c2]) = history(&fx);
    // c3: the secrets file removed; origin at c3, the checkout (main) too
    std::fs::remove_file(fx.project.join(SECRET)).unwrap();
    let c3 = commit_all(&repo, "secrets removed");
    push(&repo);
    // back to c2 (restores the secrets file), then to c3 (removes it again)
    let r = roll(&fx, c2, false).unwrap();
    assert!(r.committed && r.head_updated, "{r:?}");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let new = tip(&bare);
    assert_eq!(head(&repo), new, "HEAD follows the rollback");
    assert_eq!(
        repo.head().unwrap().shorthand().unwrap(),
        "main",
        "still on main"
    );
    assert_eq!(
        std::fs::read(fx.project.join(SECRET)).unwrap(),
        common::blob_in(&repo, c2, SECRET).unwrap()
    );
    assert_eq!(
        dirty(&repo),
        Vec::<String>::new(),
        "worktree and index clean"
    );
    let r = roll(&fx, c3, false).unwrap();
    assert!(r.head_updated, "{r:?}");
    assert_eq!(head(&repo), tip(&bare));
    assert!(
        !fx.project.join(SECRET).exists(),
        "the removed file is gone"
    );
    assert_eq!(
        dirty(&repo),
        Vec::<String>::new(),
        "worktree and index clean"
    );
}

#[test]
fn a_checkout_behind_the_tip_is_left_alone_with_the_command_that_brings_the_rollback() {
    let fx = Fixture::new();
    let (repo, bare, [_, c1, c2]) = history(&fx);
    // another checkout moves origin's main on: this one is behind
    let other = fx.root.join("other");
    let theirs = Repository::clone(bare.path().to_str().unwrap(), &other).unwrap();
    std::fs::write(other.join("README.md"), "other\n").unwrap();
    commit_all(&theirs, "other work");
    common::push_main(&theirs);
    let before = std::fs::read(fx.project.join(APP)).unwrap();
    let r = roll(&fx, c1, false).unwrap();
    assert!(r.committed && !r.head_updated, "{r:?}");
    assert_eq!(head(&repo), c2, "HEAD left where it was");
    assert_eq!(std::fs::read(fx.project.join(APP)).unwrap(), before);
    let [warning] = r.warnings.as_slice() else {
        panic!("{:?}", r.warnings)
    };
    assert_eq!(warning.code(), "CHECKOUT_BEHIND");
    let text = warning.to_string();
    assert!(
        text.contains("`git pull --ff-only origin main` brings it here"),
        "{text}"
    );
    assert!(text.contains(&tip(&bare).to_string()), "{text}");
}
