//! `rekey` re-encrypts every `.age` passphrase to the current recipients in
//! one pushed commit; refuses (naming the file, nothing pushed) when the
//! running key cannot decrypt one; unchanged recipients → no commit.
//! `init --recipient` lists a public key made elsewhere; `init` tells a
//! joining member that a rekey is needed.

mod common;

use camino::Utf8Path;
use common::{blob_in, commit_all, Fixture};
use sst_local_state::ops::init::{init, InitOptions};
use sst_local_state::ops::passphrases::PassphrasesOptions;
use sst_local_state::ops::rekey::rekey;
use sst_local_state::seal;
use sst_local_state::Env;

struct Key {
    secret: String,
    public: String,
}

fn key() -> Key {
    let (secret, public) = seal::generate();
    Key { secret, public }
}

fn with_key(k: &Key) -> Env {
    common::env_with(&[("SST_LOCAL_STATE_AGE_KEY", &k.secret)])
}

fn options(fx: &Fixture) -> PassphrasesOptions {
    let mut common = fx.options("dev");
    common.stage = None;
    PassphrasesOptions {
        common,
        branch: Some("main".into()),
        ..PassphrasesOptions::default()
    }
}

fn recipients(fx: &Fixture, keys: &[&Key]) {
    let text: String = keys.iter().map(|k| format!("{}\n", k.public)).collect();
    fx.repo_write("age-recipients.txt", format!("# team\n{text}"));
}

fn opens(bytes: &[u8], k: &Key) -> Option<Vec<u8>> {
    let ids = seal::identities(&with_key(k), Utf8Path::new("/nonexistent")).unwrap();
    seal::open(Utf8Path::new("x.age"), bytes, &ids).ok()
}

/// A project whose dev and fallback passphrases are sealed to `a` and `b`, pushed to origin.
fn sealed_project(a: &Key, b: &Key) -> (Fixture, git2::Repository, git2::Repository) {
    sealed_project_with(a, b, b"dev-passphrase", b"fallback-pass")
}

fn sealed_project_with(
    a: &Key,
    b: &Key,
    dev: &[u8],
    fallback: &[u8],
) -> (Fixture, git2::Repository, git2::Repository) {
    let fx = Fixture::new();
    recipients(&fx, &[a, b]);
    let rs = seal::parse_recipients(Utf8Path::new("r"), &format!("{}\n{}\n", a.public, b.public))
        .unwrap();
    fx.repo_write("passphrase/dev.age", seal::seal(dev, &rs));
    fx.repo_write("passphrase/_fallback.age", seal::seal(fallback, &rs));
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    (fx, repo, bare)
}

fn tip(bare: &git2::Repository) -> git2::Oid {
    bare.refname_to_id("refs/heads/main").unwrap()
}

#[test]
fn rekey_after_removing_a_recipient_locks_the_removed_key_out() {
    let (a, b) = (key(), key());
    let (fx, repo, bare) = sealed_project(&a, &b);

    // every file names the list it is sealed to, the current one: nothing to change
    let before = tip(&bare);
    let again = rekey(&options(&fx), &with_key(&a)).unwrap();
    assert!(!again.committed && again.files.is_empty(), "{again:?}");
    assert_eq!((again.recipients, again.passphrases), (2, 2));
    assert_eq!(tip(&bare), before, "no change → no commit");

    // b leaves: remove its line, rekey
    recipients(&fx, &[&a]);
    let report = rekey(&options(&fx), &with_key(&a)).unwrap();
    assert!(report.pushed, "{report:?}");
    assert_eq!(report.recipients, 1);
    let pushed = tip(&bare);
    assert_eq!(report.commit.as_deref(), Some(pushed.to_string().as_str()));
    let paths: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    for p in [
        "infra/state/passphrase/dev.age",
        "infra/state/passphrase/_fallback.age",
        "infra/state/age-recipients.txt",
    ] {
        assert!(paths.contains(&p), "{paths:?}");
    }
    let dev = blob_in(&bare, pushed, "infra/state/passphrase/dev.age").unwrap();
    assert_eq!(opens(&dev, &a).as_deref(), Some(&b"dev-passphrase"[..]));
    assert_eq!(opens(&dev, &b), None, "the removed key no longer decrypts");
    let fallback = blob_in(&bare, pushed, "infra/state/passphrase/_fallback.age").unwrap();
    assert_eq!(opens(&fallback, &a).as_deref(), Some(&b"fallback-pass"[..]));
    assert_eq!(opens(&fallback, &b), None);
    // the worktree and HEAD follow
    assert_eq!(repo.head().unwrap().target(), Some(pushed));
    let work = std::fs::read(fx.project.join("infra/state/passphrase/dev.age")).unwrap();
    assert_eq!(work, dev);
    let rendered = serde_json::to_string(&report).unwrap();
    assert!(!rendered.contains("dev-passphrase") && !rendered.contains("AGE-SECRET-KEY"));
}

