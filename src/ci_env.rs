//! CI detection from environment variables: which CI runs us, the branch a
//! state commit should be pushed to (the branch being deployed), and a link
//! to the run.
//!
//! Providers are tried in this order: GitHub Actions (`GITHUB_ACTIONS`),
//! Azure Pipelines (`TF_BUILD`), GitLab (`GITLAB_CI`), Bitbucket Pipelines
//! (`BITBUCKET_BUILD_NUMBER`), CircleCI (`CIRCLECI`), Buildkite
//! (`BUILDKITE`), then any other CI that sets `CI=true` (or `CI=1`).
//! A marker counts when set, non-empty and not `false`/`0`. Tag builds give
//! no branch. For pull/merge request builds the branch is the target branch
//! and `is_pull_request` is set.

use crate::env::Env;

/// What we know about the CI run we are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiInfo {
    /// `github-actions`, `azure-pipelines`, `gitlab`, `bitbucket`,
    /// `circleci`, `buildkite` or `generic`.
    pub provider: &'static str,
    /// The branch being deployed (for pull requests: the target branch);
    /// `None` for tag builds, detached builds and generic CIs.
    pub branch: Option<String>,
    /// A link to this run, when the CI gives enough to build one.
    pub run_url: Option<String>,
    /// Whether this run was triggered by a pull/merge request.
    pub is_pull_request: bool,
}

/// The CI we run in, from `env`; `None` outside CI.
pub fn detect(env: &Env) -> Option<CiInfo> {
    if flag(env, "GITHUB_ACTIONS") {
        Some(github(env))
    } else if flag(env, "TF_BUILD") {
        Some(azure(env))
    } else if flag(env, "GITLAB_CI") {
        Some(gitlab(env))
    } else if env.non_empty("BITBUCKET_BUILD_NUMBER").is_some() {
        Some(bitbucket(env))
    } else if flag(env, "CIRCLECI") {
        Some(circleci(env))
    } else if flag(env, "BUILDKITE") {
        Some(buildkite(env))
    } else if env
        .non_empty("CI")
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    {
        Some(CiInfo {
            provider: "generic",
            branch: None,
            run_url: None,
            is_pull_request: false,
        })
    } else {
        None
    }
}

/// Whether `key` is set to something other than empty, `false` or `0`.
fn flag(env: &Env, key: &str) -> bool {
    env.non_empty(key)
        .is_some_and(|v| !v.eq_ignore_ascii_case("false") && v != "0")
}

/// The non-empty value of `key`, owned.
fn value(env: &Env, key: &str) -> Option<String> {
    env.non_empty(key).map(str::to_string)
}

/// The branch name of a full `refs/heads/...` ref; `None` for other refs.
fn head_branch(reference: &str) -> Option<String> {
    reference
        .strip_prefix("refs/heads/")
        .filter(|b| !b.is_empty())
        .map(str::to_string)
}

/// A branch given either as `refs/heads/x` or as `x`; `None` for other refs.
fn short_or_head_branch(name: &str) -> Option<String> {
    if name.starts_with("refs/") {
        head_branch(name)
    } else {
        Some(name.to_string()).filter(|b| !b.is_empty())
    }
}

/// GitHub Actions: `GITHUB_BASE_REF` for `pull_request`/`pull_request_target`
/// events, else `GITHUB_REF_NAME` when `GITHUB_REF` is a branch.
fn github(env: &Env) -> CiInfo {
    let event = env.get("GITHUB_EVENT_NAME").unwrap_or_default();
    let is_pull_request = matches!(event, "pull_request" | "pull_request_target");
    let branch = if is_pull_request {
        value(env, "GITHUB_BASE_REF")
    } else {
        env.non_empty("GITHUB_REF").and_then(|r| {
            head_branch(r)?;
            value(env, "GITHUB_REF_NAME").or_else(|| head_branch(r))
        })
    };
    let server = env
        .non_empty("GITHUB_SERVER_URL")
        .unwrap_or("https://github.com")
        .trim_end_matches('/');
    let run_url = match (
        env.non_empty("GITHUB_REPOSITORY"),
        env.non_empty("GITHUB_RUN_ID"),
    ) {
        (Some(repo), Some(id)) => Some(format!("{server}/{repo}/actions/runs/{id}")),
        _ => None,
    };
    CiInfo {
        provider: "github-actions",
        branch,
        run_url,
        is_pull_request,
    }
}

