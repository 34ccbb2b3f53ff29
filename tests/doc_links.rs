//! Every relative link in the documentation leads somewhere: in `README.md`,
//! `CONTRIBUTING.md`, `CHANGELOG.md` and `docs/*.md`, each Markdown link or
//! image (`[text](target)`, `[label]: target`) whose target is not a URL
//! names a file or folder of the repository, and its `#anchor`, if any, is a
//! heading of that Markdown file (or of the same file, for `#anchor` alone)
//! as GitHub derives it: the heading's text lower-cased, every character but
//! letters, digits, spaces, `-` and `_` dropped, spaces turned into `-`, and
//! `-1`, `-2`, ... after a repeated one. Links inside code (fenced blocks,
//! backtick spans) are not links. A broken one fails with its file and line.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

/// A link found in a Markdown file.
#[derive(Debug, PartialEq)]
struct Link {
    line: usize,
    target: String,
}

/// `line` with its backtick code spans removed (a run of N backticks closes
/// only at the next run of exactly N; an unclosed run is kept as text).
fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
        let mut j = i + run;
        let mut closed = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let other = chars[j..].iter().take_while(|&&c| c == '`').count();
                if other == run {
                    closed = Some(j + other);
                    break;
                }
                j += other;
            } else {
                j += 1;
            }
        }
        match closed {
            Some(end) => i = end,
            None => {
                out.extend(&chars[i..i + run]);
                i += run;
            }
        }
    }
    out
}

/// The lines of `markdown` outside fenced code blocks, numbered from 1.
fn prose_lines(markdown: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match fence {
            Some(f) if trimmed.starts_with(f) => fence = None,
            Some(_) => {}
            None if trimmed.starts_with("```") => fence = Some("```"),
            None if trimmed.starts_with("~~~") => fence = Some("~~~"),
            None => out.push((i + 1, line)),
        }
    }
    out
}

/// The targets of the inline links and images (`](target)`) and reference
/// definitions (`[label]: target`) in `markdown`.
fn links(markdown: &str) -> Vec<Link> {
    let mut out = Vec::new();
    for (number, line) in prose_lines(markdown) {
        let line = without_code_spans(line);
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix('[') {
            if let Some((label, def)) = rest.split_once("]:") {
                if !label.is_empty() && !label.contains(']') {
                    if let Some(target) = def.split_whitespace().next() {
                        out.push(Link {
                            line: number,
                            target: target.trim_matches(['<', '>']).to_string(),
                        });
                    }
                    continue;
                }
            }
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            // the target ends at the `)` that balances the `(` (a title may follow a space)
            let mut depth = 0;
            let mut end = after.len();
            for (i, c) in after.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => {
                        end = i;
                        break;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            let inside = after[..end].trim();
            let target = match inside.strip_prefix('<') {
                Some(angled) => angled.split('>').next().unwrap_or(""),
                None => inside.split_whitespace().next().unwrap_or(""),
            };
            out.push(Link {
                line: number,
                target: target.to_string(),
            });
            rest = &after[end.min(after.len())..];
        }
    }
    out
}

/// The text a heading shows: links and images as their text, HTML tags and
/// code backticks dropped.
fn heading_text(raw: &str) -> String {
    let mut s = raw.to_string();
    // [text](url) and ![alt](url) -> text / alt
    while let Some(open) = s.find("](") {
        let Some(start) = s[..open].rfind('[') else {
            break;
        };
        let close = s[open..].find(')').map_or(s.len(), |i| open + i + 1);
        let text = s[start + 1..open].to_string();
        let start = if start > 0 && s[..start].ends_with('!') {
            start - 1
        } else {
            start
        };
        s.replace_range(start..close, &text);
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            '`' => {}
            _ => out.push(c),
        }
    }
    out
}