#[test]
fn a_key_that_cannot_decrypt_is_refused_naming_the_file() {
    let (a, b, c) = (key(), key(), key());
    let (fx, _repo, bare) = sealed_project(&a, &b);
    // c joined (listed) but the files were sealed before: c cannot rekey
    recipients(&fx, &[&a, &b, &c]);
    let before = tip(&bare);
    let err = rekey(&options(&fx), &with_key(&c)).unwrap_err();
    assert_eq!(err.code(), "DECRYPT_FAILED", "{err}");
    assert!(err.to_string().contains("passphrase/"), "{err}");
    assert!(err.to_string().contains("rekey"), "{err}");
    assert!(!err.to_string().contains(&c.secret));
    // the message names c's public key and says that the list holds it
    assert!(
        err.to_string().contains(&format!(
            "(public key {}) is listed in {}",
            c.public,
            fx.project.join("infra/state/age-recipients.txt")
        )),
        "{err}"
    );
    assert_eq!(tip(&bare), before, "nothing pushed");
    let no_key = rekey(&options(&fx), &common::env_with(&[])).unwrap_err();
    assert_eq!(no_key.code(), "AGE_KEY_MISSING");
    // a member who can decrypt rekeys; then c can decrypt
    rekey(&options(&fx), &with_key(&a)).unwrap();
    let dev = blob_in(&bare, tip(&bare), "infra/state/passphrase/dev.age").unwrap();
    assert_eq!(opens(&dev, &c).as_deref(), Some(&b"dev-passphrase"[..]));
}

#[test]
fn rekey_without_push_commits_on_head() {
    let (a, b) = (key(), key());
    let (fx, repo, bare) = sealed_project(&a, &b);
    let before = tip(&bare);
    recipients(&fx, &[&b]);
    let mut o = options(&fx);
    o.no_push = true;
    o.branch = None;
    let report = rekey(&o, &with_key(&a)).unwrap();
    assert!(
        report.committed && !report.pushed && report.head_updated,
        "{report:?}"
    );
    assert_eq!(tip(&bare), before);
    let head = repo.head().unwrap().target().unwrap();
    let dev = blob_in(&repo, head, "infra/state/passphrase/dev.age").unwrap();
    assert_eq!(opens(&dev, &a), None);
    assert!(opens(&dev, &b).is_some());
    let statuses = repo.statuses(None).unwrap();
    assert!(statuses.is_empty(), "worktree and index follow HEAD");
}

