//! History: a stage's state changes from git history, newest first. Only
//! commits that change one of the stage's own files in the repository
//! (`app/<stage>.json`, `passphrase/<stage>.age|.json`,
//! `secret/<stage>.json`) are listed; each with what its trailers recorded
//! (SST command, update id, exit code, CI run) and the resources added,
//! removed and changed against the stage's state before it (by URN;
//! changed = `inputs` or `outputs` differ). Reads git objects only.
//!
//! The walk is cheap on long histories: each commit object is read once,
//! raw (tree, parents, time from its header), to order them children first;
//! per commit the state folder's tree id is found by scanning the raw trees
//! on its path and compared with its parent's, the files' blob ids looked
//! up only when the folder changed; a checkpoint blob is read only for the
//! commits listed, and each distinct blob once. A shallow clone's history
//! ends at its boundary.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::time::Instant;

use git2::{Oid, Repository};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::git::gitx;
use crate::git::remote::git_error;
use crate::stage::layout::Kind;
use crate::stage::project::{self, CommonOptions, StageContext};

/// What [`history`] takes.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// Stage, app, project and folders.
    pub common: CommonOptions,
    /// At most this many entries (newest first); all when `None`.
    pub limit: Option<usize>,
    /// Where the walk starts (a revision git understands); default `HEAD`.
    pub rev: Option<String>,
}

/// One trailer of a commit message (`Key: value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trailer {
    /// The key (`SST-Update-Id`).
    pub key: String,
    /// The value.
    pub value: String,
}

/// One commit that changed the stage's state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The commit id.
    pub commit: String,
    /// The commit's author time, RFC 3339 UTC.
    pub time: String,
    /// Author name.
    pub author: String,
    /// Author e-mail.
    pub email: String,
    /// The message's first line.
    pub subject: String,
    /// The stage's files this commit changed.
    pub files: Vec<Kind>,
    /// `SST-Command` (deploy, remove, refresh, ...).
    pub command: Option<String>,
    /// `SST-Update-Id`: SST's update id of the run.
    pub update_id: Option<String>,
    /// `Run-Exit-Code` (or `SST-Exit-Code`): the exit code of the wrapped command.
    pub exit_code: Option<i32>,
    /// `SST-Errors`: how many resource errors SST recorded.
    pub errors: Option<u32>,
    /// `CI-Run`: the CI run's URL.
    pub run_url: Option<String>,
    /// `Lock-Holder` (or `Lock-User`@`Lock-Host`): who held the stage lock.
    pub lock_holder: Option<String>,
    /// Every trailer of the message, in order.
    pub trailers: Vec<Trailer>,
    /// Resources in the checkpoint after this commit (`None`: no checkpoint, or an invalid one).
    pub resources: Option<u32>,
    /// Pending operations in the checkpoint after this commit.
    pub pending_operations: Option<u32>,
    /// Resources before this commit (its first parent), when there was a checkpoint.
    pub resources_before: Option<u32>,
    /// URNs new in this commit.
    pub added: Vec<String>,
    /// URNs gone in this commit.
    pub removed: Vec<String>,
    /// URNs whose inputs or outputs changed in this commit.
    pub changed: Vec<String>,
    /// Why the checkpoint of this commit could not be read, if it could not.
    pub invalid: Option<String>,
}

/// The result of [`history`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryReport {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The stage's paths that were followed, relative to the repository's root.
    pub paths: Vec<String>,
    /// The commits that changed them, newest first.
    pub entries: Vec<HistoryEntry>,
    /// How many commits were walked.
    pub commits_walked: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// The stage's files followed: the kind and the path below the state folder.
fn stage_files(ctx: &StageContext) -> Vec<(Kind, String)> {
    let s = ctx.stage.as_str();
    vec![
        (Kind::App, format!("app/{s}.json")),
        (Kind::Passphrase, format!("passphrase/{s}.age")),
        (Kind::Passphrase, format!("passphrase/{s}.json")),
        (Kind::Secret, format!("secret/{s}.json")),
    ]
}

/// Blob ids of the followed files in one commit (`None`: absent).
type Entries = Rc<Vec<Option<Oid>>>;

/// Looks the followed files up in commits, memoised by commit and by the
/// state folder's tree id.
struct Lookup<'r> {
    repo: &'r Repository,
    odb: git2::Odb<'r>,
    dir: String,
    files: Vec<String>,
    by_commit: HashMap<Oid, Entries>,
    by_dir: HashMap<Option<Oid>, Entries>,
}

