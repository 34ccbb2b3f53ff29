//! SST's config directory, computed exactly as SST computes it:
//! `filepath.Join(os.UserConfigDir(), "sst")` in Go, for any platform.

use crate::env::Env;
use crate::error::{Error, Result};

/// The operating-system family whose rules decide the config directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Linux, the BSDs and every other Unix: `$XDG_CONFIG_HOME` or `$HOME/.config`.
    Unix,
    /// macOS: `$HOME/Library/Application Support`.
    Darwin,
    /// Windows: `%AppData%`.
    Windows,
}

impl Platform {
    /// The platform this code runs on.
    pub fn current() -> Self {
        if cfg!(target_os = "macos") || cfg!(target_os = "ios") {
            Platform::Darwin
        } else if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Unix
        }
    }

    /// Maps a Node.js `process.platform` value; `None` for an unknown name.
    pub fn from_node(name: &str) -> Option<Self> {
        match name {
            "darwin" => Some(Platform::Darwin),
            "win32" => Some(Platform::Windows),
            "linux" | "freebsd" | "openbsd" | "netbsd" | "aix" | "sunos" | "android" | "cygwin"
            | "haiku" => Some(Platform::Unix),
            _ => None,
        }
    }
}

/// SST's config directory for `env` under the rules of `platform`.
///
/// Never touches the file system. Errors where SST itself panics.
pub fn resolve_config_dir(env: &Env, platform: Platform) -> Result<String> {
    match platform {
        Platform::Unix => {
            let base = match env.non_empty("XDG_CONFIG_HOME") {
                Some(xdg) if !xdg.starts_with('/') => {
                    return Err(Error::ConfigDirRelativeXdg {
                        value: xdg.to_string(),
                    })
                }
                Some(xdg) => xdg.to_string(),
                None => match env.non_empty("HOME") {
                    Some(home) => format!("{home}/.config"),
                    None => {
                        return Err(Error::ConfigDirNoHome {
                            variables: "neither $XDG_CONFIG_HOME nor $HOME are defined".into(),
                        })
                    }
                },
            };
            Ok(clean_unix(&format!("{base}/sst")))
        }
        Platform::Darwin => match env.non_empty("HOME") {
            Some(home) => Ok(clean_unix(&format!(
                "{home}/Library/Application Support/sst"
            ))),
            None => Err(Error::ConfigDirNoHome {
                variables: "$HOME is not defined".into(),
            }),
        },
        Platform::Windows => {
            let env = env.clone().with_ignore_case(true);
            match env.non_empty("AppData") {
                Some(dir) => Ok(clean_windows(&format!("{dir}\\sst"))),
                None => Err(Error::ConfigDirNoHome {
                    variables: "%AppData% is not defined".into(),
                }),
            }
        }
    }
}

/// Go's `path/filepath.Clean` with `/` separators.
pub fn clean_unix(path: &str) -> String {
    let rooted = path.starts_with('/');
    let cleaned = clean_elements(path.split('/'), rooted).join("/");
    match (rooted, cleaned.is_empty()) {
        (true, _) => format!("/{cleaned}"),
        (false, true) => ".".to_string(),
        (false, false) => cleaned,
    }
}

/// Go's `path/filepath.Clean` with Windows rules: a volume name (`C:` or
/// `\\server\share`) is kept, `/` becomes `\`.
pub fn clean_windows(path: &str) -> String {
    let path = path.replace('/', "\\");
    let (volume, rest) = split_windows_volume(&path);
    let rooted = rest.starts_with('\\');
    let cleaned = clean_elements(rest.split('\\'), rooted).join("\\");
    let body = match (rooted, cleaned.is_empty()) {
        (true, _) => format!("\\{cleaned}"),
        (false, true) if volume.is_empty() => ".".to_string(),
        (false, _) => cleaned,
    };
    format!("{volume}{body}")
}

fn split_windows_volume(path: &str) -> (&str, &str) {
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return path.split_at(2);
    }
    if let Some(unc) = path.strip_prefix("\\\\") {
        // \\server\share: the volume ends before the separator after the share.
        let mut parts = unc.splitn(3, '\\');
        let server = parts.next().unwrap_or("");
        let share = parts.next().unwrap_or("");
        if !server.is_empty() && !share.is_empty() {
            return path.split_at(2 + server.len() + 1 + share.len());
        }
    }
    ("", path)
}

