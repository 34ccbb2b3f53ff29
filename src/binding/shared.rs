//! The result objects several functions share (warnings, checkpoint
//! counts, SST's lock, error codes), and their conversions from the core.

use napi_derive::napi;

use crate::error;
use crate::sst::lock::SstLock;
use crate::stage::layout::Kind;
use crate::stage::state::CheckpointInfo;
use crate::warning::Warning;

/// A finding that did not stop the run.
#[napi(object)]
pub struct WarningInfo {
    /// Stable code (`UNSAVED`, `SST_LOCK`, `HEAD_NOT_MOVED`, ...).
    pub code: String,
    /// What was found, and what to do about it.
    pub message: String,
}

impl From<Warning> for WarningInfo {
    fn from(w: Warning) -> Self {
        WarningInfo {
            code: w.code().into(),
            message: w.to_string(),
        }
    }
}

/// Resource counts of a Pulumi checkpoint.
#[napi(object)]
pub struct CheckpointSummary {
    /// Resources in `checkpoint.latest.resources`.
    pub resources: u32,
    /// Entries in `pending_operations` (non-zero: a run was interrupted).
    pub pending_operations: u32,
}

impl From<CheckpointInfo> for CheckpointSummary {
    fn from(c: CheckpointInfo) -> Self {
        CheckpointSummary {
            resources: c.resources,
            pending_operations: c.pending_operations,
        }
    }
}

/// SST's lock for a stage (a deploy is running, or one crashed).
#[napi(object)]
pub struct SstLockInfo {
    /// The lock file.
    pub path: String,
    /// The SST command that took it.
    pub command: String,
    /// When it was taken (RFC 3339).
    pub created: String,
    /// SST's update id of that run.
    pub update_id: Option<String>,
}

impl From<SstLock> for SstLockInfo {
    fn from(l: SstLock) -> Self {
        SstLockInfo {
            path: l.path.into_string(),
            command: l.command,
            created: l.created,
            update_id: l.update_id,
        }
    }
}

/// Declares the JS `ErrorCode` from the core's one list of codes.
macro_rules! js_error_code {
    ($($variant:ident = $code:tt,)*) => {
        #[doc = "Every `code` an error of sst-local-state carries (JS `err.code`, the"]
        #[doc = "CLI's `--json` `\"code\"`), for exhaustive handling in TypeScript. The"]
        #[doc = "troubleshooting table in docs/troubleshooting.md says what to do about each."]
        #[napi(string_enum)]
        pub enum ErrorCode {
            $(
                #[napi(value = $code)]
                $variant,
            )*
        }

        impl From<error::ErrorCode> for ErrorCode {
            fn from(code: error::ErrorCode) -> Self {
                match code {
                    $(error::ErrorCode::$variant => ErrorCode::$variant,)*
                }
            }
        }
    };
}
error::with_error_codes!(js_error_code);

/// Declares a JS string enum (`#[napi(string_enum)]`: a union of string
/// literals in `index.d.ts`) mirroring the core's enum `$core` variant by
/// variant, and its conversion from it. Each value must be the core's serde
/// name, which the CLI's `--json` prints (`check_values`, tested below).
macro_rules! js_kind {
    ($(#[doc = $doc:literal])* pub enum $name:ident from $core:ident {
        $($variant:ident = $value:tt,)*
    }) => {
        $(#[doc = $doc])*
        #[::napi_derive::napi(string_enum)]
        pub enum $name {
            $(
                #[napi(value = $value)]
                $variant,
            )*
        }

        impl From<$core> for $name {
            fn from(core: $core) -> Self {
                match core {
                    $($core::$variant => $name::$variant,)*
                }
            }
        }

        #[cfg(test)]
        impl $name {
            /// Panics unless each value is the serde name of its core variant.
            pub(super) fn check_values() {
                $(
                    assert_eq!(
                        serde_json::to_value($core::$variant).unwrap(),
                        $value,
                        "{}::{}", stringify!($name), stringify!($variant)
                    );
                )*
            }
        }
    };
}
pub(super) use js_kind;

js_kind! {
    #[doc = "Which state file: `app` (the checkpoint), `passphrase`, `secret`,"]
    #[doc = "`fallbackSecret`, `fallbackPassphrase`."]
    pub enum FileKind from Kind {
        App = "app",
        Passphrase = "passphrase",
        Secret = "secret",
        FallbackSecret = "fallbackSecret",
        FallbackPassphrase = "fallbackPassphrase",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn js_kinds_are_the_serde_names_of_the_core() {
        super::FileKind::check_values();
        crate::binding::prepare::PrepareAction::check_values();
        crate::binding::status::SyncState::check_values();
        crate::binding::doctor::CheckLevel::check_values();
    }
}
