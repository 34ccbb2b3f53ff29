//! The Node-API binding: argument conversion and error mapping only; the
//! logic lives in the plain Rust modules, which know nothing of napi.
//!
//! Each JS function (or family: `lock.rs` holds `lockStage`, `unlockStage`
//! and `listLocks`; `passphrases.rs` `rekeyPassphrases` and
//! `encryptPassphrases`) has one file here, named after the CLI command it
//! matches, holding its `#[napi]` function, its options (`js_options!`), its
//! result objects and their conversions from the core's reports;
//! `shared.rs` holds the result objects several functions share,
//! `options.rs` the options machinery, `promise.rs` the promise every
//! function returns and its error mapping.

mod cli;
mod commit;
mod config_dir;
mod doctor;
mod history;
mod lock;
mod option_keys;
mod options;
mod passphrases;
mod prepare;
mod promise;
mod prune;
mod rollback;
mod run;
mod shared;
mod show;
mod status;

#[cfg(test)]
mod tests {
    use super::options::JsOptions;
    use super::*;
    use crate::ops::doctor::Level;
    use crate::ops::prepare::Action;
    use crate::ops::status::SyncState;

    /// The field names of `export interface <name>` in the generated `index.d.ts`.
    fn interface_fields(name: &str) -> Vec<String> {
        let dts = include_str!("../../index.d.ts");
        let start = dts
            .find(&format!("export interface {name} {{"))
            .unwrap_or_else(|| panic!("no interface {name} in index.d.ts"));
        dts[start..]
            .lines()
            .skip(1)
            .take_while(|line| *line != "}")
            .filter_map(|line| {
                let field = line.strip_prefix("  ")?;
                let name = &field[..field.find(['?', ':'])?];
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric())
                    .then(|| name.to_owned())
            })
            .collect()
    }

    /// `FIELDS` in camelCase, checked against the interface napi generated.
    fn check_keys<T: JsOptions>(name: &str) {
        assert_eq!(interface_fields(name), options::js_keys::<T>(), "{name}");
    }

    #[test]
    fn option_keys_are_the_fields_napi_generates() {
        check_keys::<config_dir::ResolveConfigDirOptions>("ResolveConfigDirOptions");
        check_keys::<status::StageOptions>("StageOptions");
        check_keys::<prepare::PrepareOptions>("PrepareOptions");
        check_keys::<commit::CommitOptions>("CommitOptions");
        check_keys::<history::HistoryOptions>("HistoryOptions");
        check_keys::<rollback::RollbackOptions>("RollbackOptions");
        check_keys::<passphrases::PassphrasesOptions>("PassphrasesOptions");
        check_keys::<lock::LockOptions>("LockOptions");
        check_keys::<lock::UnlockOptions>("UnlockOptions");
        check_keys::<lock::ListLocksOptions>("ListLocksOptions");
        check_keys::<run::RunOptions>("RunOptions");
        check_keys::<show::ShowOptions>("ShowOptions");
        check_keys::<prune::PruneOptions>("PruneOptions");
        check_keys::<doctor::DoctorOptions>("DoctorOptions");
    }

    /// A `///` doc comment inside `js_options!` reaches napi-derive as a raw
    /// string, whose `r"` would end up in the JSDoc.
    #[test]
    fn no_raw_string_in_jsdoc() {
        let dts = include_str!("../../index.d.ts");
        for line in dts.lines() {
            let text = line.trim_start().trim_start_matches("/**");
            let text = text.trim_start_matches('*').trim_start();
            assert!(
                !text.starts_with("r\"") && !text.starts_with("r#"),
                "{line}"
            );
        }
    }

    #[test]
    fn as_str_is_the_serde_name() {
        for a in [
            Action::Written,
            Action::Unchanged,
            Action::Absent,
            Action::Removed,
            Action::Kept,
        ] {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        for s in [
            SyncState::InSync,
            SyncState::ChangedInConfigDir,
            SyncState::ChangedInRepo,
            SyncState::OnlyInRepo,
            SyncState::OnlyInConfigDir,
            SyncState::Absent,
            SyncState::Encrypted,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for l in [Level::Ok, Level::Warning, Level::Error] {
            assert_eq!(serde_json::to_value(l).unwrap(), l.as_str());
        }
    }
}
