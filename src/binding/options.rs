//! The JS options objects: [`js_options!`] declares each one with the fields
//! many functions take (`stage`, `cwd`, `remote`, `lockTtl`, ...) spliced in
//! from one table, so each shared field has one type and one doc wording;
//! [`JsOptions`] reads them from JS (refusing unknown keys) and converts the
//! shared ones to the core's options.

use napi::bindgen_prelude::{
    FnArgs, FromNapiValue, Function, JsObjectValue, JsValue, Null, Object, Unknown, ValueType,
};
use napi::Env;

use super::option_keys;
use crate::error;
use crate::ops::lock::LockRequest;
use crate::stage::project::{Caller, CommonOptions};

/// Declares a `#[napi(object)]` options struct (with `Default`) and its
/// [`JsOptions`] impl. Fields are written as usual, except that a shared
/// field is named bare (`stage,`): its type and doc come from the table
/// below, and those that make the core's options are copied by
/// [`JsOptions::shared`]. The field order is the order in `index.d.ts`.
///
/// Docs must be `#[doc = "..."]`, not `///`: a `///` comment passed through
/// `macro_rules!` reaches napi-derive as a raw string, whose `r"` it copies
/// into the JSDoc (a test checks `index.d.ts` for that).
///
/// An own field's type is `Name` or `Name<Type>`: the `Option` must stay a
/// plain path token for napi-derive to make the field optional.
macro_rules! js_options {
    ($(#[$($attr:tt)*])* pub struct $name:ident { $($body:tt)* }) => {
        $crate::binding::options::js_options!(
            @field [$name [$(#[$($attr)*])*] [] [] []] $($body)*
        );
    };

    // The shared fields, each written bare (`stage,`) in a struct and expanded here to its
    // declaration; `[name]` in front marks one that `JsOptions::shared` copies.
    (@field $s:tt stage, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [stage] #[doc = "The stage (else env `SST_STAGE`)."]
        pub stage: Option<String>, $($rest)*); };
    (@field $s:tt app, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [app] #[doc = "The app name (else env `SST_LOCAL_STATE_APP`, `package.json`"]
        #[doc = "`sstLocalState.app`, then the `name` in `sst.config.ts`)."]
        pub app: Option<String>, $($rest)*); };
    (@field $s:tt cwd, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [cwd] #[doc = "Where to look for `sst.config.ts` (its nearest ancestor holding one is the project root); default `process.cwd()`."]
        pub cwd: Option<String>, $($rest)*); };
    (@field $s:tt state_dir, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [state_dir] #[doc = "State folder relative to the project root; default `infra/state`."]
        pub state_dir: Option<String>, $($rest)*); };
    (@field $s:tt config_dir, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [config_dir] #[doc = "SST's config dir (the default age key file lives below it); default `resolveConfigDir()`."]
        pub config_dir: Option<String>, $($rest)*); };
    (@field $s:tt passphrase_mode, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [passphrase_mode] #[doc = "Where the stage passphrase lives: `age` (committed age-encrypted), `env` (never in"]
        #[doc = "the repository: `SST_PASSPHRASE`), `plain` (committed in plain text); else env"]
        #[doc = "`SST_LOCAL_STATE_PASSPHRASE_MODE`, `package.json` `sstLocalState.passphrase`, then `age`."]
        #[napi(ts_type = "'age' | 'env' | 'plain'")]
        pub passphrase_mode: Option<String>, $($rest)*); };
    (@field $s:tt state_branch, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [state_branch] #[doc = "State-branch mode: keep the stage's state on this branch of the remote instead of"]
        #[doc = "the code branch (`prepareStage` reads it from the branch's tip, `commitStage` and"]
        #[doc = "`runStage` land on it; the checkout is never written); else env"]
        #[doc = "`SST_LOCAL_STATE_STATE_BRANCH`, `package.json` `sstLocalState.stateBranch`, then none."]
        #[doc = "Use it when the code branch is protected. See docs/state-branch.md."]
        pub state_branch: Option<String>, $($rest)*); };
    (@field $s:tt branch, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        #[doc = "Branch to push to (else env `SST_LOCAL_STATE_BRANCH`, `package.json`,"]
        #[doc = "the CI's branch variables, then the checked-out branch)."]
        pub branch: Option<String>, $($rest)*); };
    (@field $s:tt remote, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        #[doc = "Remote (else env `SST_LOCAL_STATE_REMOTE`, `package.json`, `origin`)."]
        pub remote: Option<String>, $($rest)*); };
    (@field $s:tt lock_ref_prefix, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [lock_ref_prefix] #[doc = "Ref prefix of stage locks (else env `SST_LOCAL_STATE_LOCK_PREFIX`,"]
        #[doc = "`package.json` `sstLocalState.lockPrefix`, `refs/heads/sst-local-state/lock`)."]
        pub lock_ref_prefix: Option<String>, $($rest)*); };
    (@field $s:tt lock_ttl, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [lock_ttl] #[doc = "How long the lock is valid before another run may break it (`90s`, `2h`; from `1s` to `7days`, else `INVALID_OPTION`); default `1h`."]
        pub lock_ttl: Option<String>, $($rest)*); };
    (@field $s:tt lock_timeout, $($rest:tt)*) => { $crate::binding::options::js_options!(@field $s
        [lock_timeout] #[doc = "How long to wait for a lock another run holds (`90s`, `5m`; at most `7days`); default `0`: reject at once."]
        pub lock_timeout: Option<String>, $($rest)*); };

    // One field: appended to the struct, its name to `FIELDS` (and to `shared`).
    (@field [$name:ident $attrs:tt [$($fields:tt)*] [$($keys:ident)*] [$($shared:ident)*]]
        $([$copied:ident])? $(#[$($doc:tt)*])* pub $field:ident : $ty:ident $(<$arg:ty>)?
        $(, $($rest:tt)*)?
    ) => {
        $crate::binding::options::js_options!(@field [$name $attrs
            [$($fields)* $(#[$($doc)*])* pub $field: $ty $(<$arg>)?,]
            [$($keys)* $field]
            [$($shared)* $($copied)?]
        ] $($($rest)*)?);
    };

    // All fields read: the struct and its `JsOptions`.
    (@field [$name:ident [$($attr:tt)*] [$($fields:tt)*] [$($keys:ident)*] [$($shared:ident)*]]) => {
        $($attr)*
        #[::napi_derive::napi(object)]
        #[derive(Default)]
        pub struct $name {
            $($fields)*
        }

        impl $crate::binding::options::JsOptions for $name {
            const FIELDS: &'static [&'static str] = &[$(stringify!($keys)),*];

            #[allow(clippy::needless_update)]
            fn shared(&self) -> $crate::binding::options::SharedOptions {
                $crate::binding::options::SharedOptions {
                    $($shared: self.$shared.clone(),)*
                    ..Default::default()
                }
            }
        }
    };
}
pub(super) use js_options;

/// The shared fields the core's options are made of, as one options object
/// has them (absent ones are `None`).
#[derive(Default)]
pub(super) struct SharedOptions {
    pub stage: Option<String>,
    pub app: Option<String>,
    pub cwd: Option<String>,
    pub state_dir: Option<String>,
    pub config_dir: Option<String>,
    pub passphrase_mode: Option<String>,
    pub state_branch: Option<String>,
    pub lock_ref_prefix: Option<String>,
    pub lock_ttl: Option<String>,
    pub lock_timeout: Option<String>,
}

/// A JS options object declared with [`js_options!`].
pub(super) trait JsOptions: FromNapiValue + Default {
    /// The Rust names of its fields, in order (JS sees them in camelCase).
    const FIELDS: &'static [&'static str];

    /// Its shared fields the core's options are made of.
    fn shared(&self) -> SharedOptions;

    /// The core's options every stage command takes.
    fn common(&self) -> CommonOptions {
        let shared = self.shared();
        CommonOptions {
            stage: shared.stage,
            app: shared.app,
            cwd: shared.cwd.map(Into::into),
            state_dir: shared.state_dir,
            config_dir: shared.config_dir.map(Into::into),
            caller: Caller::Js,
            passphrase_mode: shared.passphrase_mode,
            state_branch: shared.state_branch,
        }
    }

    /// The stage lock to take, recording `command`; `INVALID_OPTION` for a
    /// `lockTtl` or `lockTimeout` that is not a duration.
    fn lock_request(&self, command: Option<String>) -> error::Result<LockRequest> {
        let shared = self.shared();
        Ok(LockRequest {
            prefix: shared.lock_ref_prefix,
            ttl: js_duration(shared.lock_ttl, "lockTtl")?,
            timeout: js_duration(shared.lock_timeout, "lockTimeout")?,
            command,
            run: None,
        })
    }
}

