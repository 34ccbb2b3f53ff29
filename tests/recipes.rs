//! Every `sst-local-state <command> …` shown to users parses with the real CLI
//! definition (`sst_local_state::Cli`): the CI recipes (`examples/*.yml`),
//! the example scripts (`examples/*.ts`) and the code blocks of the
//! documentation (`README.md`, `CONTRIBUTING.md`, `docs/*.md`). A recipe that
//! shows a flag the CLI lacks (or a synopsis that lists one) fails here with
//! its file, line and clap's error.
//!
//! An invocation is the word `sst-local-state` (after `npx`, `bunx`, a path, …)
//! followed by a subcommand or a flag (by any word after a launcher such as
//! `npx`, so that a misspelt subcommand fails); it ends at the end of the (joined) line,
//! a shell operator, a backtick or a quote left open (the end of an enclosing
//! string). `#` comments are left out; CI variables (`${{ … }}`, `$(VAR)`,
//! `$VAR`, `${VAR}`) and `<placeholders>` stand for a value. A synopsis line
//! (`[--flag <v>]` groups) is parsed without its groups and with each group.
//! Prose naming a subcommand right after the tool's name counts as an
//! invocation, so prose says "a commit by sst-local-state" instead.

use std::path::Path;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use sst_local_state::Cli;

const TOOL: &str = "sst-local-state";
/// What a variable or placeholder stands for: a value every flag accepts
/// (names, paths and durations such as `--lock-timeout`).
const VALUE: &str = "1h";
/// Commands that run the tool's `bin`.
const LAUNCHERS: &[&str] = &[
    "npx",
    "npx -y",
    "npx --yes",
    "bunx",
    "bun x",
    "npm exec",
    "pnpm exec",
    "pnpm dlx",
    "yarn",
];

/// A command found in a file, and the argument lists (without the program) it stands for.
#[derive(Debug)]
struct Invocation {
    line: usize,
    text: String,
    argvs: Vec<Vec<String>>,
}

/// A shell word, with whether it opened or closed a synopsis group (`[`, `]` unquoted).
#[derive(Debug, PartialEq)]
struct Word {
    text: String,
    opens: bool,
    closes: bool,
}

fn subcommands() -> Vec<String> {
    let mut cli = Cli::command();
    cli.build();
    cli.get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Lines (numbered from 1) joined where one ends with a `\` continuation.
fn logical_lines<'a>(lines: impl IntoIterator<Item = (usize, &'a str)>) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (number, line) in lines {
        let (start, mut joined) = match pending.take() {
            Some((start, text)) => (start, text + " " + line.trim_start()),
            None => (number, line.to_string()),
        };
        if joined.trim_end().ends_with('\\') {
            joined = joined.trim_end().trim_end_matches('\\').to_string();
            pending = Some((start, joined));
        } else {
            out.push((start, joined));
        }
    }
    out.extend(pending);
    out
}

/// The lines inside the Markdown file's fenced code blocks.
fn code_block_lines(markdown: &str) -> Vec<(usize, &str)> {
    let mut inside = false;
    let mut lines = Vec::new();
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// `line` without its `#` comment (a `#` that starts a word outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') if previous.is_none_or(char::is_whitespace) => return &line[..i],
            _ => {}
        }
        previous = Some(c);
    }
    line
}

/// The end of the `open` … `close` span starting at `start` (balanced), or the end of `s`.
fn span_end(s: &str, start: usize, open: &str, close: &str) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < s.len() {
        if s[i..].starts_with(open) {
            depth += 1;
            i += open.len();
        } else if s[i..].starts_with(close) {
            depth -= 1;
            i += close.len();
            if depth == 0 {
                return i;
            }
        } else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    s.len()
}