/// Azure Pipelines: `SYSTEM_PULLREQUEST_TARGETBRANCH` when
/// `BUILD_REASON=PullRequest`, else a `refs/heads/` `BUILD_SOURCEBRANCH`.
fn azure(env: &Env) -> CiInfo {
    let is_pull_request = env
        .get("BUILD_REASON")
        .is_some_and(|r| r.eq_ignore_ascii_case("PullRequest"));
    let branch = if is_pull_request {
        env.non_empty("SYSTEM_PULLREQUEST_TARGETBRANCH")
            .or_else(|| env.non_empty("SYSTEM_PULLREQUEST_TARGETBRANCHNAME"))
            .and_then(short_or_head_branch)
    } else {
        env.non_empty("BUILD_SOURCEBRANCH").and_then(head_branch)
    };
    let project = env
        .non_empty("SYSTEM_TEAMPROJECT")
        .or_else(|| env.non_empty("SYSTEM_TEAMPROJECTID"));
    let run_url = match (
        env.non_empty("SYSTEM_COLLECTIONURI"),
        project,
        env.non_empty("BUILD_BUILDID"),
    ) {
        (Some(collection), Some(project), Some(id)) => Some(format!(
            "{}/{}/_build/results?buildId={}",
            collection.trim_end_matches('/'),
            percent_encode(project),
            percent_encode(id)
        )),
        _ => None,
    };
    CiInfo {
        provider: "azure-pipelines",
        branch,
        run_url,
        is_pull_request,
    }
}

/// GitLab: the merge request's (or external pull request's) target branch,
/// else `CI_COMMIT_BRANCH` (unset for tag and merge request pipelines).
fn gitlab(env: &Env) -> CiInfo {
    let mr_target = value(env, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
        .or_else(|| value(env, "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME"));
    let is_pull_request = mr_target.is_some()
        || matches!(
            env.get("CI_PIPELINE_SOURCE"),
            Some("merge_request_event" | "external_pull_request_event")
        );
    let branch = if is_pull_request {
        mr_target
    } else {
        value(env, "CI_COMMIT_BRANCH")
    };
    CiInfo {
        provider: "gitlab",
        branch,
        run_url: value(env, "CI_PIPELINE_URL").or_else(|| value(env, "CI_JOB_URL")),
        is_pull_request,
    }
}

/// Bitbucket Pipelines: `BITBUCKET_PR_DESTINATION_BRANCH` for pull request
/// pipelines, else `BITBUCKET_BRANCH` (unset for tag pipelines).
fn bitbucket(env: &Env) -> CiInfo {
    let destination = value(env, "BITBUCKET_PR_DESTINATION_BRANCH");
    let is_pull_request = destination.is_some() || env.non_empty("BITBUCKET_PR_ID").is_some();
    let branch = if is_pull_request {
        destination
    } else {
        value(env, "BITBUCKET_BRANCH")
    };
    // BITBUCKET_GIT_HTTP_ORIGIN is documented as http://bitbucket.org/ws/repo.
    let run_url = match (
        env.non_empty("BITBUCKET_GIT_HTTP_ORIGIN"),
        env.non_empty("BITBUCKET_BUILD_NUMBER"),
    ) {
        (Some(origin), Some(number)) => {
            let origin = origin.trim_end_matches('/');
            let origin = match origin.strip_prefix("http://bitbucket.org/") {
                Some(path) => format!("https://bitbucket.org/{path}"),
                None => origin.to_string(),
            };
            Some(format!("{origin}/addon/pipelines/home#!/results/{number}"))
        }
        _ => None,
    };
    CiInfo {
        provider: "bitbucket",
        branch,
        run_url,
        is_pull_request,
    }
}

/// CircleCI: `CIRCLE_BRANCH` (unset for tag builds). CircleCI builds the
/// pushed branch itself, so only fork pull requests (`CIRCLE_BRANCH` is
/// `pull/<n>`) count as pull requests, and they have no target branch.
fn circleci(env: &Env) -> CiInfo {
    let raw = value(env, "CIRCLE_BRANCH");
    let is_pull_request = raw.as_deref().is_some_and(|b| b.starts_with("pull/"));
    CiInfo {
        provider: "circleci",
        branch: raw.filter(|_| !is_pull_request),
        run_url: value(env, "CIRCLE_BUILD_URL"),
        is_pull_request,
    }
}

/// Buildkite: `BUILDKITE_PULL_REQUEST_BASE_BRANCH` when
/// `BUILDKITE_PULL_REQUEST` is a number (not `false`), else
/// `BUILDKITE_BRANCH` unless it is the tag being built.
fn buildkite(env: &Env) -> CiInfo {
    let is_pull_request = env
        .non_empty("BUILDKITE_PULL_REQUEST")
        .is_some_and(|v| v != "false");
    let branch = if is_pull_request {
        value(env, "BUILDKITE_PULL_REQUEST_BASE_BRANCH")
    } else {
        let tag = env.non_empty("BUILDKITE_TAG");
        value(env, "BUILDKITE_BRANCH").filter(|b| Some(b.as_str()) != tag)
    };
    CiInfo {
        provider: "buildkite",
        branch,
        run_url: value(env, "BUILDKITE_BUILD_URL"),
        is_pull_request,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for
/// Azure project names, which may contain spaces).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
}