/// GitHub's anchor for a heading's text (before de-duplication).
fn slug(text: &str) -> String {
    heading_text(text)
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every anchor of `markdown`: its headings' (ATX `#`, and setext `===` /
/// `---` underlines), numbered as GitHub numbers repeats, and the `id` /
/// `name` of HTML elements.
fn anchors(markdown: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    let mut add = |base: String, out: &mut Vec<String>| {
        let n = seen.entry(base.clone()).or_insert(0);
        out.push(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    };
    let lines = prose_lines(markdown);
    for (k, (number, line)) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        let indent = line.len() - trimmed.len();
        if (1..=6).contains(&hashes)
            && indent < 4
            && trimmed[hashes..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace)
        {
            let text = trimmed[hashes..].trim();
            let text = text.trim_end_matches('#').trim_end();
            add(slug(text), &mut out);
        } else if let Some((next_number, next)) = lines.get(k + 1) {
            let underline = next.trim();
            let is_underline = !underline.is_empty()
                && (underline.chars().all(|c| c == '=') || underline.chars().all(|c| c == '-'));
            let paragraph = !trimmed.is_empty()
                && indent < 4
                && !trimmed.starts_with(['-', '*', '+', '|', '>'])
                && !trimmed.starts_with(|c: char| c.is_ascii_digit())
                && (k == 0 || lines[k - 1].1.trim().is_empty() || lines[k - 1].0 + 1 != *number);
            if is_underline && paragraph && *next_number == number + 1 {
                add(slug(trimmed), &mut out);
            }
        }
        for attr in ["id=\"", "name=\""] {
            let mut rest = *line;
            while let Some(at) = rest.find(attr) {
                let value = &rest[at + attr.len()..];
                if let Some(end) = value.find('"') {
                    if rest[..at].contains('<') {
                        out.push(value[..end].to_string());
                    }
                }
                rest = &rest[at + attr.len()..];
            }
        }
    }
    out
}

/// `path` with `.` and `..` resolved, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `%XX` escapes decoded (a link to `a%20b.md` names `a b.md`).
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `target` is a URL (or another scheme), which this test leaves alone.
fn is_external(target: &str) -> bool {
    let scheme_len = target.find(':').filter(|&i| {
        i > 1
            && target[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    scheme_len.is_some() || target.starts_with("//")
}

/// The broken links of the Markdown file `file` (relative to `root`), as
/// `file:line: target: why` reports, and how many links it holds.
/// `anchors_of` gives the anchors of a repository file (`None`: unreadable).
fn broken(
    root: &Path,
    file: &Path,
    markdown: &str,
    anchors_of: &mut dyn FnMut(&Path) -> Option<Vec<String>>,
) -> (usize, Vec<String>) {
    let mut report = Vec::new();
    let found = links(markdown);
    let checked = found.len();
    for link in found {
        let at = format!("{}:{}: {}", file.display(), link.line, link.target);
        if link.target.is_empty() {
            report.push(format!("{at}: an empty link"));
            continue;
        }
        if is_external(&link.target) {
            continue;
        }
        let (path, anchor) = match link.target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (link.target.as_str(), None),
        };
        let path = percent_decoded(path.split('?').next().unwrap_or(""));
        let resolved = if path.is_empty() {
            file.to_path_buf()
        } else if let Some(from_root) = path.strip_prefix('/') {
            normalize(Path::new(from_root))
        } else {
            normalize(&file.parent().unwrap_or(Path::new("")).join(&path))
        };
        // (an empty `resolved` is the repository's root folder, `./` from the root)
        if resolved.starts_with("..") || !root.join(&resolved).exists() {
            report.push(format!(
                "{at}: no such file or folder ({})",
                resolved.display()
            ));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        let anchor = percent_decoded(anchor);
        if resolved.extension().is_none_or(|e| e != "md") {
            let line_anchor = anchor.strip_prefix('L').is_some_and(|n| {
                n.split("-L")
                    .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
            });
            if !line_anchor {
                report.push(format!(
                    "{at}: an anchor into {}, which is not a Markdown file",
                    resolved.display()
                ));
            }
            continue;
        }
        match anchors_of(&resolved) {
            Some(list) if list.contains(&anchor) => {}
            Some(list) => report.push(format!(
                "{at}: {} has no heading #{anchor} (its anchors: {})",
                resolved.display(),
                list.join(", ")
            )),
            None => report.push(format!("{at}: {} cannot be read", resolved.display())),
        }
    }
    (checked, report)
}

/// The documentation files checked: the three at the root and `docs/*.md`.
fn documentation(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md"]
        .iter()
        .map(PathBuf::from)
        .collect();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("a docs/ folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_relative_link_in_the_documentation_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = documentation(root);
    assert!(
        files.len() >= 10,
        "README, CONTRIBUTING, CHANGELOG and the docs/ pages: {files:?}"
    );
    let mut cache: BTreeMap<PathBuf, Option<Vec<String>>> = BTreeMap::new();
    let mut anchors_of = |path: &Path| {
        cache
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                std::fs::read_to_string(root.join(path))
                    .ok()
                    .map(|t| anchors(&t))
            })
            .clone()
    };
    let mut report = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let (n, broken) = broken(root, file, &text, &mut anchors_of);
        checked += n;
        report.extend(broken);
    }
    // the README's map alone links every docs/ page
    assert!(checked >= 60, "only {checked} links found");
    assert!(
        report.is_empty(),
        "{} broken link(s):\n{}",
        report.len(),
        report.join("\n")
    );
}

/// Every docs/ page is reachable from the README's map in one click.
#[test]
fn the_readme_links_every_docs_page() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let targets: Vec<String> = links(&readme).into_iter().map(|l| l.target).collect();
    let pages: Vec<PathBuf> = documentation(root)
        .into_iter()
        .filter(|p| p.starts_with("docs"))
        .collect();
    assert!(!pages.is_empty());
    for page in &pages {
        let page = page.to_string_lossy().replace('\\', "/");
        assert!(
            targets
                .iter()
                .any(|t| t.split('#').next() == Some(page.as_str())),
            "README.md does not link {page}"
        );
    }
}

#[test]
fn anchors_follow_githubs_rules() {
    let cases = [
        (
            "When SST removes a stage (`sst remove` with `state.purge`)",
            "when-sst-removes-a-stage-sst-remove-with-statepurge",
        ),
        (
            "In a pipeline: `prepare --lock`, then `commit`",
            "in-a-pipeline-prepare---lock-then-commit",
        ),
        (
            "The way out of `STATE_CONFLICT`",
            "the-way-out-of-state_conflict",
        ),
        ("In `sst.config.ts`", "in-sstconfigts"),
        ("[Unreleased]", "unreleased"),
        ("[0.1.0](https://x/y) - 2025-01-02", "010---2025-01-02"),
        ("Ünïcode Überall", "ünïcode-überall"),
        (
            "Guarantees: kills, races, symlinks",
            "guarantees-kills-races-symlinks",
        ),
    ];
    for (heading, anchor) in cases {
        assert_eq!(slug(heading), anchor, "{heading}");
    }
    let md = "# Setup\n\n## Setup\n\n```\n# not a heading\n```\n#5971 not a heading\n\nTitle\n=====\n\n<a id=\"custom\"></a>\n## Setup ##\n";
    assert_eq!(
        anchors(md),
        ["setup", "setup-1", "title", "custom", "setup-2"]
    );
}

#[test]
fn a_broken_file_or_anchor_is_reported_and_code_is_not_a_link() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let md = "\
# Top

See [the CLI](docs/cli.md), [exit codes](docs/cli.md#output-and-exit-codes), [top](#top),
[a folder](examples/) and [a line](src/lib.rs#L1), [site](https://example.com/x#y).
![img](docs/nowhere.png) [gone](docs/gone.md) [bad anchor](docs/cli.md#no-such-heading)
[bad here](#nope) `[code](not/checked.md)`
[ref]: CHANGELOG.md#unreleased

```md
[in a block](not/checked/either.md)
```
[up and out](../outside.md) [anchor on code](src/lib.rs#top)
";
    let mut anchors_of = |path: &Path| {
        std::fs::read_to_string(root.join(path)).ok().map(|t| {
            anchors(if path == Path::new("README.md") {
                md
            } else {
                &t
            })
        })
    };
    let (checked, report) = broken(root, Path::new("README.md"), md, &mut anchors_of);
    assert_eq!(checked, 13, "{report:#?}");
    let targets: Vec<&str> = report
        .iter()
        .map(|r| r.split(": ").nth(1).unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "docs/nowhere.png",
            "docs/gone.md",
            "docs/cli.md#no-such-heading",
            "#nope",
            "../outside.md",
            "src/lib.rs#top",
        ],
        "{report:#?}"
    );
    assert!(report[0].starts_with("README.md:5: "), "{}", report[0]);
}