#[test]
fn init_with_a_recipient_and_for_a_joining_member() {
    let fx = Fixture::new();
    let repo = fx.git_init();
    let ci = key();
    let run = |key_file: Option<&str>, recipient: Option<&str>| {
        let mut common = fx.options("dev");
        common.stage = None;
        init(
            &InitOptions {
                common,
                key_file: key_file.map(Into::into),
                recipient: recipient.map(str::to_string),
            },
            &fx.env(),
        )
    };
    // a CI key made elsewhere: no local key is read or written
    let report = run(None, Some(&ci.public)).unwrap();
    assert_eq!(report.key_file, None);
    assert!(report.added_recipient && !report.created_key && !report.joining);
    assert!(!fx.config.join("sst-local-state/age-key.txt").exists());
    let text = sst_local_state::render::init(&report);
    assert!(
        text.contains("rekey") && !text.contains("SST_LOCAL_STATE_AGE_KEY"),
        "{text}"
    );
    // a member joins: told that rekey is needed, never to store their key as the CI secret
    let key_file = fx.root.join("member/age.txt");
    let joined = run(Some(key_file.as_str()), None).unwrap();
    assert!(joined.joining && joined.created_key);
    let text = sst_local_state::render::init(&joined);
    assert!(text.contains("rekey"), "{text}");
    assert!(!text.contains("as the CI secret"), "{text}");
    assert!(!text.contains("AGE-SECRET-KEY-1"), "{text}");
    // the first member of a new project is told to store the key in CI
    let fresh = Fixture::new();
    let mut common = fresh.options("dev");
    common.stage = None;
    let first = init(
        &InitOptions {
            common,
            key_file: Some(fresh.root.join("k/age.txt")),
            recipient: None,
        },
        &fresh.env(),
    )
    .unwrap();
    assert!(!first.joining);
    assert!(
        sst_local_state::render::init(&first).contains("as the CI secret SST_LOCAL_STATE_AGE_KEY")
    );
    // a secret key passed as --recipient is refused and never echoed
    let err = run(None, Some(&ci.secret)).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION");
    assert!(!err.to_string().contains(&ci.secret), "{err}");
    let _ = commit_all(&repo, "keys");
}

/// A seed-recipe project: plain dev, prod and fallback passphrases, pushed to origin.
fn plain_project(a: &Key) -> (Fixture, git2::Repository, git2::Repository) {
    let fx = Fixture::new();
    recipients(&fx, &[a]);
    for stage in ["dev", "prod", "_fallback"] {
        fx.repo_write(
            &format!("passphrase/{stage}.json"),
            format!("{stage}-passphrase"),
        );
    }
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    (fx, repo, bare)
}

#[test]
fn encrypt_migrates_every_plain_passphrase_in_one_commit() {
    let a = key();
    let (fx, repo, bare) = plain_project(&a);
    let before = tip(&bare);
    // no key needed to encrypt
    let report = sst_local_state::ops::encrypt::encrypt(&options(&fx), &fx.env()).unwrap();
    assert!(report.pushed, "{report:?}");
    let pushed = tip(&bare);
    assert_ne!(pushed, before);
    assert_eq!(
        bare.find_commit(pushed).unwrap().parent_id(0).unwrap(),
        before,
        "one commit"
    );
    for stage in ["dev", "prod", "_fallback"] {
        let json = format!("infra/state/passphrase/{stage}.json");
        assert!(blob_in(&bare, pushed, &json).is_none(), "{json} removed");
        assert!(
            !fx.project.join(&json).exists(),
            "{json} removed from the worktree"
        );
        let age = blob_in(
            &bare,
            pushed,
            &format!("infra/state/passphrase/{stage}.age"),
        )
        .unwrap();
        assert_eq!(
            opens(&age, &a).unwrap(),
            format!("{stage}-passphrase").into_bytes()
        );
    }
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("git history still holds")),
        "{:?}",
        report.notes
    );
    let msg = bare
        .find_commit(pushed)
        .unwrap()
        .message()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("[skip ci]") && msg.contains("git history still holds"),
        "{msg}"
    );
    assert_eq!(repo.head().unwrap().target(), Some(pushed));
    assert!(
        repo.statuses(None).unwrap().is_empty(),
        "worktree and index follow"
    );
    let rendered = serde_json::to_string(&report).unwrap();
    assert!(!rendered.contains("-passphrase\""), "{rendered}");
    // in CI, the run is named like a state commit's
    let (fx2, _repo2, bare2) = plain_project(&a);
    let ci = common::env_with(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "o/r"),
        ("GITHUB_RUN_ID", "42"),
    ]);
    sst_local_state::ops::encrypt::encrypt(&options(&fx2), &ci).unwrap();
    let ci_msg = bare2
        .find_commit(tip(&bare2))
        .unwrap()
        .message()
        .unwrap()
        .to_string();
    assert!(
        ci_msg.ends_with("CI-Run: https://github.com/o/r/actions/runs/42\n"),
        "{ci_msg}"
    );
    // the record lets rekey see that nothing changed; encrypt again has nothing to do
    let again = sst_local_state::ops::encrypt::encrypt(&options(&fx), &fx.env()).unwrap();
    assert!(!again.committed);
    let rekeyed = rekey(&options(&fx), &with_key(&a)).unwrap();
    assert!(!rekeyed.committed, "{rekeyed:?}");
    assert_eq!(tip(&bare), pushed);
}

