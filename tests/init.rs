//! `init` keeps the secret age key out of the repository: a key file inside
//! the project or inside any git worktree is refused (`KEY_FILE_IN_REPO`,
//! nothing written), symlinks resolved; a relative `--key-file` is relative
//! to `--cwd`.

mod common;

use camino::Utf8PathBuf;
use common::Fixture;
use sst_local_state::ops::init::{init, InitOptions, InitReport};
use sst_local_state::Env;

fn init_with(
    fx: &Fixture,
    key_file: Option<&str>,
    env: &Env,
) -> sst_local_state::Result<InitReport> {
    init(
        &InitOptions {
            common: fx.options("dev"),
            key_file: key_file.map(Utf8PathBuf::from),
            recipient: None,
        },
        env,
    )
}

/// Runs `init`, asserts `KEY_FILE_IN_REPO` naming `path` and `place`, and that nothing was written.
fn assert_refused(
    fx: &Fixture,
    init: impl FnOnce() -> sst_local_state::Result<InitReport>,
    path: &str,
    place: &str,
) {
    let before = Fixture::snapshot(&fx.root);
    let error = init().unwrap_err();
    assert_eq!(error.code(), "KEY_FILE_IN_REPO", "{error}");
    let message = error.to_string();
    assert!(message.contains(path), "{message}");
    assert!(message.contains(place), "{message}");
    assert_eq!(Fixture::snapshot(&fx.root), before, "nothing written");
}

#[test]
fn a_key_file_inside_the_project_is_refused() {
    let fx = Fixture::new();
    assert_refused(
        &fx,
        || init_with(&fx, Some("infra/state/age-key.txt"), &fx.env()),
        fx.project.join("infra/state/age-key.txt").as_str(),
        &format!("the project {}", fx.project),
    );
    // from the environment, and as the default when the config dir is in the project
    let inside = fx.project.join("keys/age.txt");
    let env = Env::from_pairs(&[("SST_LOCAL_STATE_AGE_KEY_FILE", inside.as_str())]);
    assert_refused(
        &fx,
        || init_with(&fx, None, &env),
        inside.as_str(),
        "the project",
    );
    let mut options = InitOptions {
        common: fx.options("dev"),
        key_file: None,
        recipient: None,
    };
    options.common.config_dir = Some(fx.project.join(".sst-config"));
    assert_refused(
        &fx,
        || init(&options, &fx.env()),
        ".sst-config/sst-local-state/age-key.txt",
        "the project",
    );
}

#[test]
fn a_key_file_inside_any_git_worktree_is_refused() {
    let fx = Fixture::new();
    let other = fx.root.join("other-repo");
    git2::Repository::init(&other).unwrap();
    let key = other.join("secrets/age.txt");
    assert_refused(
        &fx,
        || init_with(&fx, Some(key.as_str()), &fx.env()),
        key.as_str(),
        &format!("the git worktree {other}"),
    );
    // a worktree whose .git is a file (a linked worktree, a submodule)
    let linked = fx.root.join("linked");
    std::fs::create_dir_all(&linked).unwrap();
    std::fs::write(linked.join(".git"), "gitdir: /elsewhere\n").unwrap();
    let key = linked.join("age.txt");
    assert_refused(
        &fx,
        || init_with(&fx, Some(key.as_str()), &fx.env()),
        key.as_str(),
        "the git worktree",
    );
}

#[cfg(unix)]
#[test]
fn symlinks_into_the_project_are_resolved() {
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.project.join("infra/state")).unwrap();
    std::os::unix::fs::symlink(fx.project.join("infra/state"), fx.root.join("keys")).unwrap();
    let key = fx.root.join("keys/age.txt");
    assert_refused(
        &fx,
        || init_with(&fx, Some(key.as_str()), &fx.env()),
        key.as_str(),
        "the project",
    );
    // `..` after a symlink is the symlink target's parent, as for the file system
    let key = fx.root.join("keys/../age.txt");
    assert_refused(
        &fx,
        || init_with(&fx, Some(key.as_str()), &fx.env()),
        key.as_str(),
        "the project",
    );
}

#[test]
fn a_relative_key_file_is_relative_to_cwd_and_a_key_outside_is_kept() {
    let fx = Fixture::new();
    let report = init_with(&fx, Some("../keys/age.txt"), &fx.env()).unwrap();
    assert!(report.created_key);
    assert_eq!(report.key_file, Some(fx.project.join("../keys/age.txt")));
    assert!(fx.root.join("keys/age.txt").is_file());
    assert!(fx.project.join("infra/state/age-recipients.txt").is_file());
    // reused on a second run
    let again = init_with(&fx, Some("../keys/age.txt"), &fx.env()).unwrap();
    assert!(!again.created_key && !again.added_recipient);
    assert_eq!(again.public_key, report.public_key);
}

#[cfg(unix)]
#[test]
fn a_symlinked_state_folder_is_refused_before_anything_is_written() {
    let fx = Fixture::new();
    let outside = fx.root.join("outside-state");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(fx.project.join("infra")).unwrap();
    std::os::unix::fs::symlink(&outside, fx.project.join("infra/state")).unwrap();
    let key = fx.root.join("keys/age.txt");
    let before = Fixture::snapshot(&fx.root);
    let error = init_with(&fx, Some(key.as_str()), &fx.env()).unwrap_err();
    assert_eq!(error.code(), "STATE_SYMLINK", "{error}");
    assert_eq!(Fixture::snapshot(&fx.root), before, "nothing written");
}
