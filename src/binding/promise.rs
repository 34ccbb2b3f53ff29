//! Promises of the JS functions: each runs its work on tokio's blocking
//! pool and settles with the result converted to JS, or rejects with a JS
//! `Error` carrying the stable `code` and the error's details.

use napi::bindgen_prelude::{JsError, JsObjectValue, JsValue, PromiseRaw, ToNapiValue};
use napi::Env;

use crate::error;

pub(super) fn js_error(error: error::Error) -> napi::Error<String> {
    napi::Error::new(error.code().to_string(), error.to_string())
}

/// Runs `work` on tokio's blocking pool and settles a promise with its
/// result; a core error rejects it with a JS `Error` whose `code` property
/// is the stable error code, plus the error's details (`files`, `rescueBranch`).
pub(super) fn spawn_blocking<'env, T, V>(
    env: &'env Env,
    work: impl FnOnce() -> error::Result<T> + Send + 'static,
    to_js: fn(T) -> V,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
{
    let fut = async move {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| napi::Error::from_reason(format!("sst-local-state task failed: {e}")))
    };
    env.spawn_future_with_callback(fut, move |env, result| match result {
        Ok(value) => Ok(to_js(value)),
        Err(error) => {
            // inside SST's evaluation of sst.config.ts, SST shows only
            // "Unexpected error occurred": say what failed where it can be seen
            // the script node runs: its first argument that is not an option
            let script = std::env::args().skip(1).find(|a| !a.starts_with('-'));
            if let Some(line) = sst_eval_error_line(&error, script.as_deref()) {
                eprintln!("{line}");
                tell_terminal(&line);
            }
            let details = error.details();
            let js = JsError::from(js_error(error)).into_unknown(*env);
            if let Ok(mut object) = js.coerce_to_object() {
                for (key, value) in details {
                    object.set_named_property(&key, value)?;
                }
            }
            Err(napi::Error::from(js))
        }
    })
}

/// Also writes `line` to the controlling terminal, when there is one (a
/// developer running `sst` locally sees it although SST hides stderr).
fn tell_terminal(line: &str) {
    #[cfg(unix)]
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        use std::io::Write;
        let _ = writeln!(tty, "{line}");
    }
    #[cfg(not(unix))]
    let _ = line;
}

/// The line printed on stderr when a JS call fails while SST evaluates
/// `sst.config.ts` (the process runs `.sst/platform/sst.config.<n>.mjs`):
/// SST itself then shows only "Unexpected error occurred", and this line is
/// the first of what `sst … --print-logs` shows. `None` anywhere else (a
/// deploy script handles the rejection itself).
fn sst_eval_error_line(error: &crate::error::Error, script: Option<&str>) -> Option<String> {
    // SST may start it by a relative path (`node .sst/platform/…`)
    let script = format!("/{}", script?.replace('\\', "/"));
    let name = script.rsplit('/').next()?;
    let evaluated_by_sst = script.contains("/.sst/platform/")
        && name.starts_with("sst.config.")
        && name.ends_with(".mjs");
    evaluated_by_sst.then(|| format!("sst-local-state error[{}]: {error}", error.code()))
}

#[cfg(test)]
mod eval_tests {
    use super::*;

    #[test]
    fn only_inside_sst_config_evaluation() {
        let e = crate::error::Error::StageRequired;
        let line = sst_eval_error_line(&e, Some("/p/.sst/platform/sst.config.1795727527013.mjs"));
        assert!(line
            .unwrap()
            .starts_with("sst-local-state error[STAGE_REQUIRED]: "));
        assert!(sst_eval_error_line(&e, Some(".sst/platform/sst.config.1.mjs")).is_some());
        assert!(sst_eval_error_line(&e, Some("/p/deploy.mjs")).is_none());
        assert!(sst_eval_error_line(&e, Some("/p/sst.config.ts")).is_none());
        assert!(sst_eval_error_line(&e, None).is_none());
    }
}