impl Lookup<'_> {
    /// The state folder's tree id in the tree `root` (raw object reads: no
    /// tree is parsed beyond the entries on the way).
    fn dir_tree(&self, root: Oid) -> Result<Option<Oid>> {
        let mut id = root;
        for name in self.dir.split('/').filter(|n| !n.is_empty()) {
            let tree = self
                .odb
                .read(id)
                .map_err(|e| git_error("reading a tree", &e))?;
            match tree_entry(tree.data(), name.as_bytes()) {
                Some((true, sub)) => id = sub,
                _ => return Ok(None),
            }
        }
        Ok(Some(id))
    }

    fn entries(&mut self, commit: Oid, tree: Oid) -> Result<Entries> {
        if let Some(e) = self.by_commit.get(&commit) {
            return Ok(e.clone());
        }
        let dir = self.dir_tree(tree)?;
        let entries = match self.by_dir.get(&dir) {
            Some(e) => e.clone(),
            None => {
                let found = match dir {
                    None => vec![None; self.files.len()],
                    Some(id) => {
                        let sub = self
                            .repo
                            .find_tree(id)
                            .map_err(|e| git_error("reading a tree", &e))?;
                        self.files
                            .iter()
                            .map(|f| {
                                sub.get_path(std::path::Path::new(f))
                                    .ok()
                                    .filter(|e| e.kind() == Some(git2::ObjectType::Blob))
                                    .map(|e| e.id())
                            })
                            .collect()
                    }
                };
                let found = Rc::new(found);
                self.by_dir.insert(dir, found.clone());
                found
            }
        };
        self.by_commit.insert(commit, entries.clone());
        Ok(entries)
    }
}

/// In a raw tree object, the entry `name`: (is a tree, its id).
fn tree_entry(mut data: &[u8], name: &[u8]) -> Option<(bool, Oid)> {
    // entries: "<octal mode> <name>\0<20-byte id>"
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ')?;
        let nul = space + data[space..].iter().position(|&b| b == 0)?;
        let id = data.get(nul + 1..nul + 21)?;
        if &data[space + 1..nul] == name {
            return Some((&data[..space] == b"40000", Oid::from_bytes(id).ok()?));
        }
        data = &data[nul + 21..];
    }
    None
}

/// From a raw commit object: its tree, parents and committer time.
fn commit_header(data: &[u8]) -> Option<(Oid, Vec<Oid>, i64)> {
    let (mut tree, mut parents, mut time) = (None, Vec::new(), 0);
    for line in data.split(|&b| b == b'\n') {
        if line.is_empty() {
            break;
        }
        let hex = |rest: &[u8]| {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|h| Oid::from_str(h).ok())
        };
        if let Some(rest) = line.strip_prefix(b"tree ") {
            tree = hex(rest);
        } else if let Some(rest) = line.strip_prefix(b"parent ") {
            parents.push(hex(rest)?);
        } else if let Some(rest) = line.strip_prefix(b"committer ") {
            // "<name> <<email>> <seconds> <tz>"
            let mut fields = rest.rsplit(|&b| b == b' ');
            fields.next();
            time = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
        }
    }
    Some((tree?, parents, time))
}

/// One commit of the walk.
struct Node {
    time: i64,
    tree: Oid,
    /// The parents present in the repository (a shallow clone lacks those past its boundary).
    parents: Vec<Oid>,
    /// Children not emitted yet.
    pending_children: u32,
}

/// The commits reachable from a start, emitted children before parents,
/// newest commit time first among those ready (what `git log --topo-order`
/// guarantees). Each commit object is read once.
struct Graph {
    nodes: HashMap<Oid, Node>,
    ready: std::collections::BinaryHeap<(i64, Oid)>,
}