/// Converts the options object of JS function `function` to `T`, after checking its own keys:
/// `INVALID_OPTION` for something other than an object, for a key `T` does not have (unless its
/// value is `undefined`, which `T` ignores too) and for a value of the wrong type.
pub(super) fn options_from_js<T: JsOptions>(
    object: Object<'_>,
    function: &str,
) -> error::Result<T> {
    let origin = format!("{function} options");
    let invalid = |e: napi::Error| error::Error::option(&origin, e.reason);
    let kind = object.to_unknown().get_type().map_err(invalid)?;
    if kind != ValueType::Object {
        let kind = format!("{kind:?}").to_lowercase();
        return Err(error::Error::option(
            &origin,
            format!("expected an object, got {kind}"),
        ));
    }
    let names = object.get_property_names().map_err(invalid)?;
    let mut given = Vec::new();
    for index in 0..names.get_array_length().map_err(invalid)? {
        let key: String = names.get_element(index).map_err(invalid)?;
        if !object.has_own_property(&key).map_err(invalid)? {
            continue;
        }
        let value: Unknown = object.get_named_property_unchecked(&key).map_err(invalid)?;
        if value.get_type().map_err(invalid)? != ValueType::Undefined {
            given.push(key);
        }
    }
    let keys = js_keys::<T>();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    option_keys::check_keys(given.iter().map(String::as_str), &keys, function)?;
    let own = own_properties(&object, 1).map_err(invalid)?;
    // SAFETY: both handles come from the live `object` of the current call.
    unsafe { T::from_napi_value(object.value().env, own.raw()) }.map_err(invalid)
}

