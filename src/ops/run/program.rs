//! The program `run -- <command>` starts, found as a shell finds it. On
//! Windows a bare name is looked up in `PATH` with each `PATHEXT` extension,
//! as cmd.exe and PowerShell do: `npx` is `npx.cmd`, which Rust's `Command`
//! (it tries `.exe` only) would not find. Elsewhere the name goes to the OS
//! unchanged (execvp searches `PATH`).
//!
//! The current directory is not searched for a bare name (PowerShell and
//! Rust's `Command` do not either): `.\deploy` says so explicitly.

use std::path::{Path, PathBuf};

/// What to start for `program`, run in `cwd`: on Windows, found through the
/// process's `PATH` and `PATHEXT`; elsewhere (or when nothing is found,
/// so the OS reports it) `program` itself.
pub fn resolve(program: &str, cwd: Option<&Path>) -> PathBuf {
    if !cfg!(windows) {
        return PathBuf::from(program);
    }
    let var = |key| std::env::var_os(key).map(|v| v.to_string_lossy().into_owned());
    search(
        program,
        &var("PATH").unwrap_or_default(),
        var("PATHEXT").as_deref(),
        cwd,
        |p| p.is_file(),
    )
    .unwrap_or_else(|| PathBuf::from(program))
}

/// cmd.exe's `PATHEXT` when the variable is unset.
const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// Windows' lookup of `program` (`path` and `pathext` are `;`-separated, as
/// on Windows; `is_file` asks the file system):
/// - a name with a directory part (`.\deploy`, `bin/x`, `C:\x`) is looked
///   for there only, relative to `cwd`; a bare name in each `path`
///   directory in turn;
/// - in each place: the name as written when it has an extension, then the
///   name with each `pathext` extension, in order. The first file found wins.
pub fn search(
    program: &str,
    path: &str,
    pathext: Option<&str>,
    cwd: Option<&Path>,
    is_file: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    let extensions: Vec<&str> = pathext
        .filter(|p| !p.trim().is_empty())
        .unwrap_or(DEFAULT_PATHEXT)
        .split(';')
        .map(str::trim)
        .filter(|e| e.starts_with('.') && e.len() > 1)
        .collect();
    let has_extension = Path::new(program).extension().is_some();
    let candidates = |base: PathBuf| {
        let mut names = Vec::new();
        if has_extension {
            names.push(base.clone());
        }
        for ext in &extensions {
            let mut name = base.clone().into_os_string();
            name.push(ext);
            names.push(PathBuf::from(name));
        }
        names
    };
    if program.contains(['/', '\\', ':']) {
        let base = match cwd {
            Some(cwd) if Path::new(program).is_relative() && !program.contains(':') => {
                cwd.join(program)
            }
            _ => PathBuf::from(program),
        };
        return candidates(base).into_iter().find(|c| is_file(c));
    }
    path.split(';')
        .map(|dir| dir.trim().trim_matches('"'))
        .filter(|dir| !dir.is_empty())
        .flat_map(|dir| candidates(Path::new(dir).join(program)))
        .find(|c| is_file(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// `is_file` as on Windows: names compare without regard to case.
    fn windows_is_file(p: &Path) -> bool {
        let (Some(dir), Some(name)) = (p.parent(), p.file_name()) else {
            return false;
        };
        fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().eq_ignore_ascii_case(name) && e.path().is_file())
        })
    }

    fn files(root: &Path, names: &[&str]) {
        for name in names {
            let file = root.join(name);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, "").unwrap();
        }
    }

    fn found(
        program: &str,
        path: &str,
        pathext: Option<&str>,
        cwd: Option<&Path>,
    ) -> Option<String> {
        search(program, path, pathext, cwd, windows_is_file)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
    }

    #[test]
    fn a_bare_name_is_found_with_pathext_in_path_order() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().to_string_lossy().replace('\\', "/");
        files(
            root.path(),
            &[
                "node/npx.cmd",
                "node/node.exe",
                "tools/npx.exe",
                "both/x.cmd",
                "both/x.exe",
                "node/readme",
            ],
        );
        let path = format!("{r}/empty;\"{r}/node\";;{r}/tools;{r}/both");
        let std = Some(".COM;.EXE;.BAT;.CMD");
        // npx is npx.cmd (Rust's Command looks for npx.exe only); the first
        // PATH directory holding any match wins over the extensions' order
        assert_eq!(
            found("npx", &path, std, None),
            Some(format!("{r}/node/npx.CMD"))
        );
        assert_eq!(
            found("node", &path, std, None),
            Some(format!("{r}/node/node.EXE"))
        );
        // within one directory, PATHEXT's order decides
        assert_eq!(
            found("x", &path, std, None),
            Some(format!("{r}/both/x.EXE"))
        );
        assert_eq!(
            found("x", &path, Some(".CMD;.EXE"), None),
            Some(format!("{r}/both/x.CMD"))
        );
        // a name with an extension is taken as written first
        assert_eq!(
            found("npx.cmd", &path, std, None),
            Some(format!("{r}/node/npx.cmd"))
        );
        // PATHEXT unset or empty: cmd.exe's default
        assert_eq!(
            found("npx", &path, None, None),
            Some(format!("{r}/node/npx.CMD"))
        );
        assert_eq!(
            found("npx", &path, Some(""), None),
            Some(format!("{r}/node/npx.CMD"))
        );
        // a file without an executable extension is not a program; nothing found
        assert_eq!(found("readme", &path, std, None), None);
        assert_eq!(found("sst", &path, std, None), None);
        assert_eq!(found("", &path, std, None), None);
    }

    #[test]
    fn a_name_with_a_directory_is_looked_for_there_only_relative_to_cwd() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().to_string_lossy().replace('\\', "/");
        files(
            root.path(),
            &["app/scripts/deploy.cmd", "app/npx.cmd", "node/npx.cmd"],
        );
        let cwd = root.path().join("app");
        let path = format!("{r}/node");
        let std = Some(".EXE;.CMD");
        assert_eq!(
            found("scripts/deploy", &path, std, Some(&cwd)),
            Some(format!("{r}/app/scripts/deploy.CMD"))
        );
        assert_eq!(
            found("./npx", &path, std, Some(&cwd)).map(|p| p.replace("/./", "/")),
            Some(format!("{r}/app/npx.CMD"))
        );
        // the current directory is not searched for a bare name
        files(root.path(), &["app/only-here.cmd"]);
        assert_eq!(found("only-here", &path, std, Some(&cwd)), None);
        // an absolute path is not joined to cwd
        assert_eq!(
            found(&format!("{r}/node/npx"), "", std, Some(&cwd)),
            Some(format!("{r}/node/npx.CMD"))
        );
    }

    #[test]
    fn on_windows_the_process_path_is_searched_elsewhere_the_name_is_unchanged() {
        if cfg!(windows) {
            // cmd.exe is in System32, on every PATH
            let cmd = resolve("cmd", None).to_string_lossy().to_ascii_lowercase();
            assert!(cmd.ends_with("\\cmd.exe"), "{cmd}");
        } else {
            assert_eq!(resolve("npx", None), PathBuf::from("npx"));
        }
    }
}