impl Graph {
    fn read(repo: &Repository, start: Oid) -> Result<Graph> {
        let odb = repo
            .odb()
            .map_err(|e| git_error("opening the object store", &e))?;
        let mut nodes: HashMap<Oid, Node> = HashMap::new();
        let mut stack = vec![start];
        while let Some(oid) = stack.pop() {
            if nodes.contains_key(&oid) {
                continue;
            }
            let raw = odb
                .read(oid)
                .map_err(|e| git_error("reading a commit", &e))?;
            let (tree, parents, time) = match commit_header(raw.data()) {
                Some(h) => h,
                None => {
                    // an unusual header: let libgit2 parse it
                    let c = repo
                        .find_commit(oid)
                        .map_err(|e| git_error("reading a commit", &e))?;
                    (c.tree_id(), c.parent_ids().collect(), c.time().seconds())
                }
            };
            let parents: Vec<Oid> = parents
                .into_iter()
                .filter(|p| nodes.contains_key(p) || odb.exists(*p))
                .collect();
            stack.extend(parents.iter().copied());
            nodes.insert(
                oid,
                Node {
                    time,
                    tree,
                    parents,
                    pending_children: 0,
                },
            );
        }
        let edges: Vec<Oid> = nodes.values().flat_map(|n| n.parents.clone()).collect();
        for p in edges {
            if let Some(n) = nodes.get_mut(&p) {
                n.pending_children += 1;
            }
        }
        let mut ready = std::collections::BinaryHeap::new();
        ready.push((nodes[&start].time, start));
        Ok(Graph { nodes, ready })
    }

    fn next(&mut self) -> Option<Oid> {
        let (_, oid) = self.ready.pop()?;
        for p in self.nodes[&oid].parents.clone() {
            let n = self.nodes.get_mut(&p)?;
            n.pending_children -= 1;
            if n.pending_children == 0 {
                self.ready.push((n.time, p));
            }
        }
        Some(oid)
    }
}

/// A checkpoint reduced to what history compares.
#[derive(Debug, Default)]
struct Parsed {
    resources: u32,
    pending_operations: u32,
    /// URN -> hash of its inputs and outputs.
    by_urn: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct RawTop<'a> {
    version: Option<IgnoredAny>,
    #[serde(borrow)]
    checkpoint: Option<RawCheckpoint<'a>>,
}

#[derive(Deserialize)]
struct RawCheckpoint<'a> {
    #[serde(borrow)]
    latest: Option<RawLatest<'a>>,
}

#[derive(Deserialize)]
struct RawLatest<'a> {
    #[serde(borrow)]
    resources: Option<Vec<RawResource<'a>>>,
    pending_operations: Option<Vec<IgnoredAny>>,
}

#[derive(Deserialize)]
struct RawResource<'a> {
    urn: Option<String>,
    #[serde(borrow)]
    inputs: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    outputs: Option<&'a serde_json::value::RawValue>,
}

/// Parses a checkpoint: its counts and, per URN, a hash of inputs and outputs.
fn parse_checkpoint(bytes: &[u8]) -> std::result::Result<Parsed, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("the checkpoint is empty".into());
    }
    let top: RawTop<'_> =
        serde_json::from_slice(bytes).map_err(|e| format!("not a valid checkpoint: {e}"))?;
    if top.version.is_none() {
        return Err("no `version` field".into());
    }
    let checkpoint = top.checkpoint.ok_or("no `checkpoint` object")?;
    let mut parsed = Parsed::default();
    if let Some(latest) = checkpoint.latest {
        parsed.pending_operations = latest.pending_operations.map_or(0, |p| p.len() as u32);
        for r in latest.resources.unwrap_or_default() {
            parsed.resources += 1;
            let mut h = std::collections::hash_map::DefaultHasher::new();
            r.inputs.map(|v| v.get()).hash(&mut h);
            r.outputs.map(|v| v.get()).hash(&mut h);
            if let Some(urn) = r.urn {
                parsed.by_urn.insert(urn, h.finish());
            }
        }
    }
    Ok(parsed)
}

/// The project's repository and the project root's path inside it.
pub(crate) fn open_repo(ctx: &StageContext) -> Result<(Repository, camino::Utf8PathBuf)> {
    let repo = gitx::discover(&ctx.project_root)?;
    let workdir = gitx::workdir(&repo, &ctx.project_root)?;
    let rel_root = gitx::relative_to(&workdir, &ctx.project_root)?;
    Ok((repo, rel_root))
}

/// The commit `rev` names (`INVALID_OPTION`, as `--rev` / `options.rev`, when none).
pub(crate) fn commit_at<'r>(
    repo: &'r Repository,
    rev: &str,
    caller: crate::stage::project::Caller,
) -> Result<git2::Commit<'r>> {
    crate::git::revision::commit_named(repo, rev)
        .map_err(|reason| Error::option(caller.name("rev", "rev"), reason))
}

/// A commit's author time, RFC 3339 UTC (any date git accepts; see [`crate::utc`]).
pub(crate) fn author_time(commit: &git2::Commit<'_>) -> String {
    crate::utc::rfc3339(commit.author().when().seconds())
}