#[test]
fn encrypt_needs_recipients_and_refuses_a_differing_pair() {
    let a = key();
    let (fx, _repo, bare) = plain_project(&a);
    std::fs::remove_file(fx.project.join("infra/state/age-recipients.txt")).unwrap();
    let err = sst_local_state::ops::encrypt::encrypt(&options(&fx), &fx.env()).unwrap_err();
    assert!(err.to_string().contains("init"), "{err}");
    assert!(!err.to_string().contains("dev-passphrase"), "{err}");

    let (fx, repo, bare2) = plain_project(&a);
    let rs = seal::parse_recipients(Utf8Path::new("r"), &a.public).unwrap();
    fx.repo_write("passphrase/dev.age", seal::seal(b"another", &rs));
    commit_all(&repo, "both");
    let mut o = options(&fx);
    o.no_push = true;
    o.branch = None;
    let err = sst_local_state::ops::encrypt::encrypt(&o, &with_key(&a)).unwrap_err();
    assert!(err.to_string().contains("differs"), "{err}");
    assert!(
        !err.to_string().contains("another") && !err.to_string().contains("dev-passphrase"),
        "{err}"
    );
    let _ = (bare, bare2);
}

#[test]
fn status_says_who_can_open_each_passphrase_and_how_many_recipients_it_has() {
    let (a, b, c) = (key(), key(), key());
    let (fx, _repo, _bare) = sealed_project(&a, &b);
    let st = |vars: &Env| sst_local_state::ops::status::status(&fx.options("dev"), vars).unwrap();
    let with_a = st(&with_key(&a));
    assert_eq!(with_a.passphrases.len(), 2);
    for p in &with_a.passphrases {
        assert_eq!(
            (p.form, p.recipients, p.decryptable),
            ("age", Some(2), true),
            "{p:?}"
        );
    }
    let with_c = st(&with_key(&c));
    assert_eq!(with_c.passphrases.len(), 2);
    assert!(with_c
        .passphrases
        .iter()
        .all(|p| !p.decryptable && p.reason.is_some()));
    let text = sst_local_state::render::status(&with_c);
    assert!(
        text.contains("passphrase (age, 2 recipients): NOT readable here"),
        "{text}"
    );
    let json = serde_json::to_string(&with_a).unwrap();
    assert!(
        !json.contains("dev-passphrase") && !json.contains("AGE-SECRET-KEY"),
        "{json}"
    );
    let none = st(&common::env_with(&[]));
    assert!(!none.passphrases[0].decryptable && none.passphrases[0].reason.is_some());
}

