//! show: the stage's checkpoint at a revision, from git objects only:
//! resources by type, counts, the whole JSON on request; a revision without
//! the checkpoint, an unknown revision and a corrupt checkpoint are errors.

mod common;

use common::Fixture;
use sst_local_state::ops::show::{show, ShowOptions};

fn checkpoint(types: &[&str], pending: usize) -> String {
    let resources: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!(r#"{{"urn":"urn:{i}","type":"{t}"}}"#))
        .collect();
    let ops = vec!["{}"; pending].join(",");
    format!(
        r#"{{"version":3,"checkpoint":{{"stack":"organization/demo-app/dev","latest":{{"resources":[{}],"pending_operations":[{ops}]}}}}}}"#,
        resources.join(",")
    )
}

fn options(fx: &Fixture, rev: Option<&str>, whole: bool) -> ShowOptions {
    ShowOptions {
        common: fx.options("dev"),
        rev: rev.map(str::to_string),
        whole,
    }
}

#[test]
fn summary_and_whole_checkpoint_at_a_revision() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    let lambda = "aws:lambda/function:Function";
    let role = "aws:iam/role:Role";
    let old = checkpoint(&[lambda, role, lambda], 0);
    fx.repo_write("app/dev.json", &old);
    fx.repo_write("passphrase/dev.age", "armor");
    let first = common::commit_all(&repo, "first");
    fx.repo_write("app/dev.json", checkpoint(&[role], 1));
    common::commit_all(&repo, "second");

    let r = show(&options(&fx, Some(&first.to_string()), false), &fx.env()).unwrap();
    assert_eq!(r.commit, first.to_string());
    assert_eq!((r.resources, r.pending_operations), (3, 0));
    let by_type: Vec<(&str, u32)> = r
        .by_type
        .iter()
        .map(|t| (t.type_name.as_str(), t.count))
        .collect();
    assert_eq!(by_type, [(lambda, 2), (role, 1)]);
    assert_eq!(r.path, "infra/state/app/dev.json");
    assert_eq!(r.stack.as_deref(), Some("organization/demo-app/dev"));
    assert_eq!(r.other_files, ["infra/state/passphrase/dev.age"]);
    assert!(r.checkpoint.is_none());

    // HEAD by default; with `whole`, the checkpoint exactly as stored
    let r = show(&options(&fx, None, true), &fx.env()).unwrap();
    assert_eq!((r.resources, r.pending_operations), (1, 1));
    assert_eq!(r.checkpoint.unwrap().get(), checkpoint(&[role], 1));
    let r = show(&options(&fx, Some("HEAD~1"), true), &fx.env()).unwrap();
    assert_eq!(r.checkpoint.unwrap().get(), old);
}

#[test]
fn missing_unknown_and_corrupt() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    let err = show(&options(&fx, None, false), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_MISSING", "{err}");
    assert!(
        err.to_string().contains("HEAD:infra/state/app/dev.json"),
        "{err}"
    );
    let err = show(&options(&fx, Some("nope"), false), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION", "{err}");
    fx.repo_write("app/dev.json", "{\"version\":3}");
    common::commit_all(&repo, "corrupt");
    let err = show(&options(&fx, None, false), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "STATE_CORRUPT", "{err}");
}

/// git accepts commit dates far outside what humantime formats (years
/// 1970 to 9999); `show` and `history` render them instead of panicking
/// (which the release build's panic=abort turned into killing the caller).
#[test]
fn commits_dated_past_year_9999_are_shown_and_listed() {
    use sst_local_state::ops::history::{history, HistoryOptions};
    let fx = Fixture::new();
    fx.git_init();
    let mut expected = Vec::new();
    for (date, rendered) in [
        ("@300000000000 +0000", "+011476-08-15T05:20:00Z"),
        ("@253402300800 +0000", "+010000-01-01T00:00:00Z"),
    ] {
        let pending = expected.len();
        fx.repo_write("app/dev.json", checkpoint(&["t"], pending));
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(args)
                .current_dir(&fx.project)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_AUTHOR_DATE", date)
                .env("GIT_COMMITTER_DATE", date)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "dated"]);
        let oid = git(&["rev-parse", "HEAD"]);
        let shown = show(&options(&fx, Some(&oid), false), &fx.env()).unwrap();
        assert_eq!(shown.time, rendered);
        expected.insert(0, rendered);
    }
    let listed = history(
        &HistoryOptions {
            common: fx.options("dev"),
            ..HistoryOptions::default()
        },
        &fx.env(),
    )
    .unwrap();
    let times: Vec<&str> = listed.entries.iter().map(|e| e.time.as_str()).collect();
    assert_eq!(times, expected);
}

#[test]
fn a_revision_past_the_start_of_history_says_the_history_is_shorter() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    fx.repo_write("app/dev.json", checkpoint(&["t"], 0));
    common::commit_all(&repo, "state");
    let err = show(&options(&fx, Some("HEAD~100"), false), &fx.env()).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION", "{err}");
    let message = err.to_string();
    assert!(
        message.contains("--rev") || message.contains("options.rev"),
        "{message}"
    );
    assert!(
        message.contains(
            r#"the revision "HEAD~100" does not exist: the history is shorter (HEAD, commit "#
        ),
        "{message}"
    );
    assert!(message.contains("has 1 commit before it"), "{message}");
    assert!(!message.contains("parent 0"), "{message}");
    // an unknown name says the revision does not exist too, naming it
    let err = show(&options(&fx, Some("nope"), false), &fx.env()).unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"the revision "nope" does not exist"#),
        "{err}"
    );
}
