//! `history`: its flags, running it, and its human output.

use std::fmt::Write as _;

use clap::Args;

use super::flags::{GlobalArgs, StageArgs};
use super::ui::{to_json, Ui};
use crate::env::Env;
use crate::error::Result;
use crate::ops::history::{HistoryOptions, HistoryReport};

/// Flags of `history`.
#[derive(Debug, Args)]
pub(super) struct HistoryArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// At most N entries, newest first.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Walk history from this revision [default: HEAD].
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
}

pub(super) fn run(
    args: &HistoryArgs,
    global: &GlobalArgs,
    env: &Env,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let options = HistoryOptions {
        common: args.stage.common(global),
        limit: args.limit,
        rev: args.rev.clone(),
    };
    let report = crate::ops::history::history(&options, env)?;
    for path in &report.paths {
        ui.detail(&format!("following {path}"));
    }
    ui.result(&render(&report, ui.verbose), &to_json(&report));
    Ok(())
}

/// URNs shown per list in human output (all with --verbose).
const SHOWN: usize = 5;

pub fn render(r: &HistoryReport, all: bool) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "history {}/{}: {} change(s) in {} commit(s) walked",
        r.app,
        r.stage,
        r.entries.len(),
        r.commits_walked
    );
    for e in &r.entries {
        let mut facts = Vec::new();
        if let Some(c) = &e.command {
            facts.push(c.clone());
        }
        if let Some(u) = &e.update_id {
            facts.push(format!("update {u}"));
        }
        if let Some(x) = e.exit_code {
            facts.push(format!("exit {x}"));
        }
        if let Some(n) = e.errors {
            facts.push(format!("{n} error(s)"));
        }
        let files: Vec<&str> = e.files.iter().map(|k| k.label()).collect();
        let _ = write!(
            out,
            "\n{} {} {} <{}>{}\n    {}",
            &e.commit[..12.min(e.commit.len())],
            e.time,
            e.author,
            e.email,
            if facts.is_empty() {
                String::new()
            } else {
                format!("  [{}]", facts.join(", "))
            },
            e.subject
        );
        let count = |n: Option<u32>| n.map_or("-".to_string(), |n| n.to_string());
        let _ = write!(
            out,
            "\n    files: {}; resources {} -> {} (+{} -{} ~{})",
            files.join(", "),
            count(e.resources_before),
            count(e.resources),
            e.added.len(),
            e.removed.len(),
            e.changed.len()
        );
        if let Some(p) = e.pending_operations.filter(|p| *p > 0) {
            let _ = write!(out, "; {p} pending operation(s)");
        }
        if let Some(why) = &e.invalid {
            let _ = write!(out, "\n    checkpoint unreadable: {why}");
        }
        for (sign, list) in [("+", &e.added), ("-", &e.removed), ("~", &e.changed)] {
            let shown = if all {
                list.len()
            } else {
                SHOWN.min(list.len())
            };
            for urn in &list[..shown] {
                let _ = write!(out, "\n      {sign} {urn}");
            }
            if shown < list.len() {
                let _ = write!(
                    out,
                    "\n      {sign} ... and {} more (--verbose or --json lists all)",
                    list.len() - shown
                );
            }
        }
        if let Some(url) = &e.run_url {
            let _ = write!(out, "\n    run: {url}");
        }
        if let Some(h) = &e.lock_holder {
            let _ = write!(out, "\n    lock holder: {h}");
        }
    }
    out
}
