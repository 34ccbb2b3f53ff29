fn main() {
    windows_crt_static();
    napi_build::setup();
}

/// An msvc build must link the C runtime statically (+crt-static, set in
/// .cargo/config.toml): otherwise the addon needs VCRUNTIME140.dll, which a
/// Windows without the Visual C++ Redistributable lacks.
fn windows_crt_static() {
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("msvc") {
        return;
    }
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if !features.split(',').any(|f| f == "crt-static") {
        panic!(
            "Windows (msvc) builds of sst-local-state link the C runtime statically: \
             -C target-feature=+crt-static is missing (.cargo/config.toml sets it; \
             RUSTFLAGS, when set, replaces it: add it there)"
        );
    }
}
