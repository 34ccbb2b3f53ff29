use super::*;
use std::collections::BTreeMap;

fn env(vars: &[(&str, &str)]) -> Env {
    let map: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Env::from_map(map, false)
}

fn branch(vars: &[(&str, &str)]) -> Option<String> {
    detect(&env(vars)).and_then(|ci| ci.branch)
}

#[test]
fn not_in_ci() {
    assert_eq!(detect(&env(&[])), None);
    assert_eq!(detect(&env(&[("CI", "false")])), None);
    assert_eq!(detect(&env(&[("GITHUB_ACTIONS", "false")])), None);
}

#[test]
fn generic() {
    let ci = detect(&env(&[("CI", "true"), ("BRANCH", "main")])).unwrap();
    assert_eq!(
        ci,
        CiInfo {
            provider: "generic",
            branch: None,
            run_url: None,
            is_pull_request: false
        }
    );
    assert_eq!(detect(&env(&[("CI", "1")])).unwrap().provider, "generic");
}

const GH: [(&str, &str); 5] = [
    ("CI", "true"),
    ("GITHUB_ACTIONS", "true"),
    ("GITHUB_SERVER_URL", "https://github.com"),
    ("GITHUB_REPOSITORY", "o/r"),
    ("GITHUB_RUN_ID", "42"),
];

#[test]
fn github_push() {
    let mut vars = GH.to_vec();
    vars.extend([
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/heads/feat/x"),
        ("GITHUB_REF_NAME", "feat/x"),
    ]);
    let ci = detect(&env(&vars)).unwrap();
    assert_eq!(ci.provider, "github-actions");
    assert_eq!(ci.branch.as_deref(), Some("feat/x"));
    assert_eq!(
        ci.run_url.as_deref(),
        Some("https://github.com/o/r/actions/runs/42")
    );
    assert!(!ci.is_pull_request);
}

#[test]
fn github_tag_and_dispatch() {
    let mut vars = GH.to_vec();
    vars.extend([
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/tags/v1"),
        ("GITHUB_REF_NAME", "v1"),
    ]);
    assert_eq!(branch(&vars), None);
    let mut vars = GH.to_vec();
    vars.extend([
        ("GITHUB_EVENT_NAME", "workflow_dispatch"),
        ("GITHUB_REF", "refs/heads/main"),
    ]);
    assert_eq!(branch(&vars).as_deref(), Some("main"));
}

#[test]
fn github_pull_request() {
    for event in ["pull_request", "pull_request_target"] {
        let mut vars = GH.to_vec();
        vars.extend([
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_REF", "refs/pull/7/merge"),
            ("GITHUB_REF_NAME", "7/merge"),
            ("GITHUB_HEAD_REF", "feat"),
            ("GITHUB_BASE_REF", "main"),
            ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
        ]);
        let ci = detect(&env(&vars)).unwrap();
        assert_eq!(ci.branch.as_deref(), Some("main"));
        assert!(ci.is_pull_request);
        assert_eq!(
            ci.run_url.as_deref(),
            Some("https://ghe.example.com/o/r/actions/runs/42")
        );
    }
}

const AZ: [(&str, &str); 4] = [
    ("TF_BUILD", "True"),
    ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/org/"),
    ("SYSTEM_TEAMPROJECT", "My Project"),
    ("BUILD_BUILDID", "123"),
];

#[test]
fn azure_branch_build() {
    let mut vars = AZ.to_vec();
    vars.extend([
        ("BUILD_REASON", "IndividualCI"),
        ("BUILD_SOURCEBRANCH", "refs/heads/release/1"),
    ]);
    let ci = detect(&env(&vars)).unwrap();
    assert_eq!(ci.provider, "azure-pipelines");
    assert_eq!(ci.branch.as_deref(), Some("release/1"));
    assert_eq!(
        ci.run_url.as_deref(),
        Some("https://dev.azure.com/org/My%20Project/_build/results?buildId=123")
    );
    assert!(!ci.is_pull_request);
}

#[test]
fn azure_tags_and_pull_refs_have_no_branch() {
    for source in ["refs/tags/v1", "refs/pull/5/merge"] {
        let mut vars = AZ.to_vec();
        vars.extend([("BUILD_REASON", "Manual"), ("BUILD_SOURCEBRANCH", source)]);
        assert_eq!(branch(&vars), None, "{source}");
    }
}

#[test]
fn azure_pull_request() {
    for target in ["refs/heads/main", "main"] {
        let mut vars = AZ.to_vec();
        vars.extend([
            ("BUILD_REASON", "PullRequest"),
            ("BUILD_SOURCEBRANCH", "refs/pull/5/merge"),
            ("SYSTEM_PULLREQUEST_TARGETBRANCH", target),
        ]);
        let ci = detect(&env(&vars)).unwrap();
        assert_eq!(ci.branch.as_deref(), Some("main"));
        assert!(ci.is_pull_request);
    }
}

