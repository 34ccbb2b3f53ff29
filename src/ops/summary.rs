//! Summary: a stage's state change as a short Markdown report for a CI
//! job's summary page (GitHub's step summary, a merge request comment):
//! stage, command, exit code, the state commit (a link when the remote is
//! the GitHub repository the job runs in), the time spent waiting for the
//! stage lock, and the resources added, removed and changed, counted per
//! type, with their URNs (folded in a `<details>` block when long). The
//! resources are the ones [`history`](crate::ops::history) computes for the
//! commit. Reads git objects only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::env::Env;
use crate::error::Result;
use crate::ops::history::{self, HistoryEntry, HistoryOptions};
use crate::stage::project::{self, CommonOptions};

/// What [`summary`] takes.
#[derive(Debug, Clone, Default)]
pub struct SummaryOptions {
    /// Stage, app, project and folders.
    pub common: CommonOptions,
    /// The state commit to report: the newest change of the stage at or
    /// before it (default `HEAD`); when given, it must be that commit itself,
    /// else the report says the state did not change.
    pub rev: Option<String>,
    /// The run made no state commit: report no change, read no history.
    pub unchanged: bool,
    /// The command shown (default: the commit's `SST-Command` trailer).
    pub command: Option<String>,
    /// The command's exit code (default: the commit's `Run-Exit-Code`).
    pub exit_code: Option<i32>,
    /// How long the run waited for the stage lock, in milliseconds.
    pub lock_wait_ms: Option<u64>,
    /// The remote the state was pushed to (default `origin`): the commit is
    /// linked when it is the job's GitHub repository.
    pub remote: Option<String>,
}

/// The result of [`summary`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryReport {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The state commit reported (`None`: the state did not change).
    pub commit: Option<String>,
    /// The commit's web page (GitHub Actions, remote on the job's repository).
    pub commit_url: Option<String>,
    /// The command.
    pub command: Option<String>,
    /// The command's exit code.
    pub exit_code: Option<i32>,
    /// Time waited for the stage lock, in milliseconds.
    pub lock_wait_ms: Option<u64>,
    /// Resources in the checkpoint before and after the commit.
    pub resources_before: Option<u32>,
    /// Resources after the commit.
    pub resources: Option<u32>,
    /// URNs added by the commit.
    pub added: Vec<String>,
    /// URNs removed by the commit.
    pub removed: Vec<String>,
    /// URNs whose inputs or outputs changed.
    pub changed: Vec<String>,
    /// The report as Markdown.
    pub markdown: String,
}

/// The stage's state change at `options.rev` (or none), rendered as Markdown.
pub fn summary(options: &SummaryOptions, env: &Env) -> Result<SummaryReport> {
    let ctx = project::resolve(&options.common, env)?;
    let mut report = SummaryReport {
        app: ctx.app.as_str().to_string(),
        stage: ctx.stage.as_str().to_string(),
        commit: None,
        commit_url: None,
        command: options.command.clone(),
        exit_code: options.exit_code,
        lock_wait_ms: options.lock_wait_ms,
        resources_before: None,
        resources: None,
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        markdown: String::new(),
    };
    if !options.unchanged {
        if let Some(entry) = state_change(options, env)? {
            report.commit_url = commit_url(options, &ctx, env, &entry.commit);
            fill(&mut report, entry);
        }
    }
    report.markdown = render(&report);
    Ok(report)
}

/// The history entry of the reported commit, if it changed the stage.
fn state_change(options: &SummaryOptions, env: &Env) -> Result<Option<HistoryEntry>> {
    let found = history::history(
        &HistoryOptions {
            common: options.common.clone(),
            limit: Some(1),
            rev: options.rev.clone(),
        },
        env,
    )?;
    let Some(entry) = found.entries.into_iter().next() else {
        return Ok(None);
    };
    if let Some(rev) = &options.rev {
        let ctx = project::resolve(&options.common, env)?;
        let (repo, _) = history::open_repo(&ctx)?;
        let named = history::commit_at(&repo, rev, options.common.caller)?;
        if named.id().to_string() != entry.commit {
            return Ok(None);
        }
    }
    Ok(Some(entry))
}