/// The stage's state changes, newest first. Reads git objects only.
pub fn history(options: &HistoryOptions, env: &Env) -> Result<HistoryReport> {
    let started = Instant::now();
    let ctx = project::resolve(&options.common, env)?;
    ctx.refuse_state_branch("history")?;
    let (repo, rel_root) = open_repo(&ctx)?;
    let followed = Followed::of(&ctx, &rel_root);
    if options.rev.is_none() && repo.head().is_err() {
        // no commit yet: no history
        return Ok(followed.report(&ctx, Vec::new(), 0, started));
    }
    let rev = options.rev.as_deref().unwrap_or("HEAD");
    let start = commit_at(&repo, rev, options.common.caller)?;
    let mut graph = Graph::read(&repo, start.id())?;
    let mut lookup = Lookup::new(&repo, &followed)?;
    let walk = walk(&mut graph, &mut lookup, options.limit)?;
    let mut checkpoints = Checkpoints::new(&repo);
    let entries = walk
        .changes
        .iter()
        .map(|change| entry(&repo, &followed.files, &mut checkpoints, change))
        .collect::<Result<Vec<_>>>()?;
    Ok(followed.report(&ctx, entries, walk.walked, started))
}

/// The stage's files that history follows, and where.
struct Followed {
    /// The state folder's path in the repository's tree.
    dir: String,
    /// Each file's kind and path below the state folder.
    files: Vec<(Kind, String)>,
}

impl Followed {
    /// The files of `ctx`'s stage, in the project at `rel_root` of its repository.
    fn of(ctx: &StageContext, rel_root: &camino::Utf8Path) -> Followed {
        Followed {
            dir: gitx::tree_path(rel_root, &ctx.state_dir),
            files: stage_files(ctx),
        }
    }

    /// The files' paths from the repository's root.
    fn paths(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|(_, f)| {
                if self.dir.is_empty() {
                    f.clone()
                } else {
                    format!("{}/{f}", self.dir)
                }
            })
            .collect()
    }

    /// The report of a walk over `walked` commits that found `entries`.
    fn report(
        &self,
        ctx: &StageContext,
        entries: Vec<HistoryEntry>,
        walked: u64,
        started: Instant,
    ) -> HistoryReport {
        HistoryReport {
            app: ctx.app.to_string(),
            stage: ctx.stage.to_string(),
            paths: self.paths(),
            entries,
            commits_walked: walked,
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }
}

impl<'r> Lookup<'r> {
    /// Looks up `followed`'s files in `repo`, nothing memoised yet.
    fn new(repo: &'r Repository, followed: &Followed) -> Result<Lookup<'r>> {
        Ok(Lookup {
            repo,
            odb: repo
                .odb()
                .map_err(|e| git_error("opening the object store", &e))?,
            dir: followed.dir.clone(),
            files: followed.files.iter().map(|(_, f)| f.clone()).collect(),
            by_commit: HashMap::new(),
            by_dir: HashMap::new(),
        })
    }
}

/// A commit that changed the followed files.
struct Change {
    /// The commit.
    oid: Oid,
    /// The followed files in it.
    now: Entries,
    /// The followed files in its first parent (None: a root commit).
    before: Option<Entries>,
}

/// What a walk found.
struct Walk {
    /// The commits listed, newest first.
    changes: Vec<Change>,
    /// How many commits were walked.
    walked: u64,
}

/// Walks `graph` until `limit` changes are found (all without one).
fn walk(graph: &mut Graph, lookup: &mut Lookup, limit: Option<usize>) -> Result<Walk> {
    let mut changes = Vec::new();
    let mut walked = 0u64;
    while let Some(oid) = graph.next() {
        if limit.is_some_and(|n| changes.len() >= n) {
            break;
        }
        walked += 1;
        let node = &graph.nodes[&oid];
        let now = lookup.entries(oid, node.tree)?;
        let mut parents = Vec::new();
        for p in &node.parents {
            parents.push(lookup.entries(*p, graph.nodes[p].tree)?);
        }
        // listed unless it equals one of its parents (as `git log -- <paths>` simplifies merges)
        let touches = if parents.is_empty() {
            now.iter().any(Option::is_some)
        } else {
            parents.iter().all(|p| p != &now)
        };
        if touches {
            changes.push(Change {
                oid,
                now,
                before: parents.into_iter().next(),
            });
        }
    }
    Ok(Walk { changes, walked })
}

/// A checkpoint blob as parsed, or why it could not be.
type Checkpoint = std::result::Result<Parsed, String>;

/// Checkpoint blobs parsed, each distinct blob once.
struct Checkpoints<'r> {
    /// Where the blobs are.
    repo: &'r Repository,
    /// The blobs parsed so far.
    parsed: HashMap<Oid, Rc<Checkpoint>>,
}

