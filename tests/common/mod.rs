//! Shared fixture for integration tests: a temporary SST project (with
//! `sst.config.ts`) and a separate temporary SST config dir.
#![allow(dead_code)]

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::Aes256Gcm;
use base64::Engine;
use camino::{Utf8Path, Utf8PathBuf};
use sst_local_state::CommonOptions;
use sst_local_state::Env;

pub const CONFIG_TS: &str = r#"/// <reference path="./.sst/platform/config.d.ts" />
export default $config({
  app(input) {
    return { name: "demo-app", removal: input?.stage === "production" ? "retain" : "remove", home: "local" };
  },
  async run() {},
});
"#;

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub root: Utf8PathBuf,
    pub project: Utf8PathBuf,
    pub config: Utf8PathBuf,
    pub key: [u8; 32],
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
        let project = root.join("project");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(project.join("sst.config.ts"), CONFIG_TS).unwrap();
        Fixture {
            _dir: dir,
            config: root.join("config/sst"),
            project,
            root,
            key: [42; 32],
        }
    }

    pub fn options(&self, stage: &str) -> CommonOptions {
        CommonOptions {
            stage: Some(stage.into()),
            cwd: Some(self.project.clone()),
            config_dir: Some(self.config.clone()),
            ..CommonOptions::default()
        }
    }

    /// The environment of a run: nothing but what keeps the machine's git
    /// config away from the `git` that fetches and pushes.
    pub fn env(&self) -> Env {
        env_with(&[])
    }

    pub fn passphrase(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key)
    }

    pub fn encrypt(&self, json: &str) -> Vec<u8> {
        encrypt_with(&self.key, json)
    }

    /// Writes `infra/state/<rel>` in the project.
    pub fn repo_write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let path = self.project.join("infra/state").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// A complete valid stage in the repo: checkpoint, passphrase, secrets, fallback pair.
    pub fn repo_full_stage(&self, stage: &str) {
        self.repo_write(
            &format!("app/{stage}.json"),
            checkpoint(&["urn:a", "urn:b"]),
        );
        self.repo_write(&format!("passphrase/{stage}.json"), self.passphrase());
        self.repo_write(
            &format!("secret/{stage}.json"),
            self.encrypt(r#"{"MySecret":"secret-value-xq7"}"#),
        );
        self.repo_write("passphrase/_fallback.json", self.passphrase());
        self.repo_write("secret/_fallback.json", self.encrypt(r#"{"Shared":"f"}"#));
    }

    /// `<config>/state/<key>/demo-app/<file>`.
    pub fn config_path(&self, key: &str, file: &str) -> Utf8PathBuf {
        self.config
            .join("state")
            .join(key)
            .join("demo-app")
            .join(file)
    }

    /// Every file below `dir` with its bytes (empty when `dir` is absent).
    pub fn snapshot(dir: &Utf8Path) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        if dir.exists() {
            walk(dir.as_std_path(), dir.as_std_path(), &mut out);
        }
        out
    }
}

fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(base, &path, out);
        } else {
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
}

/// `pairs` plus `GIT_CONFIG_GLOBAL=/dev/null` and `GIT_CONFIG_NOSYSTEM=1`:
/// the `git` that fetches and pushes reads no config of the machine's.
pub fn env_with(pairs: &[(&str, &str)]) -> Env {
    let mut all = vec![
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ];
    all.extend_from_slice(pairs);
    Env::from_pairs(&all)
}

pub fn encrypt_with(key: &[u8; 32], json: &str) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key).unwrap();
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let mut out = nonce.to_vec();
    out.extend(cipher.encrypt(&nonce, json.as_bytes()).unwrap());
    out
}

pub fn checkpoint(urns: &[&str]) -> String {
    let resources: Vec<String> = urns
        .iter()
        .map(|u| format!(r#"{{"urn":"{u}","type":"t"}}"#))
        .collect();
    format!(
        r#"{{"version":3,"checkpoint":{{"stack":"organization/demo-app/dev","latest":{{"manifest":{{"time":"2024-01-01T00:00:00Z","magic":"m","version":"v3.0.0"}},"resources":[{}]}}}}}}"#,
        resources.join(",")
    )
}

/// Points libgit2's global/XDG/system config at an empty directory, so the
/// machine's own git config cannot leak into tests.
pub fn isolate_git_config() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        for level in [
            git2::ConfigLevel::Global,
            git2::ConfigLevel::XDG,
            git2::ConfigLevel::System,
        ] {
            unsafe { git2::opts::set_search_path(level, dir.path()).unwrap() };
        }
    });
}

impl Fixture {
    /// Makes the project a git repository on branch `main` with everything committed.
    pub fn git_init(&self) -> git2::Repository {
        isolate_git_config();
        let repo = git2::Repository::init_opts(
            &self.project,
            git2::RepositoryInitOptions::new().initial_head("main"),
        )
        .unwrap();
        {
            let mut cfg = repo.config().unwrap();
            cfg.set_str("user.name", "Test User").unwrap();
            cfg.set_str("user.email", "test@example.com").unwrap();
        }
        commit_all(&repo, "initial");
        repo
    }

    /// A bare repository next to the project, holding the project's history, set as `origin`.
    pub fn add_origin(&self, repo: &git2::Repository) -> git2::Repository {
        let bare_path = self.root.join("remote.git");
        let bare = git2::Repository::init_opts(
            &bare_path,
            git2::RepositoryInitOptions::new()
                .bare(true)
                .initial_head("main"),
        )
        .unwrap();
        let mut remote = repo.remote("origin", bare_path.as_str()).unwrap();
        remote
            .push(&["refs/heads/main:refs/heads/main"], None)
            .unwrap();
        bare
    }
}

/// Stages every file and commits on HEAD.
pub fn commit_all(repo: &git2::Repository, message: &str) -> git2::Oid {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("Test User", "test@example.com").unwrap();
    let parents: Vec<git2::Commit> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap()
}

/// Pushes `repo`'s main to its origin's main (as another run would).
pub fn push_main(repo: &git2::Repository) {
    repo.find_remote("origin")
        .unwrap()
        .push(&["refs/heads/main:refs/heads/main"], None)
        .unwrap();
}

/// The content of `path` in `commit`'s tree.
pub fn blob_in(repo: &git2::Repository, commit: git2::Oid, path: &str) -> Option<Vec<u8>> {
    let tree = repo.find_commit(commit).unwrap().tree().unwrap();
    let entry = tree.get_path(std::path::Path::new(path)).ok()?;
    Some(repo.find_blob(entry.id()).unwrap().content().to_vec())
}