fn clean_elements<'a>(parts: impl Iterator<Item = &'a str>, rooted: bool) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for part in parts {
        match part {
            "" | "." => {}
            ".." => match out.last() {
                Some(&last) if last != ".." => {
                    out.pop();
                }
                _ if rooted => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs)
    }

    #[test]
    fn unix_rules() {
        let p = Platform::Unix;
        assert_eq!(
            resolve_config_dir(&env(&[("HOME", "/home/u")]), p).unwrap(),
            "/home/u/.config/sst"
        );
        assert_eq!(
            resolve_config_dir(
                &env(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/x/y/")]),
                p
            )
            .unwrap(),
            "/x/y/sst"
        );
        assert_eq!(
            resolve_config_dir(&env(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "")]), p).unwrap(),
            "/home/u/.config/sst"
        );
        assert_eq!(
            resolve_config_dir(&env(&[("XDG_CONFIG_HOME", "/a//b/../c/.")]), p).unwrap(),
            "/a/c/sst"
        );
        let rel = resolve_config_dir(&env(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "rel/dir")]), p)
            .unwrap_err();
        assert_eq!(rel.code(), "CONFIG_DIR_RELATIVE_XDG");
        assert!(rel.to_string().contains("rel/dir"));
        assert_eq!(
            resolve_config_dir(&env(&[]), p).unwrap_err().code(),
            "CONFIG_DIR_NO_HOME"
        );
        assert_eq!(
            resolve_config_dir(&env(&[("HOME", "")]), p)
                .unwrap_err()
                .code(),
            "CONFIG_DIR_NO_HOME"
        );
    }

    #[test]
    fn darwin_ignores_xdg() {
        let p = Platform::Darwin;
        assert_eq!(
            resolve_config_dir(&env(&[("HOME", "/Users/u"), ("XDG_CONFIG_HOME", "/x")]), p)
                .unwrap(),
            "/Users/u/Library/Application Support/sst"
        );
        assert_eq!(
            resolve_config_dir(&env(&[("XDG_CONFIG_HOME", "/x")]), p)
                .unwrap_err()
                .code(),
            "CONFIG_DIR_NO_HOME"
        );
    }

    #[test]
    fn windows_rules() {
        let p = Platform::Windows;
        assert_eq!(
            resolve_config_dir(&env(&[("APPDATA", "C:\\Users\\u\\AppData\\Roaming")]), p).unwrap(),
            "C:\\Users\\u\\AppData\\Roaming\\sst"
        );
        assert_eq!(
            resolve_config_dir(&env(&[("AppData", "C:/Users/u/AppData/Roaming/")]), p).unwrap(),
            "C:\\Users\\u\\AppData\\Roaming\\sst"
        );
        assert_eq!(
            resolve_config_dir(&env(&[("APPDATA", "\\\\srv\\share\\u")]), p).unwrap(),
            "\\\\srv\\share\\u\\sst"
        );
        let err = resolve_config_dir(&env(&[("HOME", "/h")]), p).unwrap_err();
        assert_eq!(err.code(), "CONFIG_DIR_NO_HOME");
        assert!(err.to_string().contains("%AppData%"));
    }

    #[test]
    fn go_clean() {
        for (input, want) in [
            ("", "."),
            ("/", "/"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("a//b/./c/", "a/b/c"),
            ("../../x", "../../x"),
        ] {
            assert_eq!(clean_unix(input), want, "{input}");
        }
        assert_eq!(clean_windows("C:\\a\\..\\b"), "C:\\b");
        assert_eq!(clean_windows("C:"), "C:");
        assert_eq!(clean_windows("C:\\"), "C:\\");
    }

    #[test]
    fn node_platform_names() {
        assert_eq!(Platform::from_node("linux"), Some(Platform::Unix));
        assert_eq!(Platform::from_node("darwin"), Some(Platform::Darwin));
        assert_eq!(Platform::from_node("win32"), Some(Platform::Windows));
        assert_eq!(Platform::from_node("beos"), None);
    }
}
