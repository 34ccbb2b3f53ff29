//! Checks the keys of a JS options object against the options a function
//! takes, so that a misspelt option (`dryrun` for `dryRun`) is an error
//! instead of being silently ignored.

use crate::error::{Error, Result};

/// Refuses keys of `given` that are not in `known`, before anything is done.
///
/// # Errors
///
/// `INVALID_OPTION` naming `function`, every unknown key, and for each the known option it
/// most likely means (same letters in another case, or a typo or two away), else the list of
/// known options.
pub fn check_keys<'a>(
    given: impl IntoIterator<Item = &'a str>,
    known: &[&str],
    function: &str,
) -> Result<()> {
    let mut unknown = Vec::new();
    let mut unexplained = false;
    for key in given.into_iter().filter(|key| !known.contains(key)) {
        match closest(key, known) {
            Some(near) => unknown.push(format!("{key} (did you mean {near}?)")),
            None => {
                unexplained = true;
                unknown.push(key.to_owned());
            }
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    let plural = if unknown.len() == 1 { "" } else { "s" };
    let mut reason = format!("unknown option{plural} {}", unknown.join(", "));
    if unexplained {
        reason.push_str(&format!("; it takes {}", known.join(", ")));
    }
    Err(Error::option(format!("{function} options"), reason))
}

/// The JS name napi gives the Rust field `field`: camelCase (`dry_run` is `dryRun`).
pub fn js_name(field: &str) -> String {
    let mut name = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                name.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => name.push(c),
        }
    }
    name
}

/// The known option `key` most likely stands for: the same letters in another case, else the
/// nearest within one edit per three characters (at least one).
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let key = key.to_lowercase();
    let allowed = (key.chars().count() / 3).max(1);
    known
        .iter()
        .map(|&name| (edit_distance(&key, &name.to_lowercase()), name))
        .filter(|&(distance, _)| distance <= allowed)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, name)| name)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["stage", "app", "cwd", "stateDir", "dryRun", "requireState"];

    fn message(given: &[&str]) -> String {
        let error = check_keys(given.iter().copied(), KNOWN, "prepareStage").unwrap_err();
        assert_eq!(error.code(), "INVALID_OPTION");
        error.to_string()
    }

    #[test]
    fn known_keys_pass() {
        check_keys(["stage", "dryRun"], KNOWN, "prepareStage").unwrap();
        check_keys([], KNOWN, "prepareStage").unwrap();
    }

    #[test]
    fn an_unknown_key_is_named_with_the_option_it_likely_means() {
        assert_eq!(
            message(&["stage", "dryrun"]),
            "invalid prepareStage options: unknown option dryrun (did you mean dryRun?)"
        );
        assert!(message(&["stagee"]).contains("stagee (did you mean stage?)"));
        assert!(message(&["state_dir"]).contains("state_dir (did you mean stateDir?)"));
        assert!(message(&["requiredState"]).contains("(did you mean requireState?)"));
    }

    #[test]
    fn far_off_keys_get_the_list_and_every_unknown_key_is_named() {
        assert_eq!(
            message(&["message", "dryrun"]),
            "invalid prepareStage options: unknown options message, dryrun (did you mean dryRun?); it takes stage, app, cwd, stateDir, dryRun, requireState"
        );
        assert!(!message(&["foo"]).contains("did you mean"));
        assert!(message(&["ap"]).contains("ap (did you mean app?)"));
    }

    #[test]
    fn js_names_are_camel_case() {
        assert_eq!(js_name("cwd"), "cwd");
        assert_eq!(js_name("dry_run"), "dryRun");
        assert_eq!(js_name("lock_ref_prefix"), "lockRefPrefix");
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("stagee", "stage"), 1);
        assert_eq!(edit_distance("ümlaut", "umlaut"), 1);
    }
}
