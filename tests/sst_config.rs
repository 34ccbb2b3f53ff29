//! A hostile `sst.config.ts` (nesting deep enough to overflow a recursive
//! parser's stack) through the commands that read it: a stable error code,
//! never a crash, whatever thread calls; with the app name given it is not
//! needed, and `HOME_NOT_LOCAL` still works.

mod common;

use common::Fixture;
use sst_local_state::ops::prepare::{prepare, PrepareOptions, PrepareReport};
use sst_local_state::ops::status::status;

/// A config whose `app()` returns `{ name: "deep", home, x: [[[…0…]]] }`, `depth` brackets deep.
fn deep_config(fx: &Fixture, depth: usize, home: &str) {
    let source = format!(
        "export default $config({{ app() {{ return {{ name: \"deep\", home: \"{home}\", x: {}0{} }}; }}, async run() {{}} }});\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    std::fs::write(fx.project.join("sst.config.ts"), source).unwrap();
}

/// Prepares `dev` on a thread with a 1 MiB stack (less than 900 levels take to parse in a
/// debug build), as a small-stack caller would.
fn prepare_on_small_stack(
    fx: &Fixture,
    app: Option<&str>,
) -> sst_local_state::Result<PrepareReport> {
    let mut options = PrepareOptions {
        common: fx.options("dev"),
        ..Default::default()
    };
    options.common.app = app.map(str::to_owned);
    let env = fx.env();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn_scoped(scope, || prepare(&options, &env))
            .unwrap()
            .join()
            .unwrap()
    })
}

#[test]
fn nine_hundred_levels_are_read() {
    let fx = Fixture::new();
    deep_config(&fx, 900, "local");
    let report = prepare_on_small_stack(&fx, None).unwrap();
    assert_eq!(report.app, "deep");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn a_hundred_thousand_levels_are_refused_with_a_code_and_nothing_is_written() {
    let fx = Fixture::new();
    deep_config(&fx, 100_000, "local");
    let error = prepare_on_small_stack(&fx, None).unwrap_err();
    assert_eq!(error.code(), "SST_CONFIG_TOO_DEEP");
    let message = error.to_string();
    assert!(
        message.contains(fx.project.join("sst.config.ts").as_str()),
        "{message}"
    );
    assert!(
        message.contains("1000 levels at 1:") && message.contains("--app"),
        "{message}"
    );
    assert!(!fx.config.exists(), "nothing written");
    assert_eq!(
        status(&fx.options("dev"), &fx.env()).unwrap_err().code(),
        "SST_CONFIG_TOO_DEEP"
    );
}

#[test]
fn with_the_app_given_a_config_too_deep_to_read_is_a_warning() {
    let fx = Fixture::new();
    deep_config(&fx, 100_000, "local");
    let report = prepare_on_small_stack(&fx, Some("given")).unwrap();
    assert_eq!(report.app, "given");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("`home` was not checked")
                && w.to_string().contains("1000 levels")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn with_the_app_given_home_is_still_checked() {
    let fx = Fixture::new();
    deep_config(&fx, 900, "aws");
    let error = prepare_on_small_stack(&fx, Some("given")).unwrap_err();
    assert_eq!(error.code(), "HOME_NOT_LOCAL");
    assert!(!fx.config.exists(), "nothing written");
}
