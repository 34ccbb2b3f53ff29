//! The stage lock against a path remote (pushed through git, whose
//! receive-pack compares and swaps): take, hold, refuse, expire, break,
//! release. Concurrency over HTTP is tested in __test__/lock.test.mjs.

mod common;

use std::time::Duration;

use common::Fixture;
use sst_local_state::ops::lock::{
    lock, unlock, LockOptions, LockRequest, UnlockOptions, DEFAULT_PREFIX,
};

const LOCK_REF: &str = "refs/heads/sst-local-state/lock/demo-app/dev";

fn lock_options(fx: &Fixture, ttl: Option<Duration>) -> LockOptions {
    LockOptions {
        common: fx.options("dev"),
        lock: LockRequest {
            ttl,
            command: Some("test".into()),
            ..LockRequest::default()
        },
        ..LockOptions::default()
    }
}

fn unlock_options(fx: &Fixture, force: bool) -> UnlockOptions {
    UnlockOptions {
        common: fx.options("dev"),
        force,
        ..UnlockOptions::default()
    }
}

/// The lock commit the bare repository's lock ref points at.
fn on_remote(bare: &git2::Repository) -> Option<String> {
    bare.find_reference(LOCK_REF)
        .ok()
        .and_then(|r| r.target())
        .map(|o| o.to_string())
}

/// Forgets, in the checkout, that it holds the lock: now it is "another run".
fn become_another_run(repo: &git2::Repository) {
    let dir = repo.path().join("sst-local-state");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn lock_is_exclusive_and_released_only_by_its_holder() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    let env = fx.env();
    let mut progress = |_: &str| {};

    let taken = lock(&lock_options(&fx, None), &env, &mut progress).unwrap();
    assert_eq!(taken.lock_ref, format!("{DEFAULT_PREFIX}/demo-app/dev"));
    assert_eq!(on_remote(&bare).as_deref(), Some(taken.commit.as_str()));
    assert_eq!(taken.holder.command, "test");
    let commit = bare
        .find_commit(git2::Oid::from_str(&taken.commit).unwrap())
        .unwrap();
    assert_eq!(commit.parent_count(), 0);
    assert!(commit.message().unwrap().contains("[skip ci]"));
    // re-entrant in the same checkout
    let again = lock(&lock_options(&fx, None), &env, &mut progress).unwrap();
    assert!(again.already_held);
    assert_eq!(again.commit, taken.commit);

    become_another_run(&repo);
    let held = lock(&lock_options(&fx, None), &env, &mut progress).unwrap_err();
    assert_eq!(held.code(), "LOCK_HELD");
    assert_eq!(held.exit_code(), 3);
    assert!(held.to_string().contains("`test`"), "{held}");
    let refused = unlock(&unlock_options(&fx, false), &env).unwrap_err();
    assert_eq!(refused.code(), "LOCK_NOT_HELD");
    assert_eq!(on_remote(&bare).as_deref(), Some(taken.commit.as_str()));

    let forced = unlock(&unlock_options(&fx, true), &env).unwrap();
    assert!(forced.released);
    assert_eq!(forced.was.unwrap().commit, taken.commit);
    assert_eq!(on_remote(&bare), None);
    let nothing = unlock(&unlock_options(&fx, false), &env).unwrap();
    assert!(!nothing.released);
}

#[test]
fn an_expired_lock_is_broken_by_compare_and_swap() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    let env = fx.env();
    let mut progress = |_: &str| {};
    let stale = lock(
        &lock_options(&fx, Some(Duration::from_secs(1))),
        &env,
        &mut progress,
    )
    .unwrap();
    become_another_run(&repo);
    std::thread::sleep(Duration::from_millis(2100));
    let mut heard = Vec::new();
    let taken = lock(&lock_options(&fx, None), &env, &mut |l: &str| {
        heard.push(l.to_string())
    })
    .unwrap();
    assert_eq!(taken.broke.unwrap().commit, stale.commit);
    assert!(heard.is_empty(), "{heard:?}");
    assert_eq!(on_remote(&bare).as_deref(), Some(taken.commit.as_str()));
    let released = unlock(&unlock_options(&fx, false), &env).unwrap();
    assert!(released.released && released.was.is_none());
    assert_eq!(on_remote(&bare), None);
}

#[test]
fn waiting_reports_the_holder_and_times_out_with_lock_held() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    fx.add_origin(&repo);
    let env = fx.env();
    lock(&lock_options(&fx, None), &env, &mut |_| {}).unwrap();
    become_another_run(&repo);
    let mut heard = Vec::new();
    let mut options = lock_options(&fx, None);
    options.lock.timeout = Some(Duration::from_secs(1));
    let started = std::time::Instant::now();
    let e = lock(&options, &env, &mut |l: &str| heard.push(l.to_string())).unwrap_err();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(e.code(), "LOCK_HELD");
    assert!(e.to_string().contains("waited 1s"), "{e}");
    assert!(!heard.is_empty());
    assert!(
        heard[0].starts_with("waiting for the lock of demo-app/dev: held by "),
        "{heard:?}"
    );
}