#[test]
fn prepare_and_status_say_when_a_rekey_is_due() {
    let (a, b, c) = (key(), key(), key());
    let valid = Fixture::new().passphrase();
    let (fx, _repo, _bare) = sealed_project_with(&a, &b, valid.as_bytes(), valid.as_bytes());
    let codes = |vars: &Env| -> Vec<&'static str> {
        let st = sst_local_state::ops::status::status(&fx.options("dev"), vars).unwrap();
        st.warnings.iter().map(|w| w.code()).collect()
    };
    // no record yet: nothing can be said
    assert!(!codes(&with_key(&a)).contains(&"REKEY_NEEDED"));
    rekey(&options(&fx), &with_key(&a)).unwrap();
    assert!(!codes(&with_key(&a)).contains(&"REKEY_NEEDED"));
    recipients(&fx, &[&a, &b, &c]);
    assert!(codes(&with_key(&a)).contains(&"REKEY_NEEDED"));
    let prepared = sst_local_state::ops::prepare::prepare(
        &sst_local_state::ops::prepare::PrepareOptions {
            common: fx.options("dev"),
            ..Default::default()
        },
        &with_key(&a),
    )
    .unwrap();
    let w = prepared
        .warnings
        .iter()
        .find(|w| w.code() == "REKEY_NEEDED")
        .expect("prepare warns too");
    assert!(w.to_string().contains("sst-local-state rekey"), "{w}");
    rekey(&options(&fx), &with_key(&a)).unwrap();
    assert!(!codes(&with_key(&a)).contains(&"REKEY_NEEDED"));
    // env mode: a passphrase the repository still holds is named as not used
    let mut o = fx.options("dev");
    o.passphrase_mode = Some("env".into());
    let st = sst_local_state::ops::status::status(&o, &common::env_with(&[])).unwrap();
    assert!(
        st.warnings
            .iter()
            .any(|w| w.code() == "PASSPHRASE_NOT_USED"),
        "{:?}",
        st.warnings
    );
}

// ------------------------------------------------- sealed to the branch's list --

fn list(keys: &[&Key]) -> Vec<age::x25519::Recipient> {
    let text: String = keys.iter().map(|k| format!("{}\n", k.public)).collect();
    seal::parse_recipients(Utf8Path::new("r"), &text).unwrap()
}

/// A project whose dev and fallback passphrases are sealed to `keys`, pushed to origin.
fn sealed_to_all(keys: &[&Key]) -> (Fixture, git2::Repository, git2::Repository) {
    let fx = Fixture::new();
    recipients(&fx, keys);
    fx.repo_write(
        "passphrase/dev.age",
        seal::seal(b"dev-passphrase", &list(keys)),
    );
    fx.repo_write(
        "passphrase/_fallback.age",
        seal::seal(b"fallback-pass", &list(keys)),
    );
    let repo = fx.git_init();
    let bare = fx.add_origin(&repo);
    (fx, repo, bare)
}

/// Another machine: a clone of origin as it is now (its worktree holds the
/// recipients list of this moment), and a config dir where SST's first
/// deploy of `stage` left a new passphrase and a checkpoint.
struct Machine {
    dir: camino::Utf8PathBuf,
    config: camino::Utf8PathBuf,
    repo: git2::Repository,
}

impl Machine {
    fn clone(fx: &Fixture, name: &str) -> Machine {
        let dir = fx.root.join(name);
        let repo = git2::Repository::clone(fx.root.join("remote.git").as_str(), &dir).unwrap();
        Machine {
            config: fx.root.join(format!("{name}-config/sst")),
            dir,
            repo,
        }
    }

