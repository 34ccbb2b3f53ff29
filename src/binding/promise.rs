//! Promises of the JS functions: each runs its work on tokio's blocking
//! pool and settles with the result converted to JS, or rejects with a JS
//! `Error` carrying the stable `code` and the error's details.

/// The line printed on stderr when a JS call fails while SST evaluates
/// `sst.config.ts` (the process runs `.sst/platform/sst.config.<n>.mjs`):
/// SST itself then shows only "Unexpected error occurred", and this line is
/// the first of what `sst … --print-logs` shows. `None` anywhere else (a
/// deploy script handles the rejection itself).
pub(super) fn sst_eval_error_line(
    error: &crate::error::Error,
    script: Option<&str>,
) -> Option<String> {
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
