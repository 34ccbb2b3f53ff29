//! Commands the user is told to run after a failure, spelled with this
//! run's own stage flags (`--stage`, and `--app`, `--cwd`, `--state-dir`,
//! `--config-dir`, `--passphrase` when they were given), so that they can
//! be run as written.

use crate::stage::project::{CommonOptions, StageContext};

/// `--stage <stage>` and every other stage flag `options` gave, shell-quoted.
pub fn stage_flags(options: &CommonOptions, ctx: &StageContext) -> String {
    let mut flags = vec![format!("--stage {}", quote(ctx.stage.as_str()))];
    let given = [
        ("--app", options.app.clone()),
        ("--cwd", options.cwd.as_ref().map(ToString::to_string)),
        ("--state-dir", options.state_dir.clone()),
        (
            "--config-dir",
            options.config_dir.as_ref().map(ToString::to_string),
        ),
        ("--passphrase", options.passphrase_mode.clone()),
        ("--state-branch", options.state_branch.clone()),
    ];
    for (flag, value) in given {
        if let Some(value) = value {
            flags.push(format!("{flag} {}", quote(&value)));
        }
    }
    flags.join(" ")
}

/// The two ways out of a state conflict, as commands: keep the branch's
/// state (`prepare --force`: this run's config-dir files are backed up
/// first) or keep this run's (`rollback --to` the rescue revision, a new
/// commit on `branch` of `remote`; for a removal of the stage, `sst remove`
/// again from the branch's state). `rescue`: the rescue branch (or commit).
pub fn after_conflict(
    options: &CommonOptions,
    ctx: &StageContext,
    rescue: &str,
    (remote, branch): (&str, &str),
    removal: bool,
) -> String {
    let flags = stage_flags(options, ctx);
    let refresh = format!("sst refresh --stage {}", quote(ctx.stage.as_str()));
    let place = match remote {
        "origin" => format!("--branch {}", quote(branch)),
        _ => format!("--branch {} --remote {}", quote(branch), quote(remote)),
    };
    let keep_branch = format!("`sst-local-state prepare {flags} --force` (it backs this run's config-dir files up, then restores the branch's)");
    if ctx.state_branch.is_some() {
        return format!(
            "Decide which state is right (compare them: `git diff {remote}/{branch} {rescue} -- {}`). \
To keep {remote}/{branch}'s: {keep_branch}, then `{refresh}` and deploy again. \
To keep this run's (rollback does not support a state branch yet): commit the rescue branch's state files on {branch} by hand (`git checkout {rescue} -- {}` in a checkout of {branch}, commit, push), then `{refresh}`.",
            quote(ctx.state_dir.as_str()),
            quote(ctx.state_dir.as_str())
        );
    }
    if removal {
        return format!(
            "This run removed the stage (SST's purge); {remote}/{branch} changed it meanwhile. To keep {remote}/{branch}'s state: {keep_branch}, then `{refresh}`. \
To remove the stage after all: the same prepare, then `sst remove --stage {}` again and `sst-local-state commit {flags} {place}`.",
            quote(ctx.stage.as_str())
        );
    }
    format!(
        "Decide which state is right (compare them: `sst-local-state show {flags} --rev {rescue}` and `sst-local-state show {flags} --rev {remote}/{branch}`). \
To keep {remote}/{branch}'s: {keep_branch}, then `{refresh}` and deploy again. \
To keep this run's: `sst-local-state rollback {flags} --to {rescue} {place}` (a new commit on {branch} with this run's state files, which SST's config dir holds already), then `{refresh}`."
    )
}

/// `value` as one shell word: as it is when it holds only safe characters,
/// else in single quotes.
fn quote(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("/tmp/cfg/sst"), "/tmp/cfg/sst");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
