//! history: over a repository of 200 state commits for 3 stages mixed
//! with 2,000 unrelated commits (built with libgit2 straight into the
//! object store), the asked stage's commits only, newest first, each with
//! its trailers and the resources added / removed / changed by URN.

mod common;

use std::collections::BTreeMap;

use common::Fixture;
use git2::{build::TreeUpdateBuilder, FileMode, Oid, Repository, Signature, Time};
use sst_local_state::ops::history::{history, HistoryOptions};
use sst_local_state::Kind;

const STAGES: [&str; 3] = ["dev", "prod", "pr-7"];

/// The model of one stage's checkpoint: URN -> (inputs, outputs) JSON.
type Model = BTreeMap<String, (String, String)>;

fn model(stage: &str, n: usize) -> Model {
    // a sliding window of 6 resources (one added and one removed every second
    // step) of which one output changes at every step
    (n / 2..n / 2 + 6)
        .map(|j| {
            let urn = format!("urn:pulumi:{stage}::demo-app::sst:aws:Bucket::b{j}");
            let inputs = format!(r#"{{"name":"b{j}"}}"#);
            let outputs = if j == n / 2 + 3 {
                format!(r#"{{"arn":"arn:{j}:{n}"}}"#)
            } else {
                format!(r#"{{"arn":"arn:{j}"}}"#)
            };
            (urn, (inputs, outputs))
        })
        .collect()
}

fn checkpoint_json(stage: &str, m: &Model) -> String {
    let resources: Vec<String> = m
        .iter()
        .map(|(urn, (i, o))| {
            format!(r#"{{"urn":"{urn}","type":"sst:aws:Bucket","inputs":{i},"outputs":{o}}}"#)
        })
        .collect();
    format!(
        r#"{{"version":3,"checkpoint":{{"stack":"organization/demo-app/{stage}","latest":{{"resources":[{}]}}}}}}"#,
        resources.join(",")
    )
}

struct Expected {
    commit: Oid,
    files: Vec<Kind>,
    resources: u32,
    before: Option<u32>,
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
    update_id: String,
    exit_code: i32,
}

fn diff(before: &Model, after: &Model) -> (Vec<String>, Vec<String>, Vec<String>) {
    let added = after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .cloned()
        .collect();
    let removed = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    let changed = after
        .iter()
        .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
        .map(|(k, _)| k.clone())
        .collect();
    (added, removed, changed)
}

/// Builds the history on top of the fixture's initial commit; returns the
/// expected entries per stage, oldest first.
fn build(repo: &Repository) -> BTreeMap<&'static str, Vec<Expected>> {
    let mut expected: BTreeMap<&str, Vec<Expected>> = BTreeMap::new();
    let mut models: BTreeMap<&str, Model> = BTreeMap::new();
    let mut steps: BTreeMap<&str, usize> = BTreeMap::new();
    let mut parent = repo.head().unwrap().peel_to_commit().unwrap();
    let mut state_commits = 0;
    for i in 0..2200usize {
        let mut update = TreeUpdateBuilder::new();
        let blob = |path: &str, content: &[u8], update: &mut TreeUpdateBuilder| {
            let oid = repo.blob(content).unwrap();
            update.upsert(path, oid, FileMode::Blob);
        };
        let sig = Signature::new(
            "Dev Eloper",
            "dev@example.com",
            &Time::new(1_750_000_000 + i as i64 * 60, 0),
        )
        .unwrap();
        let mut message = format!("unrelated change {i}\n");
        let mut record = None;
        if i % 11 == 5 {
            let stage = STAGES[state_commits % 3];
            state_commits += 1;
            let n = {
                let s = steps.entry(stage).or_insert(0);
                *s += 1;
                *s
            };
            let update_id = format!("{:024x}", 0xffff_ffff_u64 - i as u64);
            let exit_code = (n % 2) as i32;
            message = format!(
                "chore(sst-state): demo-app/{stage} deploy [skip ci]\n\nSST-App: demo-app\nSST-Stage: {stage}\nSST-Update-Id: {update_id}\nSST-Command: deploy\nRun-Exit-Code: {exit_code}\nCI-Run: https://ci.example/run/{i}\n"
            );
            let before = models.get(stage).cloned();
            let (files, after) = if n % 5 == 0 {
                // a secrets-only change: no resource moves
                blob(
                    &format!("infra/state/secret/{stage}.json"),
                    format!("secret {n}").as_bytes(),
                    &mut update,
                );
                (vec![Kind::Secret], before.clone().unwrap())
            } else {
                let after = model(stage, n);
                blob(
                    &format!("infra/state/app/{stage}.json"),
                    checkpoint_json(stage, &after).as_bytes(),
                    &mut update,
                );
                let mut files = vec![Kind::App];
                if n == 1 {
                    blob(
                        &format!("infra/state/passphrase/{stage}.age"),
                        b"age armor",
                        &mut update,
                    );
                    files = vec![Kind::App, Kind::Passphrase];
                }
                (files, after)
            };
            let (added, removed, changed) = diff(before.as_ref().unwrap_or(&Model::new()), &after);
            record = Some((
                stage,
                Expected {
                    commit: Oid::from_bytes(&[0; 20]).unwrap(),
                    files,
                    resources: after.len() as u32,
                    before: before.as_ref().map(|m| m.len() as u32),
                    added,
                    removed,
                    changed,
                    update_id,
                    exit_code,
                },
            ));
            models.insert(stage, after);
        } else if i % 97 == 0 {
            // the shared fallback secrets: no stage's own file
            blob(
                "infra/state/secret/_fallback.json",
                format!("fallback {i}").as_bytes(),
                &mut update,
            );
        } else {
            blob(
                &format!("src/pkg-{}/file-{}.ts", i % 7, i % 50),
                format!("export const v = {i};\n").as_bytes(),
                &mut update,
            );
        }
        let tree = repo
            .find_tree(
                update
                    .create_updated(repo, &parent.tree().unwrap())
                    .unwrap(),
            )
            .unwrap();
        let oid = repo
            .commit(Some("HEAD"), &sig, &sig, &message, &tree, &[&parent])
            .unwrap();
        parent = repo.find_commit(oid).unwrap();
        if let Some((stage, mut e)) = record {
            e.commit = oid;
            expected.entry(stage).or_default().push(e);
        }
    }
    assert_eq!(state_commits, 200);
    expected
}

/// The whole history of `stage` in the fixture's project.
fn stage_history(fx: &Fixture, stage: &str) -> sst_local_state::ops::history::HistoryReport {
    history(
        &HistoryOptions {
            common: fx.options(stage),
            ..HistoryOptions::default()
        },
        &fx.env(),
    )
    .unwrap()
}

#[test]
fn only_the_stage_newest_first_with_trailers_and_resource_diffs() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    let expected = build(&repo);
    for stage in STAGES {
        let started = std::time::Instant::now();
        let report = stage_history(&fx, stage);
        let elapsed = started.elapsed();
        let want = &expected[stage];
        assert_eq!(report.entries.len(), want.len(), "{stage}");
        assert!(report.commits_walked >= 2200, "{}", report.commits_walked);
        for (got, want) in report.entries.iter().zip(want.iter().rev()) {
            assert_eq!(got.commit, want.commit.to_string(), "{stage}");
            assert_eq!(got.files, want.files, "{stage} {}", got.commit);
            assert_eq!(got.resources, Some(want.resources));
            assert_eq!(got.resources_before, want.before);
            assert_eq!(got.added, want.added, "{stage} {}", got.commit);
            assert_eq!(got.removed, want.removed, "{stage} {}", got.commit);
            assert_eq!(got.changed, want.changed, "{stage} {}", got.commit);
            assert_eq!(got.command.as_deref(), Some("deploy"));
            assert_eq!(got.update_id.as_deref(), Some(want.update_id.as_str()));
            assert_eq!(got.exit_code, Some(want.exit_code));
            assert!(got
                .run_url
                .as_deref()
                .unwrap()
                .starts_with("https://ci.example/run/"));
            assert_eq!(got.author, "Dev Eloper");
            assert!(got.subject.contains(stage));
            assert!(got.time.starts_with("2025-"), "{}", got.time);
        }
        // the first deploy added everything; a secrets-only change moved nothing
        let first = report.entries.last().unwrap();
        assert_eq!((first.added.len(), first.resources_before), (6, None));
        assert!(report
            .entries
            .iter()
            .any(|e| e.files == [Kind::Secret] && e.added.is_empty() && e.changed.is_empty()));
        eprintln!(
            "history {stage}: {} entries over {} commits in {elapsed:?}",
            report.entries.len(),
            report.commits_walked
        );
    }

    // --limit: the newest N, the walk stops there
    let limited = history(
        &HistoryOptions {
            common: fx.options("prod"),
            limit: Some(3),
            ..HistoryOptions::default()
        },
        &fx.env(),
    )
    .unwrap();
    let want: Vec<String> = expected["prod"]
        .iter()
        .rev()
        .take(3)
        .map(|e| e.commit.to_string())
        .collect();
    let got: Vec<String> = limited.entries.iter().map(|e| e.commit.clone()).collect();
    assert_eq!(got, want);
    assert!(limited.commits_walked < 100, "{}", limited.commits_walked);

    // --rev: from an older commit
    let older = expected["dev"][10].commit.to_string();
    let from = history(
        &HistoryOptions {
            common: fx.options("dev"),
            rev: Some(older.clone()),
            ..HistoryOptions::default()
        },
        &fx.env(),
    )
    .unwrap();
    assert_eq!(from.entries.len(), 11);
    assert_eq!(from.entries[0].commit, older);

    // a stage with no state: no entries; a bad revision: INVALID_OPTION
    let none = stage_history(&fx, "qa");
    assert!(none.entries.is_empty());
    let err = history(
        &HistoryOptions {
            common: fx.options("dev"),
            rev: Some("no-such-rev".into()),
            ..HistoryOptions::default()
        },
        &fx.env(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION", "{err}");
}

#[test]
fn an_invalid_checkpoint_is_reported_not_fatal_and_merges_are_simplified() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    fx.repo_write("app/dev.json", common::checkpoint(&["urn:a", "urn:b"]));
    let first = common::commit_all(&repo, "state 1");
    fx.repo_write("app/dev.json", "{ not json");
    let broken = common::commit_all(&repo, "state 2 (broken)");
    fx.repo_write("app/dev.json", common::checkpoint(&["urn:a", "urn:c"]));
    let fixed = common::commit_all(&repo, "state 3");
    // a merge that takes the branch's state unchanged is not a state change
    let sig = Signature::now("T", "t@e").unwrap();
    let head = repo.find_commit(fixed).unwrap();
    let side = repo.find_commit(first).unwrap();
    let merge = repo
        .commit(
            Some("HEAD"),
            &sig,
            &sig,
            "merge",
            &head.tree().unwrap(),
            &[&head, &side],
        )
        .unwrap();
    let report = stage_history(&fx, "dev");
    let ids: Vec<String> = report.entries.iter().map(|e| e.commit.clone()).collect();
    assert_eq!(
        ids,
        [fixed.to_string(), broken.to_string(), first.to_string()]
    );
    assert!(!ids.contains(&merge.to_string()));
    let e = &report.entries;
    assert!(e[1].invalid.is_some() && e[1].resources.is_none());
    // against an unreadable checkpoint everything counts as added
    assert_eq!(e[0].added, ["urn:a", "urn:c"]);
    assert_eq!(e[2].added, ["urn:a", "urn:b"]);
    assert_eq!(e[2].command, None);
}

#[test]
fn a_project_in_a_subfolder_of_the_repository() {
    let fx = Fixture::new();
    common::isolate_git_config();
    let repo = Repository::init(&fx.root).unwrap();
    fx.repo_write("app/dev.json", common::checkpoint(&["urn:a"]));
    let first = common::commit_all(&repo, "state");
    std::fs::write(fx.root.join("README.md"), "monorepo\n").unwrap();
    common::commit_all(&repo, "docs");
    let report = stage_history(&fx, "dev");
    assert_eq!(report.paths[0], "project/infra/state/app/dev.json");
    let ids: Vec<String> = report.entries.iter().map(|e| e.commit.clone()).collect();
    assert_eq!(ids, [first.to_string()]);
    let shown = sst_local_state::ops::show::show(
        &sst_local_state::ops::show::ShowOptions {
            common: fx.options("dev"),
            ..Default::default()
        },
        &fx.env(),
    )
    .unwrap();
    assert_eq!(
        (shown.path.as_str(), shown.resources),
        ("project/infra/state/app/dev.json", 1)
    );
}

#[test]
fn a_repository_without_commits_has_no_history() {
    let fx = Fixture::new();
    common::isolate_git_config();
    Repository::init(&fx.project).unwrap();
    let report = stage_history(&fx, "dev");
    assert!(report.entries.is_empty());
    assert_eq!(report.commits_walked, 0);
}