    /// SST's first deploy of `stage` here: a new passphrase, a checkpoint.
    fn deploy_new_stage(&self, stage: &str, passphrase: &str) {
        for (key, bytes) in [
            ("passphrase", passphrase.to_string()),
            ("app", common::checkpoint(&["urn:a"])),
        ] {
            let path = self
                .config
                .join("state")
                .join(key)
                .join("demo-app")
                .join(format!("{stage}.json"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }

    fn commit(&self, stage: &str, key: &Key) -> sst_local_state::ops::commit::CommitReport {
        let options = sst_local_state::ops::commit::CommitOptions {
            common: sst_local_state::CommonOptions {
                stage: Some(stage.into()),
                cwd: Some(self.dir.clone()),
                config_dir: Some(self.config.clone()),
                ..Default::default()
            },
            branch: Some("main".into()),
            ..Default::default()
        };
        sst_local_state::ops::commit::commit(&options, &with_key(key)).unwrap()
    }
}

/// `passphrase/<stage>.age` at `commit` opens (to `plain`) with each of
/// `members`, and not with `removed`.
fn assert_closed_to(
    bare: &git2::Repository,
    commit: git2::Oid,
    stage: &str,
    plain: &str,
    removed: &Key,
    members: &[&Key],
) {
    let path = format!("infra/state/passphrase/{stage}.age");
    let sealed = blob_in(bare, commit, &path).unwrap();
    assert_eq!(
        opens(&sealed, removed),
        None,
        "the removed key opens {path}"
    );
    for k in members {
        assert_eq!(
            opens(&sealed, k).as_deref(),
            Some(plain.as_bytes()),
            "{path}"
        );
    }
}

const PASS_QA: &str = "cWEtcGFzc3BocmFzZS1vZi0zMi1ieXRlcy0uLi4uLi4=";
const PASS_UAT: &str = "dWF0LXBhc3NwaHJhc2Utb2YtMzItYnl0ZXMtLi4uLi4=";

#[test]
fn a_clone_made_before_a_revocation_seals_new_passphrases_to_the_branchs_list() {
    let (k1, k2, k3) = (key(), key(), key());
    let (fx, _repo, bare) = sealed_to_all(&[&k1, &k2, &k3]);
    // a clone made now still lists k2 in its worktree, and knows the old tip
    let old = Machine::clone(&fx, "old-clone");
    // k2 is revoked: removed from the list, rekey pushed
    recipients(&fx, &[&k1, &k3]);
    assert!(rekey(&options(&fx), &with_key(&k1)).unwrap().pushed);
    let listed_after = blob_in(&bare, tip(&bare), "infra/state/age-recipients.txt").unwrap();

    // the old clone commits a new stage: its known tip is stale (the push is
    // refused, the commit is built again on the new tip and sealed to its list)
    old.deploy_new_stage("qa", PASS_QA);
    let qa = old.commit("qa", &k3);
    assert!(qa.pushed && qa.attempts == 2, "{qa:?}");
    // after a fetch the base is the new tip, the worktree still lists k2
    let mut origin = old.repo.find_remote("origin").unwrap();
    origin.fetch(&["main"], None, None).unwrap();
    old.deploy_new_stage("uat", PASS_UAT);
    let uat = old.commit("uat", &k3);
    assert!(uat.pushed && uat.attempts == 1, "{uat:?}");
    assert!(
        std::fs::read_to_string(old.dir.join("infra/state/age-recipients.txt"))
            .unwrap()
            .contains(&k2.public)
    );

    let now = tip(&bare);
    for (stage, pass) in [("qa", PASS_QA), ("uat", PASS_UAT)] {
        assert_closed_to(&bare, now, stage, pass, &k2, &[&k1, &k3]);
    }
    assert_eq!(
        blob_in(&bare, now, "infra/state/age-recipients.txt").unwrap(),
        listed_after,
        "the clone's old list is not pushed"
    );
    // nothing is left for rekey to do
    let again = rekey(&options(&fx), &with_key(&k1)).unwrap();
    assert!(!again.committed, "{again:?}");

    // the revoked key on a fresh clone: DECRYPT_FAILED names it, not listed
    let fresh = Machine::clone(&fx, "fresh");
    let prepared = sst_local_state::ops::prepare::prepare(
        &sst_local_state::ops::prepare::PrepareOptions {
            common: sst_local_state::CommonOptions {
                stage: Some("qa".into()),
                cwd: Some(fresh.dir.clone()),
                config_dir: Some(fresh.config.clone()),
                ..Default::default()
            },
            ..Default::default()
        },
        &with_key(&k2),
    );
    let Err(err) = prepared else {
        panic!("the revoked key prepared qa")
    };
    assert_eq!(err.code(), "DECRYPT_FAILED");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "(public key {}) is not listed in {}",
            k2.public,
            fresh.dir.join("infra/state/age-recipients.txt")
        )) && text.contains("ask a member whose key opens it to add"),
        "{text}"
    );
    assert!(
        !text.contains(&k2.secret) && !text.contains("rekey`\n"),
        "{text}"
    );
}