/// Copies what the entry recorded into the report (given options win).
fn fill(report: &mut SummaryReport, entry: HistoryEntry) {
    report.command = report.command.take().or(entry.command);
    report.exit_code = report.exit_code.or(entry.exit_code);
    report.commit = Some(entry.commit);
    report.resources_before = entry.resources_before;
    report.resources = entry.resources;
    report.added = entry.added;
    report.removed = entry.removed;
    report.changed = entry.changed;
}

/// `GITHUB_SERVER_URL/GITHUB_REPOSITORY/commit/<sha>` when the remote's URL
/// is that repository (credentials and `.git` ignored).
fn commit_url(
    options: &SummaryOptions,
    ctx: &crate::stage::project::StageContext,
    env: &Env,
    sha: &str,
) -> Option<String> {
    let server = env.non_empty("GITHUB_SERVER_URL")?.trim_end_matches('/');
    let repository = env.non_empty("GITHUB_REPOSITORY")?;
    let (repo, _) = history::open_repo(ctx).ok()?;
    let remote = repo
        .find_remote(options.remote.as_deref().unwrap_or("origin"))
        .ok()?;
    let url = remote.url().ok()?;
    let want = format!("{}/{repository}", host_path(server));
    (host_path(url) == want).then(|| format!("{server}/{repository}/commit/{sha}"))
}

/// `host[:port]/path` of a URL, without scheme, credentials, trailing `/` or `.git`.
fn host_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.trim_end_matches('/');
    rest.strip_suffix(".git").unwrap_or(rest).to_string()
}

/// URNs listed in the open; more go into a `<details>` block.
const OPEN_URNS: usize = 10;

/// The resource type of a URN (`urn:pulumi:<stack>::<project>::<parent$…$type>::<name>`).
fn urn_type(urn: &str) -> &str {
    let qualified = urn.split("::").nth(2).unwrap_or("?");
    qualified.rsplit('$').next().unwrap_or(qualified)
}

/// The report as Markdown: a table of the facts, resources per type, URNs.
pub fn render(r: &SummaryReport) -> String {
    let mut out = format!("### sst-local-state: {}/{}\n\n", r.app, r.stage);
    out.push_str("| | |\n|---|---|\n");
    let mut row = |key: &str, value: String| {
        let _ = writeln!(out, "| {key} | {} |", value.replace('|', "\\|"));
    };
    row("stage", format!("`{}`", r.stage));
    if let Some(c) = &r.command {
        row("command", format!("`{}`", c.replace('`', "'")));
    }
    if let Some(x) = r.exit_code {
        row("exit code", x.to_string());
    }
    row(
        "state commit",
        match (&r.commit, &r.commit_url) {
            (Some(c), Some(url)) => format!("[`{}`]({url})", short(c)),
            (Some(c), None) => format!("`{}`", short(c)),
            _ => "none: the state did not change".to_string(),
        },
    );
    if let Some(ms) = r.lock_wait_ms {
        row("lock wait", format!("{:.1} s", ms as f64 / 1000.0));
    }
    if r.commit.is_some() {
        let count = |n: Option<u32>| n.map_or("-".to_string(), |n| n.to_string());
        row(
            "resources",
            format!(
                "{} → {} (+{} −{} ~{})",
                count(r.resources_before),
                count(r.resources),
                r.added.len(),
                r.removed.len(),
                r.changed.len()
            ),
        );
    }
    render_types(&mut out, r);
    render_urns(&mut out, r);
    out
}

fn short(commit: &str) -> &str {
    &commit[..12.min(commit.len())]
}