/// `s` with CI and shell variables and `<placeholders>` replaced by [`VALUE`],
/// and a choice of words (`<age|env|plain>`) by its first word.
fn expand(s: &str) -> String {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let choice_len = rest.strip_prefix('<').map_or(0, |inner| {
            inner
                .find(|c: char| !(name_char(c) || c == '-' || c == '|'))
                .filter(|&n| inner[..n].contains('|') && inner[n..].starts_with('>'))
                .unwrap_or(0)
        });
        if choice_len > 0 {
            out.push_str(rest[1..].split('|').next().unwrap());
            i += choice_len + 2;
            continue;
        }
        let end = if rest.starts_with("${{") {
            Some(i + span_end(rest, 0, "${{", "}}"))
        } else if rest.starts_with("$(") {
            Some(i + span_end(rest, 1, "(", ")"))
        } else if rest.starts_with("${") {
            Some(i + span_end(rest, 1, "{", "}"))
        } else if rest.starts_with('$') && rest[1..].starts_with(name_char) {
            Some(i + 1 + rest[1..].find(|c| !name_char(c)).unwrap_or(rest.len() - 1))
        } else if let Some(inner) = rest.strip_prefix('<') {
            let name_len = inner
                .find(|c: char| !(name_char(c) || c == '-'))
                .unwrap_or(inner.len());
            (name_len > 0 && inner[name_len..].starts_with('>')).then_some(i + name_len + 2)
        } else {
            None
        };
        match end {
            Some(end) => {
                out.push_str(VALUE);
                i = end;
            }
            None => {
                let c = rest.chars().next().unwrap();
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// Shell words of `s` up to the first shell operator, backtick, comment or quote
/// left open (simple quoting: `'…'`, `"…"` with `\` escapes, `\` outside quotes).
fn shell_words(s: &str) -> Vec<Word> {
    let chars: Vec<char> = s.chars().collect();
    let mut words = Vec::new();
    let mut word: Option<Word> = None;
    let mut i = 0;
    let finish = |word: &mut Option<Word>, words: &mut Vec<Word>, last_unquoted: Option<char>| {
        if let Some(mut w) = word.take() {
            w.closes = last_unquoted == Some(']');
            if w.closes {
                w.text.pop();
            }
            words.push(w);
        }
    };
    let mut last_unquoted = None;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            finish(&mut word, &mut words, last_unquoted);
            i += 1;
            continue;
        }
        if matches!(c, ';' | '&' | '|' | '(' | ')' | '<' | '>' | '`')
            || (c == '#' && word.is_none())
        {
            break;
        }
        let w = word.get_or_insert_with(|| Word {
            text: String::new(),
            opens: c == '[',
            closes: false,
        });
        match c {
            '\'' | '"' => {
                let Some(len) = chars[i + 1..].iter().position(|&q| q == c) else {
                    break; // the closing quote of an enclosing string: the command ended
                };
                let mut j = i + 1;
                while j < i + 1 + len {
                    if c == '"' && chars[j] == '\\' && j + 1 < i + 1 + len {
                        j += 1;
                    }
                    w.text.push(chars[j]);
                    j += 1;
                }
                i += len + 2;
                last_unquoted = None;
            }
            '\\' if i + 1 < chars.len() => {
                w.text.push(chars[i + 1]);
                i += 2;
                last_unquoted = None;
            }
            _ => {
                if !(c == '[' && w.opens && w.text.is_empty()) {
                    w.text.push(c);
                }
                i += 1;
                last_unquoted = Some(c);
            }
        }
    }
    finish(&mut word, &mut words, last_unquoted);
    words
}

/// The argument lists a command line stands for: the words outside `[…]`
/// groups, alone and with each group.
fn argument_lists(words: Vec<Word>) -> Result<Vec<Vec<String>>, String> {
    let mut base = Vec::new();
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut in_group = false;
    for w in words {
        if w.opens {
            if in_group {
                return Err("nested [ ] groups".into());
            }
            in_group = true;
            groups.push(Vec::new());
        }
        if !w.text.is_empty() {
            match groups.last_mut() {
                Some(group) if in_group => group.push(w.text),
                _ => base.push(w.text),
            }
        }
        if w.closes {
            if !in_group {
                return Err("] without [".into());
            }
            in_group = false;
        }
    }
    if in_group {
        return Err("[ without ]".into());
    }
    let mut lists = vec![base.clone()];
    lists.extend(groups.into_iter().map(|g| [base.clone(), g].concat()));
    Ok(lists)
}

/// The invocations of the tool in `lines`.
fn invocations(lines: Vec<(usize, String)>, subcommands: &[String]) -> Vec<Invocation> {
    let mut found = Vec::new();
    for (number, line) in lines {
        let line = strip_comment(&line);
        for (at, _) in line.match_indices(TOOL) {
            let before = line[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                continue;
            }
            let mut rest = &line[at + TOOL.len()..];
            if let Some(version) = rest.strip_prefix('@') {
                rest = &version[version.find(char::is_whitespace).unwrap_or(version.len())..];
            }
            if !rest.starts_with(char::is_whitespace) {
                continue;
            }
            // after a launcher any word is taken as the subcommand (a misspelt one fails)
            let launched = LAUNCHERS.iter().any(|l| line[..at].trim_end().ends_with(l));
            let first = rest.split_whitespace().next().unwrap_or("");
            if !(launched || subcommands.iter().any(|s| s == first) || first.starts_with('-')) {
                continue;
            }
            let words = shell_words(&expand(rest));
            let argvs = argument_lists(words).unwrap_or_else(|e| panic!("line {number}: {e}"));
            found.push(Invocation {
                line: number,
                text: format!("{TOOL}{}", rest.trim_end()),
                argvs,
            });
        }
    }
    found
}

/// clap's verdict on `argv`; `--help` and `--version` count as parsed.
fn parse(argv: &[String]) -> Result<(), String> {
    match Cli::try_parse_from(std::iter::once(TOOL.to_string()).chain(argv.iter().cloned())) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => Ok(()),
        Err(e) => Err(e.render().to_string()),
    }
}

