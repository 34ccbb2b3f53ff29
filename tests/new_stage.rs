//! A stage none of whose state the repository holds: in CI refused with
//! `STAGE_UNKNOWN` (a typo such as `prd` would deploy a whole new stage),
//! listing the stages the repository holds, unless new stages are allowed
//! (option > env `SST_LOCAL_STATE_NEW_STAGES` > `package.json`
//! `sstLocalState.newStages`); outside CI a first deploy, whose report
//! lists those stages too.

mod common;

use common::{env_with, Fixture};
use sst_local_state::ops::prepare::{prepare, PrepareOptions, PrepareReport};
use sst_local_state::Caller;
use sst_local_state::Result;

const CI: (&str, &str) = ("GITHUB_ACTIONS", "true");

fn run(
    fx: &Fixture,
    stage: &str,
    env: &[(&str, &str)],
    allow: Option<bool>,
) -> Result<PrepareReport> {
    let options = PrepareOptions {
        common: fx.options(stage),
        allow_new_stage: allow,
        ..PrepareOptions::default()
    };
    prepare(&options, &env_with(env))
}

/// A repository holding the stages `dev` and `prod`.
fn two_stages() -> Fixture {
    let fx = Fixture::new();
    fx.repo_full_stage("dev");
    fx.repo_full_stage("prod");
    fx
}

#[test]
fn in_ci_a_typod_stage_is_refused_listing_the_stages_and_nothing_is_written() {
    let fx = two_stages();
    let e = run(&fx, "prd", &[CI], None).unwrap_err();
    assert_eq!(e.code(), "STAGE_UNKNOWN", "{e}");
    assert_eq!(e.exit_code(), 1);
    let message = e.to_string();
    assert!(
        message.contains(
            r#"stage "prd" has no state in the repository (infra/state holds the stages dev, prod)"#
        ),
        "{message}"
    );
    assert!(
        message.contains("the default in CI (github-actions)"),
        "{message}"
    );
    assert!(message.contains("options.allowNewStage"), "{message}");
    assert!(message.contains(r#""newStages": ["pr-*"]"#), "{message}");
    assert!(!fx.config.exists(), "the config dir was created");
    // the CLI names its flag
    let mut options = PrepareOptions {
        common: fx.options("prd"),
        ..PrepareOptions::default()
    };
    options.common.caller = Caller::Cli;
    let e = prepare(&options, &env_with(&[CI])).unwrap_err();
    assert!(e.to_string().contains("pass --allow-new-stage"), "{e}");
    // a stage the repository holds is prepared as ever
    assert!(!run(&fx, "prod", &[CI], None).unwrap().first_deploy);
}

#[test]
fn a_new_stage_is_deployed_when_allowed_by_option_env_or_package_json() {
    let fx = two_stages();
    let report = run(&fx, "prd", &[CI], Some(true)).unwrap();
    assert!(report.first_deploy);
    assert_eq!(report.known_stages, ["dev", "prod"]);
    let text = sst_local_state::render::prepare(&report);
    assert!(
        text.contains("first deploy of stage prd, SST will start a new state (the repository holds the stages dev, prod)"),
        "{text}"
    );
    let env = [CI, ("SST_LOCAL_STATE_NEW_STAGES", "pr-*")];
    assert!(run(&fx, "pr-123", &env, None).unwrap().first_deploy);
    assert_eq!(
        run(&fx, "prd", &env, None).unwrap_err().code(),
        "STAGE_UNKNOWN"
    );
    // package.json: per-pull-request preview stages with one line of set-up
    std::fs::write(
        fx.project.join("package.json"),
        r#"{"name":"demo","sstLocalState":{"newStages":["pr-*"]}}"#,
    )
    .unwrap();
    assert!(run(&fx, "pr-7", &[CI], None).unwrap().first_deploy);
    let e = run(&fx, "prd", &[CI], None).unwrap_err();
    assert!(
        e.to_string()
            .contains("package.json sstLocalState.newStages"),
        "{e}"
    );
    // the option over package.json, env over package.json
    assert!(run(&fx, "prd", &[CI], Some(true)).is_ok());
    assert!(run(
        &fx,
        "qa",
        &[CI, ("SST_LOCAL_STATE_NEW_STAGES", "true")],
        None
    )
    .is_ok());
}

#[test]
fn outside_ci_a_new_stage_is_a_first_deploy_unless_forbidden() {
    let fx = two_stages();
    let report = run(&fx, "prd", &[], None).unwrap();
    assert!(report.first_deploy);
    assert_eq!(report.known_stages, ["dev", "prod"]);
    assert_eq!(
        run(&fx, "qa", &[], Some(false)).unwrap_err().code(),
        "STAGE_UNKNOWN"
    );
    // a repository with no stage at all says so
    let empty = Fixture::new();
    let e = run(&empty, "dev", &[CI], None).unwrap_err();
    assert!(
        e.to_string().contains("(infra/state holds no stage yet)"),
        "{e}"
    );
}

#[test]
fn a_new_stage_already_deployed_on_this_machine_is_not_refused() {
    // a first deploy here whose commit has not landed yet: SST's config dir holds its checkpoint
    let fx = two_stages();
    run(&fx, "pr-9", &[], None).unwrap();
    std::fs::create_dir_all(fx.config_path("app", "")).unwrap();
    std::fs::write(
        fx.config_path("app", "pr-9.json"),
        common::checkpoint(&["urn:a"]),
    )
    .unwrap();
    let report = run(&fx, "pr-9", &[CI], None).unwrap();
    assert!(!report.first_deploy);
}