/// Resources added, removed and changed per type, most first.
fn render_types(out: &mut String, r: &SummaryReport) {
    let mut by_type: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for (i, list) in [&r.added, &r.removed, &r.changed].into_iter().enumerate() {
        for urn in list {
            by_type.entry(urn_type(urn)).or_default()[i] += 1;
        }
    }
    if by_type.is_empty() {
        return;
    }
    let mut rows: Vec<_> = by_type.into_iter().collect();
    rows.sort_by_key(|(t, n)| (std::cmp::Reverse(n.iter().sum::<usize>()), *t));
    out.push_str("\n| type | added | removed | changed |\n|---|---:|---:|---:|\n");
    for (t, [a, d, c]) in rows {
        let _ = writeln!(out, "| `{t}` | {a} | {d} | {c} |");
    }
}

/// The URNs, `+`/`-`/`~`; in a `<details>` block when more than [`OPEN_URNS`].
fn render_urns(out: &mut String, r: &SummaryReport) {
    let lines: Vec<String> = [("+", &r.added), ("-", &r.removed), ("~", &r.changed)]
        .into_iter()
        .flat_map(|(sign, list)| list.iter().map(move |u| format!("{sign} {u}")))
        .collect();
    if lines.is_empty() {
        return;
    }
    let block = format!("```diff\n{}\n```\n", lines.join("\n"));
    if lines.len() > OPEN_URNS {
        let _ = write!(
            out,
            "\n<details><summary>{} resources</summary>\n\n{block}\n</details>\n",
            lines.len()
        );
    } else {
        let _ = write!(out, "\n{block}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(added: usize) -> SummaryReport {
        let urn = |t: &str, n: usize| format!("urn:pulumi:prod::app::sst:aws:Function${t}::r{n}");
        SummaryReport {
            app: "app".into(),
            stage: "prod".into(),
            commit: Some("0123456789abcdef0123".into()),
            commit_url: Some("https://github.com/o/r/commit/0123456789abcdef0123".into()),
            command: Some("npx sst deploy".into()),
            exit_code: Some(0),
            lock_wait_ms: Some(1500),
            resources_before: Some(3),
            resources: Some(3 + added as u32 - 1),
            added: (0..added)
                .map(|n| urn("aws:lambda/function:Function", n))
                .collect(),
            removed: vec![urn("aws:iam/role:Role", 9)],
            changed: vec![],
            markdown: String::new(),
        }
    }

    #[test]
    fn renders_facts_types_and_urns() {
        let md = render(&report(2));
        assert!(md.contains("| stage | `prod` |"), "{md}");
        assert!(md.contains("| command | `npx sst deploy` |"), "{md}");
        assert!(md.contains("| exit code | 0 |"), "{md}");
        assert!(
            md.contains("[`0123456789ab`](https://github.com/o/r/commit/0123456789abcdef0123)"),
            "{md}"
        );
        assert!(md.contains("| lock wait | 1.5 s |"), "{md}");
        assert!(md.contains("| resources | 3 → 4 (+2 −1 ~0) |"), "{md}");
        assert!(
            md.contains("| `aws:lambda/function:Function` | 2 | 0 | 0 |"),
            "{md}"
        );
        assert!(md.contains("| `aws:iam/role:Role` | 0 | 1 | 0 |"), "{md}");
        assert!(md.contains("- urn:pulumi:prod::app::sst:aws:Function$aws:iam/role:Role::r9"));
        assert!(!md.contains("<details>"), "{md}");
    }

    #[test]
    fn long_lists_fold_and_unchanged_says_so() {
        assert!(render(&report(20)).contains("<details><summary>21 resources</summary>"));
        let mut r = report(0);
        r.commit = None;
        r.removed.clear();
        let md = render(&r);
        assert!(
            md.contains("| state commit | none: the state did not change |"),
            "{md}"
        );
        assert!(!md.contains("| resources |"), "{md}");
    }

    #[test]
    fn links_only_the_jobs_repository() {
        assert_eq!(
            host_path("https://x-access-token:t@github.com/o/r.git"),
            "github.com/o/r"
        );
        assert_eq!(host_path("https://github.com/o/r/"), "github.com/o/r");
        assert_eq!(
            urn_type("urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"),
            "pulumi:pulumi:Stack"
        );
    }
}