/// The failures among `found`, as `file:line` reports.
fn failures(file: &str, found: &[Invocation]) -> Vec<String> {
    let mut out = Vec::new();
    for inv in found {
        for argv in &inv.argvs {
            if let Err(e) = parse(argv) {
                out.push(format!(
                    "{file}:{}: {}\n  parsed as: {argv:?}\n  {}",
                    inv.line,
                    inv.text,
                    e.trim_end().replace('\n', "\n  ")
                ));
            }
        }
    }
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The recipes that use the GitHub Action instead of the CLI (no invocation to parse): each
/// must use the action.
const ACTION_RECIPES: &[&str] = &["github-actions.yml"];

/// The recipes and scripts that must exist, and the subcommands each must show.
const EXPECTED: &[(&str, &[&str])] = &[
    ("github-actions-cli.yml", &["prepare", "commit"]),
    ("azure-pipelines.yml", &["prepare", "commit"]),
    ("gitlab-ci.yml", &["prepare", "commit"]),
    ("bitbucket-pipelines.yml", &["prepare", "commit"]),
    ("deploy.ts", &["prepare", "commit"]),
    ("sst.config.ts", &["commit"]),
];

#[test]
fn every_invocation_in_the_examples_and_the_documentation_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let subcommands = subcommands();
    let mut report = Vec::new();
    let mut checked = 0;

    let mut files: Vec<_> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e == "yml" || e == "yaml" || e == "ts")
        })
        .collect();
    files.sort();
    for (name, _) in EXPECTED {
        assert!(
            files.iter().any(|p| p.ends_with(name)),
            "examples/{name} is missing"
        );
    }
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = read(path);
        if ACTION_RECIPES.contains(&name.as_str()) {
            assert!(
                text.contains("/sst-local-state@v0"),
                "examples/{name}: does not use the action"
            );
            continue;
        }
        let found = invocations(
            logical_lines(text.lines().enumerate().map(|(i, l)| (i + 1, l))),
            &subcommands,
        );
        // each file shows at least one command, and the ones it is there for
        assert!(
            !found.is_empty(),
            "examples/{name}: no {TOOL} invocation found"
        );
        let wanted = EXPECTED
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[][..], |(_, w)| w);
        for sub in wanted {
            assert!(
                found
                    .iter()
                    .any(|inv| inv.argvs[0].iter().any(|a| a == sub)),
                "examples/{name}: no `{TOOL} {sub}` found in {found:#?}"
            );
        }
        checked += found.len();
        report.extend(failures(&format!("examples/{name}"), &found));
    }

    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    assert!(docs.len() >= 5, "docs/*.md: {docs:?}");
    let mut shown: Vec<&String> = Vec::new();
    for path in [root.join("README.md"), root.join("CONTRIBUTING.md")]
        .into_iter()
        .chain(docs)
    {
        let name = path.strip_prefix(root).unwrap().display().to_string();
        let text = read(&path);
        let found = invocations(logical_lines(code_block_lines(&text)), &subcommands);
        let firsts = || found.iter().filter_map(|inv| inv.argvs[0].first());
        if name == "README.md" {
            // the user's path: set up once, then prepare, deploy, commit
            for sub in ["init", "prepare", "commit", "run"] {
                assert!(
                    firsts().any(|s| s == sub),
                    "README.md: no code block shows `{TOOL} {sub}`: {found:#?}"
                );
            }
        }
        if name == "docs/cli.md" {
            // the CLI reference shows every command
            for sub in subcommands.iter().filter(|s| *s != "help") {
                assert!(
                    firsts().any(|s| s == sub),
                    "docs/cli.md: no synopsis line for `{TOOL} {sub}`"
                );
            }
        }
        shown.extend(subcommands.iter().filter(|sub| firsts().any(|s| s == *sub)));
        checked += found.len();
        report.extend(failures(&name, &found));
    }
    for sub in subcommands.iter().filter(|s| *s != "help") {
        assert!(
            shown.contains(&sub),
            "no code block of the documentation shows `{TOOL} {sub}`"
        );
    }

    assert!(checked >= 20, "only {checked} invocations found");
    assert!(
        report.is_empty(),
        "{} invocation(s) the CLI rejects:\n\n{}",
        report.len(),
        report.join("\n\n")
    );
}