/// A copy of `object` with its own enumerable properties only, on a null
/// prototype (and so, `depth` levels down, its plain-object values): napi
/// reads fields with `napi_get_named_property` and map keys with
/// `napi_get_property_names`, both of which see the prototype chain, so
/// after `Object.prototype.dryRun = true` every options object would
/// otherwise ask for a dry run.
fn own_properties<'e>(object: &Object<'e>, depth: u32) -> napi::Result<Object<'e>> {
    let env = Env::from_raw(object.value().env);
    let create: Function<FnArgs<(Null,)>, Object> = env
        .get_global()?
        .get_named_property_unchecked::<Object>("Object")?
        .get_named_property_unchecked("create")?;
    // `(Null,)`: a bare `Null` is zero-sized, which napi passes as no argument at all
    let mut copy = create.call(FnArgs::from((Null,)))?;
    let names = object.get_property_names()?;
    for index in 0..names.get_array_length()? {
        let key: String = names.get_element(index)?;
        if !object.has_own_property(&key)? {
            continue;
        }
        let value: Unknown = object.get_named_property_unchecked(&key)?;
        if depth > 0 && value.get_type()? == ValueType::Object && !value.is_array()? {
            // SAFETY: `value` is a live object of the current call.
            let inner = unsafe { Object::from_napi_value(env.raw(), value.raw()) }?;
            copy.set_named_property(&key, own_properties(&inner, depth - 1)?)?;
        } else {
            copy.set_named_property(&key, value)?;
        }
    }
    Ok(copy)
}

/// [`options_from_js`] for an optional options object: absent, every option is.
pub(super) fn optional_options_from_js<T: JsOptions>(
    object: Option<Object<'_>>,
    function: &str,
) -> error::Result<T> {
    object.map_or_else(|| Ok(T::default()), |o| options_from_js(o, function))
}

/// The JS names of the fields of `T`, as napi names them.
pub(super) fn js_keys<T: JsOptions>() -> Vec<String> {
    T::FIELDS
        .iter()
        .map(|field| option_keys::js_name(field))
        .collect()
}

/// A duration option (`90s`, `5m`, `1h 30m`) of a JS call.
fn js_duration(value: Option<String>, option: &str) -> error::Result<Option<std::time::Duration>> {
    value
        .map(|v| {
            humantime::parse_duration(v.trim()).map_err(|e| {
                error::Error::option(format!("options.{option}"), format!("{v:?}: {e}"))
            })
        })
        .transpose()
}

/// A count option (`keep`) of a JS call: a whole number from 0 to `u32::MAX`
/// (JS passes every number as a double; a fraction or a negative one is not
/// silently rounded or wrapped).
pub(super) fn js_count(value: f64, option: &str) -> error::Result<usize> {
    if value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value) {
        Ok(value as usize)
    } else {
        Err(error::Error::option(
            format!("options.{option}"),
            format!("{value}: expected a whole number from 0 to {}", u32::MAX),
        ))
    }
}