/// An age file of `plain` sealed to `keys` by age alone, as versions before
/// the list stanza (or `age -r` by hand) wrote it: armored, no list named.
fn age_alone(plain: &[u8], keys: &[&Key]) -> Vec<u8> {
    use std::io::Write;
    let rs = list(keys);
    let encryptor =
        age::Encryptor::with_recipients(rs.iter().map(|r| r as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor).unwrap();
    let mut w = encryptor.wrap_output(armor).unwrap();
    w.write_all(plain).unwrap();
    w.finish().and_then(|a| a.finish()).unwrap();
    out
}

#[test]
fn rekey_repairs_files_sealed_to_a_stale_list_whatever_the_record_says() {
    let (a, b, c) = (key(), key(), key());
    let (fx, repo, bare) = sealed_to_all(&[&a, &b]);
    // b leaves, c joins: the rekey's record says every file is sealed to a and c
    recipients(&fx, &[&a, &c]);
    assert!(rekey(&options(&fx), &with_key(&a)).unwrap().pushed);
    let record = blob_in(&bare, tip(&bare), "infra/state/passphrase/sealed-to.txt").unwrap();
    let record = String::from_utf8(record).unwrap();
    assert!(
        record.contains(&a.public) && record.contains(&c.public) && !record.contains(&b.public)
    );
    // files committed after it, sealed to other lists: the old one (a, b: as
    // many keys as the list), a, b and c (one more), and a, b by age alone
    // (no list named: as an earlier version sealed it)
    fx.repo_write(
        "passphrase/qa.age",
        seal::seal(b"qa-pass", &list(&[&a, &b])),
    );
    fx.repo_write(
        "passphrase/prod.age",
        seal::seal(b"prod-pass", &list(&[&a, &b, &c])),
    );
    fx.repo_write("passphrase/uat.age", age_alone(b"uat-pass", &[&a, &b]));
    commit_all(&repo, "passphrases sealed elsewhere");
    repo.find_remote("origin")
        .unwrap()
        .push(&["refs/heads/main:refs/heads/main"], None)
        .unwrap();
    let stale = tip(&bare);
    assert!(opens(
        &blob_in(&bare, stale, "infra/state/passphrase/qa.age").unwrap(),
        &b
    )
    .is_some());

    // status and prepare say a rekey is due, naming the files whose header shows it
    let st = sst_local_state::ops::status::status(&fx.options("dev"), &with_key(&a)).unwrap();
    let w = st
        .warnings
        .iter()
        .find(|w| w.code() == "REKEY_NEEDED")
        .expect("status warns REKEY_NEEDED");
    let text = w.to_string();
    assert!(
        text.contains("passphrase/qa.age is encrypted to another list of keys")
            && text.contains("passphrase/prod.age is encrypted to 3 recipients, the list has 2")
            && !text.contains("sealed-to.txt records other keys"),
        "{text}"
    );

    // rekey re-encrypts exactly those three, whatever the record claims
    let r = rekey(&options(&fx), &with_key(&a)).unwrap();
    assert!(r.pushed, "{r:?}");
    let mut changed: Vec<&str> = r
        .files
        .iter()
        .filter(|f| f.change == "rekeyed")
        .map(|f| f.path.as_str())
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        [
            "infra/state/passphrase/prod.age",
            "infra/state/passphrase/qa.age",
            "infra/state/passphrase/uat.age"
        ]
    );
    let now = tip(&bare);
    for (stage, plain) in [
        ("dev", "dev-passphrase"),
        ("_fallback", "fallback-pass"),
        ("qa", "qa-pass"),
        ("prod", "prod-pass"),
        ("uat", "uat-pass"),
    ] {
        assert_closed_to(&bare, now, stage, plain, &b, &[&a, &c]);
    }
    let st = sst_local_state::ops::status::status(&fx.options("dev"), &with_key(&a)).unwrap();
    assert!(
        !st.warnings.iter().any(|w| w.code() == "REKEY_NEEDED"),
        "{:?}",
        st.warnings
    );
    assert!(!rekey(&options(&fx), &with_key(&a)).unwrap().committed);
}