/// The extraction itself, on the forms the recipes use, and a bad flag is caught.
#[test]
fn extraction_reads_ci_syntax_and_a_wrong_flag_fails() {
    let subs = subcommands();
    let text = r#"
      - run: npx sst-local-state prepare --stage "${{ inputs.stage || 'production' }}"  # why
      # npx sst-local-state commit --no-such-flag (a comment: not checked)
      - script: npx sst-local-state commit --stage $(STAGE) --message "chore: {stage} [skip ci]"
      - if [ "$CI_JOB_STATUS" = canceled ]; then npx sst-local-state@0.1 commit --stage "$STAGE"; fi
      - npx sst-local-state status \
          --stage ${STAGE} --json | jq .
      // `bunx sst-local-state prepare --stage <stage>`, then "npx sst-local-state commit --stage prod".
      sst-local-state commit --stage <s> [--message <m>] [--branch <b>] [--no-push]
      sst-local-state status --stage <s> [--passphrase <age|env|plain>]
      an sst-local-state-rescue branch; sst-local-state error[CODE]; import("sst-local-state")
    "#;
    let found = invocations(
        logical_lines(text.lines().enumerate().map(|(i, l)| (i + 1, l))),
        &subs,
    );
    let argvs: Vec<Vec<Vec<String>>> = found.iter().map(|f| f.argvs.clone()).collect();
    let v = |s: &[&str]| s.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert_eq!(
        argvs,
        vec![
            vec![v(&["prepare", "--stage", VALUE])],
            vec![v(&[
                "commit",
                "--stage",
                VALUE,
                "--message",
                "chore: {stage} [skip ci]"
            ])],
            vec![v(&["commit", "--stage", VALUE])],
            vec![v(&["status", "--stage", VALUE, "--json"])],
            vec![v(&["prepare", "--stage", VALUE])],
            vec![v(&["commit", "--stage", "prod"])],
            vec![
                v(&["commit", "--stage", VALUE]),
                v(&["commit", "--stage", VALUE, "--message", VALUE]),
                v(&["commit", "--stage", VALUE, "--branch", VALUE]),
                v(&["commit", "--stage", VALUE, "--no-push"]),
            ],
            vec![
                v(&["status", "--stage", VALUE]),
                v(&["status", "--stage", VALUE, "--passphrase", "age"]),
            ],
        ]
    );
    assert_eq!(
        found[3].line, 6,
        "a continued line is reported where it starts"
    );
    assert!(
        failures("t", &found).is_empty(),
        "{:#?}",
        failures("t", &found)
    );

    let bad = invocations(
        vec![
            (7, "- run: npx sst-local-state prepare --stag prod".into()),
            (8, "- run: npx sst-local-state comit --stage prod".into()),
        ],
        &subs,
    );
    let report = failures("examples/x.yml", &bad);
    assert_eq!(report.len(), 2, "{report:?}");
    assert!(report[1].contains("comit"), "{}", report[1]);
    assert!(
        report[0].starts_with("examples/x.yml:7: sst-local-state prepare --stag prod")
            && report[0].contains("--stag"),
        "{}",
        report[0]
    );
}

/// The README's section for a fresh clone shows the two commands that run the
/// demo and the whole test suite, as `package.json` defines them, and
/// `.ci/run` (the CI's entry point) runs the second.
#[test]
fn the_readme_shows_the_demo_and_the_test_suite_that_ci_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = read(&root.join("README.md"));
    let block: Vec<&str> = code_block_lines(&readme)
        .into_iter()
        .map(|(_, l)| strip_comment(l).trim())
        .collect();
    for command in ["npm ci && npm run demo", "npm ci && npm test"] {
        assert!(
            block.contains(&command),
            "README.md: no code block line `{command}`"
        );
    }
    let package: serde_json::Value =
        serde_json::from_str(&read(&root.join("package.json"))).unwrap();
    for script in ["demo", "test"] {
        assert!(
            package["scripts"][script].is_string(),
            "package.json has no script {script}"
        );
    }
    let ci = read(&root.join(".ci/run"));
    let lines: Vec<&str> = ci.lines().map(str::trim).collect();
    let install = lines.iter().position(|l| l.starts_with("npm ci"));
    let test = lines.iter().position(|l| *l == "npm test");
    assert!(
        install.is_some() && test.is_some() && install < test,
        ".ci/run must run `npm ci`, then `npm test`:\n{ci}"
    );
}
