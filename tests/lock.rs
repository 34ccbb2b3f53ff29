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

/// Runs `work` on a thread; its result, or a panic naming `what` when it
/// has not returned within `limit` (a loop that never ends fails the test
/// instead of hanging it).
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what}: still running after {limit:?}"))
}

#[test]
fn a_ref_in_the_lock_refs_way_is_lock_ref_refused_at_once_whatever_the_timeout() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    let head = repo.head().unwrap().target().unwrap();
    // a branch named like the default prefix's first level
    bare.reference("refs/heads/sst-local-state", head, false, "test")
        .unwrap();
    for (prefix, timeout) in [
        (None, Duration::ZERO),
        (None, Duration::from_secs(120)),
        (Some("refs/heads/main"), Duration::ZERO),
    ] {
        let mut options = lock_options(&fx, None);
        options.lock.prefix = prefix.map(str::to_string);
        options.lock.timeout = Some(timeout);
        let env = fx.env();
        let started = std::time::Instant::now();
        let e = within(Duration::from_secs(60), "lock", move || {
            lock(&options, &env, &mut |_| {}).unwrap_err()
        });
        assert!(started.elapsed() < Duration::from_secs(30), "{prefix:?}");
        assert_eq!(e.code(), "LOCK_REF_REFUSED", "{prefix:?}: {e}");
        assert_eq!(e.exit_code(), 1);
        let message = e.to_string();
        assert!(message.contains("exists; cannot create"), "{message}");
        assert!(message.contains("options.lockRefPrefix"), "{message}");
    }
    let names: Vec<String> = bare
        .references()
        .unwrap()
        .map(|r| r.unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["refs/heads/main", "refs/heads/sst-local-state"]);
    // no lock record is left (the record written before the push is
    // forgotten when the push is refused; an empty folder may stay)
    assert_eq!(files_below(&repo.path().join("sst-local-state/locks")), 0);
}

/// How many files there are below `dir` (0 when it does not exist).
fn files_below(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { files_below(&p) } else { 1 })
        .sum()
}

#[test]
fn a_ttl_or_timeout_out_of_bounds_is_invalid_option_and_nothing_is_locked() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    // as the CLI and JS parse them
    let d = |text: &str| Some(humantime::parse_duration(text).unwrap());
    let cases = [
        (d("0"), None, "options.lockTtl"),
        (d("999ms"), None, "options.lockTtl"),
        (d("8000y"), None, "options.lockTtl"),
        (d("300000000000y"), None, "options.lockTtl"),
        (d("8days"), None, "options.lockTtl"),
        (None, d("300000000000y"), "options.lockTimeout"),
        (None, d("8days"), "options.lockTimeout"),
    ];
    for (ttl, timeout, flag) in cases {
        let mut options = lock_options(&fx, ttl);
        options.lock.timeout = timeout;
        let e = lock(&options, &fx.env(), &mut |_| {}).unwrap_err();
        assert_eq!(e.code(), "INVALID_OPTION", "{ttl:?} {timeout:?}: {e}");
        assert!(
            e.to_string().starts_with(&format!("invalid {flag}: ")),
            "{e}"
        );
        assert_eq!(on_remote(&bare), None);
    }
    // the bounds themselves are accepted
    let week = Duration::from_secs(7 * 24 * 3600);
    let taken = lock(&lock_options(&fx, Some(week)), &fx.env(), &mut |_| {}).unwrap();
    let expires = humantime::parse_rfc3339(&taken.holder.expires).unwrap();
    let ahead = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        ahead > week - Duration::from_secs(60) && ahead <= week,
        "{ahead:?}"
    );
    unlock(&unlock_options(&fx, false), &fx.env()).unwrap();
    lock(
        &lock_options(&fx, Some(Duration::from_secs(1))),
        &fx.env(),
        &mut |_| {},
    )
    .unwrap();
}

/// App `a-b` stage `c` and app `a` stage `b-c` once shared the record
/// `lock-a-b-c.json`: one app's commit or unlock released the other's lock.
#[test]
fn records_of_two_apps_never_collide_and_an_old_named_record_is_still_read() {
    use sst_local_state::ops::commit::{commit, CommitOptions};
    let fx = Fixture::new();
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    let env = fx.env();
    let common = |app: &str, stage: &str| {
        let mut common = fx.options(stage);
        common.app = Some(app.into());
        common
    };
    let lock_of = |app: &str, stage: &str| {
        let mut options = lock_options(&fx, None);
        options.common = common(app, stage);
        lock(&options, &env, &mut |_| {}).unwrap()
    };
    let remote_ref = |app: &str, stage: &str| {
        bare.find_reference(&format!("{DEFAULT_PREFIX}/{app}/{stage}"))
            .ok()
            .and_then(|r| r.target())
            .map(|o| o.to_string())
    };
    let first = lock_of("a-b", "c");
    let second = lock_of("a", "b-c");
    // a commit of app a-b with nothing to save releases a-b's lock only
    let committed = commit(
        &CommitOptions {
            common: common("a-b", "c"),
            ..CommitOptions::default()
        },
        &env,
    )
    .unwrap();
    assert!(committed.lock_released, "{committed:?}");
    assert_eq!(remote_ref("a-b", "c"), None);
    assert_eq!(
        remote_ref("a", "b-c").as_deref(),
        Some(second.commit.as_str())
    );
    assert_ne!(first.commit, second.commit);
    // a record under the old name, as an earlier version wrote it
    let records = repo.path().join("sst-local-state");
    std::fs::remove_dir_all(records.join("locks")).unwrap();
    std::fs::write(
        records.join("lock-a-b-c.json"),
        format!(
            r#"{{"lockRef":"{DEFAULT_PREFIX}/a/b-c","commit":"{}","remote":"origin"}}"#,
            second.commit
        ),
    )
    .unwrap();
    let mut stranger = unlock_options(&fx, false);
    stranger.common = common("a-b", "c");
    assert!(!unlock(&stranger, &env).unwrap().released);
    assert_eq!(
        remote_ref("a", "b-c").as_deref(),
        Some(second.commit.as_str())
    );
    let mut owner = unlock_options(&fx, false);
    owner.common = common("a", "b-c");
    assert!(unlock(&owner, &env).unwrap().released);
    assert_eq!(remote_ref("a", "b-c"), None);
    assert!(!records.join("lock-a-b-c.json").exists());
}