impl<'r> Checkpoints<'r> {
    /// None parsed yet.
    fn new(repo: &'r Repository) -> Checkpoints<'r> {
        Checkpoints {
            repo,
            parsed: HashMap::new(),
        }
    }

    /// The checkpoint in blob `oid`.
    fn get(&mut self, oid: Oid) -> Result<Rc<Checkpoint>> {
        if let Some(p) = self.parsed.get(&oid) {
            return Ok(p.clone());
        }
        let blob = self
            .repo
            .find_blob(oid)
            .map_err(|e| git_error("reading a checkpoint", &e))?;
        let parsed = Rc::new(parse_checkpoint(blob.content()));
        self.parsed.insert(oid, parsed.clone());
        Ok(parsed)
    }
}

/// The entry of `change`: its commit's facts and trailers, the files it
/// changed, and its checkpoint compared with its first parent's.
fn entry(
    repo: &Repository,
    files: &[(Kind, String)],
    checkpoints: &mut Checkpoints,
    change: &Change,
) -> Result<HistoryEntry> {
    let commit = repo
        .find_commit(change.oid)
        .map_err(|e| git_error("reading a commit", &e))?;
    let compared = Compared::of(checkpoints, change)?;
    let message = commit.message().unwrap_or("");
    let trailers = trailers(message);
    let get = |key: &str| trailer(&trailers, key);
    let author = commit.author();
    Ok(HistoryEntry {
        commit: change.oid.to_string(),
        time: author_time(&commit),
        author: author.name().unwrap_or("").to_string(),
        email: author.email().unwrap_or("").to_string(),
        subject: message.lines().next().unwrap_or("").trim().to_string(),
        files: changed_kinds(files, change),
        command: get("SST-Command"),
        update_id: get("SST-Update-Id"),
        exit_code: get("Run-Exit-Code")
            .or_else(|| get("SST-Exit-Code"))
            .and_then(|v| v.trim().parse().ok()),
        errors: get("SST-Errors").and_then(|v| v.trim().parse().ok()),
        run_url: get("CI-Run"),
        lock_holder: lock_holder(&trailers),
        resources: compared.resources,
        pending_operations: compared.pending_operations,
        resources_before: compared.resources_before,
        added: compared.added,
        removed: compared.removed,
        changed: compared.changed,
        invalid: compared.invalid,
        trailers,
    })
}

/// The kinds of the followed files `change` changed (a kind once for
/// neighbouring files of that kind).
fn changed_kinds(files: &[(Kind, String)], change: &Change) -> Vec<Kind> {
    let (now, before) = (&change.now, &change.before);
    let mut kinds: Vec<Kind> = files
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            before
                .as_ref()
                .map_or(now[*i].is_some(), |b| b[*i] != now[*i])
        })
        .map(|(_, (k, _))| *k)
        .collect();
    kinds.dedup();
    kinds
}

/// A change's checkpoint (the first followed file) against its first parent's.
struct Compared {
    /// Resources after the change (None: no checkpoint, or an invalid one).
    resources: Option<u32>,
    /// Pending operations after the change.
    pending_operations: Option<u32>,
    /// Resources before the change, when there was a valid checkpoint.
    resources_before: Option<u32>,
    /// URNs new in the change.
    added: Vec<String>,
    /// URNs gone in the change.
    removed: Vec<String>,
    /// URNs whose inputs or outputs changed.
    changed: Vec<String>,
    /// Why the checkpoint after the change could not be read.
    invalid: Option<String>,
}

impl Compared {
    /// Compares the checkpoints of `change` and its first parent (URNs only
    /// when the checkpoint blob differs).
    fn of(checkpoints: &mut Checkpoints, change: &Change) -> Result<Compared> {
        let now = change.now[0];
        let before = change.before.as_ref().and_then(|b| b[0]);
        let after = now.map(|oid| checkpoints.get(oid)).transpose()?;
        let base = before.map(|oid| checkpoints.get(oid)).transpose()?;
        let after_ok = after.as_deref().and_then(|r| r.as_ref().ok());
        let base_ok = base.as_deref().and_then(|r| r.as_ref().ok());
        let mut compared = Compared {
            resources: after_ok.map(|p| p.resources),
            pending_operations: after_ok.map(|p| p.pending_operations),
            resources_before: base_ok.map(|p| p.resources),
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
            invalid: after.as_deref().and_then(|r| r.as_ref().err().cloned()),
        };
        if now != before {
            let empty = Parsed::default();
            compared.diff(after_ok.unwrap_or(&empty), base_ok.unwrap_or(&empty));
        }
        Ok(compared)
    }

