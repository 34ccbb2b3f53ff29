//! prune: keeps the newest N runs (SST's update ids sort newest first),
//! removes the rest of the stage's update / snapshot / eventlog files, and
//! touches nothing else; a dry run removes nothing; a run holding SST's lock
//! is kept; symbolic links refuse the whole run.

mod common;

use std::collections::BTreeMap;

use common::Fixture;
use sst_local_state::ops::prune::{prune, PruneOptions};

/// Five runs, newest first: ids ascending in byte order.
const IDS: [&str; 5] = [
    "fe5de5ce04b491921eb30ff0",
    "fe5de5ce04b491921eb30ff1",
    "fe5de5ce0aaaaaaaaaaaaaaa",
    "fe5de5cf00000000000000aa",
    "ff00000000000000000000bb",
];

fn write(fx: &Fixture, rel: &str, content: &str) {
    let path = fx.config.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// The stage's five runs (the oldest without snapshot and eventlog: a
/// failed deploy) and things prune must leave alone.
fn fixture() -> Fixture {
    let fx = Fixture::new();
    for (i, id) in IDS.iter().enumerate() {
        write(
            &fx,
            &format!("state/update/demo-app/dev/{id}.json"),
            &format!("{{\"id\":\"{id}\"}}"),
        );
        if i < 4 {
            write(&fx, &format!("state/snapshot/demo-app/dev/{id}.json"), "{}");
            write(&fx, &format!("state/eventlog/demo-app/dev/{id}.json"), "[]");
        }
        write(&fx, &format!("state/update/demo-app/prod/{id}.json"), "{}");
        write(&fx, &format!("state/update/other-app/dev/{id}.json"), "{}");
    }
    write(&fx, "state/update/demo-app/dev/notes.json", "mine");
    write(
        &fx,
        "state/update/demo-app/dev/fe5de5ce04b491921eb30ff9.json.tmp",
        "x",
    );
    write(
        &fx,
        "state/app/demo-app/dev.json",
        &common::checkpoint(&["urn:a"]),
    );
    write(&fx, "state/passphrase/demo-app/dev.json", &fx.passphrase());
    fx
}

fn options(fx: &Fixture, keep: usize, dry_run: bool) -> PruneOptions {
    PruneOptions {
        common: fx.options("dev"),
        keep,
        dry_run,
    }
}

fn removed(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    for (k, v) in after {
        assert_eq!(before.get(k), Some(v), "{k} was added or changed");
    }
    before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect()
}

#[test]
fn keeps_the_newest_n_and_touches_nothing_else() {
    let fx = fixture();
    let before = Fixture::snapshot(&fx.config);

    let dry = prune(&options(&fx, 2, true), &fx.env()).unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        Fixture::snapshot(&fx.config),
        before,
        "a dry run removes nothing"
    );

    let r = prune(&options(&fx, 2, false), &fx.env()).unwrap();
    assert_eq!(r.kept, &IDS[..2]);
    assert_eq!(r.removed.len(), dry.removed.len());
    let mut gone = removed(&before, &Fixture::snapshot(&fx.config));
    gone.sort();
    let mut want = Vec::new();
    for (i, id) in IDS.iter().enumerate().skip(2) {
        want.push(format!("state/update/demo-app/dev/{id}.json"));
        if i < 4 {
            want.push(format!("state/snapshot/demo-app/dev/{id}.json"));
            want.push(format!("state/eventlog/demo-app/dev/{id}.json"));
        }
    }
    want.sort();
    assert_eq!(gone, want);
    assert_eq!(r.bytes, r.removed.iter().map(|f| f.bytes).sum::<u64>());

    // again: nothing left to remove
    let again = prune(&options(&fx, 2, false), &fx.env()).unwrap();
    assert!(again.removed.is_empty());
    // keep 0: every run of the stage goes, nothing else
    let before = Fixture::snapshot(&fx.config);
    prune(&options(&fx, 0, false), &fx.env()).unwrap();
    let gone = removed(&before, &Fixture::snapshot(&fx.config));
    assert_eq!(gone.len(), 6, "{gone:?}");
}

#[test]
fn the_run_holding_sst_lock_is_kept() {
    let fx = fixture();
    write(
        &fx,
        "state/lock/demo-app/dev.json",
        &format!(
            r#"{{"created":"2026-01-01T00:00:00Z","updateID":"{}","command":"deploy"}}"#,
            IDS[4]
        ),
    );
    let r = prune(&options(&fx, 1, false), &fx.env()).unwrap();
    assert_eq!(r.kept, [IDS[0], IDS[4]]);
    assert_eq!(r.locked_update_id.as_deref(), Some(IDS[4]));
    assert!(fx
        .config
        .join(format!("state/update/demo-app/dev/{}.json", IDS[4]))
        .exists());
}

#[cfg(unix)]
#[test]
fn symbolic_links_refuse_the_whole_run() {
    let fx = fixture();
    // a record that is a link (to a file prune must never remove)
    let target = fx.root.join("precious.json");
    std::fs::write(&target, "{}").unwrap();
    let link = fx
        .config
        .join("state/eventlog/demo-app/dev/00000000000000000000000a.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let before = Fixture::snapshot(&fx.config);
    let err = prune(&options(&fx, 0, false), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_SYMLINK", "{err}");
    assert_eq!(Fixture::snapshot(&fx.config), before);
    assert!(target.exists());

    // a records folder that is a link
    let fx = fixture();
    let outside = fx.root.join("outside");
    std::fs::rename(fx.config.join("state/snapshot/demo-app/dev"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, fx.config.join("state/snapshot/demo-app/dev")).unwrap();
    let before = Fixture::snapshot(&fx.config);
    let err = prune(&options(&fx, 0, false), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_SYMLINK", "{err}");
    assert_eq!(Fixture::snapshot(&fx.config), before);
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 4);
}