#[test]
fn gitlab() {
    let base = [
        ("GITLAB_CI", "true"),
        ("CI_PIPELINE_URL", "https://gitlab.com/g/p/-/pipelines/9"),
        ("CI_JOB_URL", "https://gitlab.com/g/p/-/jobs/10"),
    ];
    let mut vars = base.to_vec();
    vars.extend([("CI_PIPELINE_SOURCE", "push"), ("CI_COMMIT_BRANCH", "main")]);
    let ci = detect(&env(&vars)).unwrap();
    assert_eq!(ci.provider, "gitlab");
    assert_eq!(ci.branch.as_deref(), Some("main"));
    assert_eq!(
        ci.run_url.as_deref(),
        Some("https://gitlab.com/g/p/-/pipelines/9")
    );
    assert!(!ci.is_pull_request);

    let mut vars = base.to_vec();
    vars.extend([
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "develop"),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feat"),
    ]);
    let ci = detect(&env(&vars)).unwrap();
    assert_eq!(ci.branch.as_deref(), Some("develop"));
    assert!(ci.is_pull_request);

    // Tag pipeline: no CI_COMMIT_BRANCH; job URL as fallback link.
    let ci = detect(&env(&[
        ("GITLAB_CI", "true"),
        ("CI_COMMIT_TAG", "v1"),
        ("CI_JOB_URL", "https://gitlab.com/g/p/-/jobs/10"),
    ]))
    .unwrap();
    assert_eq!(ci.branch, None);
    assert_eq!(
        ci.run_url.as_deref(),
        Some("https://gitlab.com/g/p/-/jobs/10")
    );
}

#[test]
fn bitbucket() {
    let base = [
        ("CI", "true"),
        ("BITBUCKET_BUILD_NUMBER", "17"),
        ("BITBUCKET_GIT_HTTP_ORIGIN", "http://bitbucket.org/ws/repo"),
    ];
    let mut vars = base.to_vec();
    vars.push(("BITBUCKET_BRANCH", "main"));
    let ci = detect(&env(&vars)).unwrap();
    assert_eq!(ci.provider, "bitbucket");
    assert_eq!(ci.branch.as_deref(), Some("main"));
    assert_eq!(
        ci.run_url.as_deref(),
        Some("https://bitbucket.org/ws/repo/addon/pipelines/home#!/results/17")
    );
    assert!(!ci.is_pull_request);

    let mut vars = base.to_vec();
    vars.extend([
        ("BITBUCKET_BRANCH", "feat"),
        ("BITBUCKET_PR_ID", "3"),
        ("BITBUCKET_PR_DESTINATION_BRANCH", "main"),
    ]);
    let ci = detect(&env(&vars)).unwrap();
    assert_eq!(ci.branch.as_deref(), Some("main"));
    assert!(ci.is_pull_request);

    let mut vars = base.to_vec();
    vars.push(("BITBUCKET_TAG", "v1"));
    assert_eq!(branch(&vars), None);
}

#[test]
fn circleci() {
    let ci = detect(&env(&[
        ("CI", "true"),
        ("CIRCLECI", "true"),
        ("CIRCLE_BRANCH", "main"),
        ("CIRCLE_BUILD_URL", "https://circleci.com/gh/o/r/5"),
    ]))
    .unwrap();
    assert_eq!(ci.provider, "circleci");
    assert_eq!(ci.branch.as_deref(), Some("main"));
    assert_eq!(ci.run_url.as_deref(), Some("https://circleci.com/gh/o/r/5"));
    assert!(!ci.is_pull_request);

    let ci = detect(&env(&[("CIRCLECI", "true"), ("CIRCLE_BRANCH", "pull/12")])).unwrap();
    assert_eq!(ci.branch, None);
    assert!(ci.is_pull_request);

    let ci = detect(&env(&[("CIRCLECI", "true"), ("CIRCLE_TAG", "v1")])).unwrap();
    assert_eq!(ci.branch, None);
}

#[test]
fn buildkite() {
    let base = [
        ("BUILDKITE", "true"),
        ("BUILDKITE_BUILD_URL", "https://buildkite.com/o/p/builds/8"),
    ];
    let mut vars = base.to_vec();
    vars.extend([
        ("BUILDKITE_PULL_REQUEST", "false"),
        ("BUILDKITE_BRANCH", "main"),
    ]);
    let ci = detect(&env(&vars)).unwrap();
    assert_eq!(ci.provider, "buildkite");
    assert_eq!(ci.branch.as_deref(), Some("main"));
    assert_eq!(
        ci.run_url.as_deref(),
        Some("https://buildkite.com/o/p/builds/8")
    );
    assert!(!ci.is_pull_request);

    let mut vars = base.to_vec();
    vars.extend([
        ("BUILDKITE_PULL_REQUEST", "31"),
        ("BUILDKITE_BRANCH", "feat"),
        ("BUILDKITE_PULL_REQUEST_BASE_BRANCH", "main"),
    ]);
    let ci = detect(&env(&vars)).unwrap();
    assert_eq!(ci.branch.as_deref(), Some("main"));
    assert!(ci.is_pull_request);

    let mut vars = base.to_vec();
    vars.extend([
        ("BUILDKITE_PULL_REQUEST", "false"),
        ("BUILDKITE_BRANCH", "v1.2"),
        ("BUILDKITE_TAG", "v1.2"),
    ]);
    assert_eq!(branch(&vars), None);
}

#[test]
fn windows_case_insensitive_lookup() {
    let map = BTreeMap::from([
        ("Tf_Build".to_string(), "True".to_string()),
        (
            "Build_SourceBranch".to_string(),
            "refs/heads/main".to_string(),
        ),
    ]);
    let ci = detect(&Env::from_map(map, true)).unwrap();
    assert_eq!(ci.provider, "azure-pipelines");
    assert_eq!(ci.branch.as_deref(), Some("main"));
}