    /// Fills the URNs added, removed and changed from `base` to `after`.
    fn diff(&mut self, after: &Parsed, base: &Parsed) {
        for (urn, hash) in &after.by_urn {
            match base.by_urn.get(urn) {
                None => self.added.push(urn.clone()),
                Some(h) if h != hash => self.changed.push(urn.clone()),
                Some(_) => {}
            }
        }
        self.removed = base
            .by_urn
            .keys()
            .filter(|u| !after.by_urn.contains_key(*u))
            .cloned()
            .collect();
    }
}

/// The trailers of a commit message, in order.
fn trailers(message: &str) -> Vec<Trailer> {
    git2::message_trailers_strs(message)
        .map(|t| {
            t.iter()
                .map(|(k, v)| Trailer {
                    key: k.to_string(),
                    value: v.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The value of the last trailer `key` (in any case).
fn trailer(trailers: &[Trailer], key: &str) -> Option<String> {
    trailers
        .iter()
        .rev()
        .find(|t| t.key.eq_ignore_ascii_case(key))
        .map(|t| t.value.clone())
}

/// Who held the stage lock: `Lock-Holder`, else `Lock-User`@`Lock-Host`.
fn lock_holder(trailers: &[Trailer]) -> Option<String> {
    let get = |key: &str| trailer(trailers, key);
    get("Lock-Holder").or_else(|| match (get("Lock-User"), get("Lock-Host")) {
        (Some(u), Some(h)) => Some(format!("{u}@{h}")),
        (u, h) => u.or(h),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_hashes_inputs_and_outputs() {
        let a = br#"{"version":3,"checkpoint":{"latest":{"resources":[{"urn":"u1","inputs":{"a":1},"outputs":{"b":2}},{"urn":"u2"}],"pending_operations":[{}]}}}"#;
        let b = br#"{"version":3,"checkpoint":{"latest":{"resources":[{"urn":"u1","inputs":{"a":1},"outputs":{"b":3}},{"urn":"u2"}]}}}"#;
        let (pa, pb) = (parse_checkpoint(a).unwrap(), parse_checkpoint(b).unwrap());
        assert_eq!((pa.resources, pa.pending_operations), (2, 1));
        assert_eq!(pb.pending_operations, 0);
        assert_ne!(pa.by_urn["u1"], pb.by_urn["u1"]);
        assert_eq!(pa.by_urn["u2"], pb.by_urn["u2"]);
        assert!(parse_checkpoint(b"  ").is_err());
        assert!(parse_checkpoint(br#"{"checkpoint":{}}"#).is_err());
        assert!(parse_checkpoint(b"{").is_err());
    }

    #[test]
    fn raw_trees_and_commit_headers() {
        let id = |b: u8| Oid::from_bytes(&[b; 20]).unwrap();
        let mut tree = Vec::new();
        for (mode, name, b) in [
            ("100644", "a.txt", 1u8),
            ("40000", "infra", 2),
            ("40000", "infra2", 3),
        ] {
            tree.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            tree.extend_from_slice(&[b; 20]);
        }
        assert_eq!(tree_entry(&tree, b"infra"), Some((true, id(2))));
        assert_eq!(tree_entry(&tree, b"a.txt"), Some((false, id(1))));
        assert_eq!(tree_entry(&tree, b"infr"), None);
        assert_eq!(tree_entry(&tree[..30], b"infra"), None, "a truncated tree");
        let commit = format!(
            "tree {}\nparent {}\nparent {}\nauthor A <a@x> 1700000000 +0100\ncommitter C D <c@x> 1700000042 -0500\n\nmsg\nparent {}\n",
            id(1), id(2), id(3), id(4)
        );
        assert_eq!(
            commit_header(commit.as_bytes()),
            Some((id(1), vec![id(2), id(3)], 1_700_000_042))
        );
        assert_eq!(commit_header(b"parent x\n"), None);
    }
}
