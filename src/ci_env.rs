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

/// The id (or number) of the CI run `provider` names, from its own variable.
pub fn run_id(env: &Env, provider: &str) -> Option<String> {
    let key = match provider {
        "github-actions" => "GITHUB_RUN_ID",
        "azure-pipelines" => "BUILD_BUILDID",
        "gitlab" => "CI_PIPELINE_ID",
        "bitbucket" => "BITBUCKET_BUILD_NUMBER",
        "circleci" => "CIRCLE_BUILD_NUM",
        "buildkite" => "BUILDKITE_BUILD_NUMBER",
        _ => return None,
    };
    value(env, key)
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
mod tests;
