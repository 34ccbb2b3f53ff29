//! Git's `urlmatch` rules for `http.<url>.<key>` config (a port of git's
//! `urlmatch.c` and the `http.extraheader` handling of `http.c`), because
//! libgit2 ignores `http.extraheader` and we must send those headers ourselves.
//!
//! How git picks the entries that apply to a URL:
//!
//! * Both URLs are normalised (`url_normalize`): scheme and host lowercased,
//!   `%XX` escapes normalised to upper case and unescaped where not needed,
//!   leading zeros and default ports (http 80, https 443) removed, `.` and
//!   `..` path segments resolved. A config URL that does not normalise is
//!   ignored; when the target URL does not normalise, only `http.<key>`
//!   entries without a URL apply.
//! * A config URL matches when the schemes are equal, its user (if it has
//!   one) equals the target's user, the hosts are equal label by label (a
//!   config label `*` matches any one label), the ports are equal, and its
//!   path (query included, trailing `/` ignored) is the target's path or a
//!   prefix of it ending at a `/`.
//! * Specificity of a match (git's `cmp_matches`): longer config host
//!   first, then longer matched path, then "config URL had a user". An
//!   entry without URL has specificity zero.
//! * Entries are read in config order; one whose match is less specific than
//!   the best seen so far for the same key is skipped, otherwise it becomes
//!   the new best and is applied: for `extraheader` an empty value clears the
//!   headers collected so far and any other value is appended.

/// One config entry as git2 reports it, in the order git reads config files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The full variable name, e.g. `http.https://dev.azure.com/org/.extraheader`
    /// or `http.extraheader`; section and key compare case-insensitively, the
    /// URL subsection is taken as written.
    pub name: String,
    /// The value; `None` for a key written without `=`.
    pub value: Option<String>,
}

impl ConfigEntry {
    /// An entry with a value.
    #[cfg(test)]
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        ConfigEntry {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

/// A URL split and normalised the way git's `url_normalize` does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl {
    /// The scheme, lowercased (`https`).
    pub scheme: String,
    /// The user name as normalised by git (escapes kept where git keeps
    /// them); `Some("")` for `https://@host/`, `None` without `@`.
    pub user: Option<String>,
    /// Whether the user info has a `:` (a password, possibly empty).
    pub has_password: bool,
    /// The host, lowercased; IPv6 literals keep their brackets; empty only
    /// for `file:` URLs.
    pub host: String,
    /// The explicit port, else the scheme's default (80 for `http`, 443 for
    /// `https`); `None` for other schemes without a port.
    pub port: Option<u16>,
    /// The normalised path, always starting with `/`.
    pub path: String,
    /// The normalised query and fragment (starting with `?` or `#`), or empty.
    pub rest: String,
}

/// Splits and normalises `url` like git's `url_normalize`; `None` when git
/// would reject it (no `scheme://`, missing host, bad port, bad `%` escape,
/// a `..` above the root, invalid host characters, ...). Not a validator:
/// like git, it accepts some invalid host names.
pub fn parse_url(url: &str) -> Option<ParsedUrl> {
    let n = normalize(url, false)?;
    let port = match &n.port {
        Some(p) => p.parse().ok(),
        None => match n.scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        },
    };
    Some(ParsedUrl {
        scheme: n.scheme,
        user: n.user,
        has_password: n.password.is_some(),
        host: n.host,
        port,
        path: n.path,
        rest: n.rest,
    })
}

/// The extra HTTP headers git would send to `url` for
/// `http[.<url>].extraheader` entries, in order. Non-http(s) remotes (ssh,
/// scp-like `git@host:path`, local paths) get none, since no HTTP is used.
/// An `extraheader` key without a value adds nothing (git aborts on it
/// with "missing value for 'http.extraheader'").
pub fn extra_headers(entries: &[ConfigEntry], url: &str) -> Vec<String> {
    if !is_http_url(url) {
        return Vec::new();
    }
    let mut headers = Vec::new();
    for entry in applied_entries(entries, url, "extraheader") {
        match entry.value.as_deref() {
            None => {}
            Some("") => headers.clear(),
            Some(value) => headers.push(value.to_string()),
        }
    }
    headers
}

/// The `http[.<url>].<key>` entries git hands to its `http.<key>` handler
/// for `url`, in order: those that match `url` at least as specifically as
/// every earlier applied one (git's `urlmatch_config_entry`).
fn applied_entries<'a>(entries: &'a [ConfigEntry], url: &str, key: &str) -> Vec<&'a ConfigEntry> {
    let target = normalize(url, false);
    let mut best: Option<Specificity> = None;
    let mut applied = Vec::new();
    for entry in entries {
        let Some((config_url, entry_key)) = split_name(&entry.name) else {
            continue;
        };
        if !entry_key.eq_ignore_ascii_case(key) {
            continue;
        }
        let matched = match config_url {
            None => Specificity::default(),
            Some(config_url) => {
                let Some(target) = &target else {
                    continue;
                };
                let Some(pattern) = normalize(config_url, true) else {
                    continue;
                };
                match match_urls(target, &pattern) {
                    Some(m) => m,
                    None => continue,
                }
            }
        };
        if best.is_some_and(|best| matched < best) {
            continue;
        }
        best = Some(matched);
        applied.push(entry);
    }
    applied
}

/// Whether `url` starts with `http://` or `https://` (any case).
fn is_http_url(url: &str) -> bool {
    let lower = |n: usize| url.get(..n).map(str::to_ascii_lowercase);
    lower(7).as_deref() == Some("http://") || lower(8).as_deref() == Some("https://")
}

/// Splits `http.<url>.<key>` / `http.<key>` into the optional URL and the
/// key (git: the last `.` ends the URL); `None` for other sections.
fn split_name(name: &str) -> Option<(Option<&str>, &str)> {
    let section = name.get(..5)?;
    if !section.eq_ignore_ascii_case("http.") {
        return None;
    }
    let rest = &name[5..];
    Some(match rest.rfind('.') {
        Some(dot) => (Some(&rest[..dot]), &rest[dot + 1..]),
        None => (None, rest),
    })
}

/// How specific a match is; ordered like git's `cmp_matches`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Specificity {
    host_len: usize,
    path_len: usize,
    user_matched: bool,
}

/// A URL normalised like git's `url_normalize_1`.
#[derive(Debug, Clone)]
struct Normalized {
    scheme: String,
    user: Option<String>,
    password: Option<String>,
    host: String,
    /// The explicit, non-default port without leading zeros.
    port: Option<String>,
    path: String,
    rest: String,
}

impl Normalized {
    /// Path plus query and fragment: what git's prefix match compares.
    fn tail(&self) -> String {
        format!("{}{}", self.path, self.rest)
    }
}

const SCHEME_EXTRA: &[u8] = b"+.-";
const HOST_EXTRA: &[u8] = b".-_[:]";
const UNSAFE: &[u8] = b" <>\"%{}|\\^`";
const RESERVED: &[u8] = b":/?#[]@!$&'()*+,;=";

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// git's `append_normalized_escapes` with `esc_extra = ""` and
/// `esc_ok = URL_RESERVED`; `None` on a bad `%` escape.
fn append_escapes(out: &mut String, from: &[u8]) -> Option<()> {
    let mut i = 0;
    while i < from.len() {
        let mut ch = from[i];
        i += 1;
        let mut was_escaped = false;
        if ch == b'%' {
            if from.len() - i < 2 {
                return None;
            }
            ch = (hex_val(from[i])? << 4) | hex_val(from[i + 1])?;
            i += 2;
            was_escaped = true;
        }
        if ch <= 0x1f
            || ch >= 0x7f
            || UNSAFE.contains(&ch)
            || (was_escaped && RESERVED.contains(&ch))
        {
            out.push_str(&format!("%{ch:02X}"));
        } else {
            out.push(char::from(ch));
        }
    }
    Some(())
}

/// Port of git's `url_normalize_1`; `allow_globs` admits `*` in hosts
/// (config URLs only).
fn normalize(url: &str, allow_globs: bool) -> Option<Normalized> {
    let b = url.as_bytes();
    if b.contains(&0) {
        return None;
    }
    let (scheme, authority_start) = split_scheme(url)?;
    let authority_end = find_any(b, authority_start, b"/?#");
    let (user, password, host_start) = split_user_info(b, authority_start, authority_end)?;
    let (host, port) = split_host_port(url, &scheme, host_start, authority_end, allow_globs)?;
    let (path, rest_start) = normalize_path(b, authority_end)?;
    // Query and fragment: escapes normalised only.
    let mut rest = String::new();
    append_escapes(&mut rest, &b[rest_start..])?;
    Some(Normalized {
        scheme,
        user,
        password,
        host,
        port,
        path,
        rest,
    })
}

/// The index of the first byte of `b` at or after `from` that is one of
/// `set`, else `b.len()`.
fn find_any(b: &[u8], from: usize, set: &[u8]) -> usize {
    from + b[from..]
        .iter()
        .position(|c| set.contains(c))
        .unwrap_or(b.len() - from)
}

/// The lowercased scheme (an alpha, then scheme chars) and the index after
/// its `://`; `None` when `url` does not start that way.
fn split_scheme(url: &str) -> Option<(String, usize)> {
    let b = url.as_bytes();
    let spanned = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || SCHEME_EXTRA.contains(c))
        .count();
    if spanned == 0
        || !b[0].is_ascii_alphabetic()
        || spanned + 3 > b.len()
        || &b[spanned..spanned + 3] != b"://"
    {
        return None;
    }
    Some((url[..spanned].to_ascii_lowercase(), spanned + 3))
}

/// The user info of the authority `b[start..end]` (up to its first `@`),
/// escapes normalised and split at the first `:` into user and password,
/// and the index where the host starts; no user without an `@`. `None` on a
/// bad `%` escape.
fn split_user_info(
    b: &[u8],
    start: usize,
    end: usize,
) -> Option<(Option<String>, Option<String>, usize)> {
    let Some(at) = b[start..end].iter().position(|&c| c == b'@') else {
        return Some((None, None, start));
    };
    let at = start + at;
    let mut info = String::new();
    append_escapes(&mut info, &b[start..at])?;
    let password = info.find(':').map(|colon| {
        let password = info[colon + 1..].to_string();
        info.truncate(colon);
        password
    });
    Some((Some(info), password, at + 1))
}

/// The lowercased host and the normalised port (see [`normalize_port`]) of
/// `url[start..end]`; `None` when the host is missing (allowed, without a
/// port, for `file:` URLs only) or has a character git rejects.
fn split_host_port(
    url: &str,
    scheme: &str,
    start: usize,
    end: usize,
    allow_globs: bool,
) -> Option<(String, Option<String>)> {
    let b = url.as_bytes();
    let has_host = !(start == b.len() || b":/?#".contains(&b[start]));
    if !has_host && scheme != "file" {
        return None;
    }
    let colon = port_colon(b, start, end);
    // git: a port on a host-less (file:) URL is an error.
    if !has_host && colon < end && colon + 1 != end {
        return None;
    }
    let host_ok =
        |c: &u8| c.is_ascii_alphanumeric() || HOST_EXTRA.contains(c) || (allow_globs && *c == b'*');
    if b[start..colon].iter().any(|c| !host_ok(c)) {
        return None;
    }
    let host = url[start..colon].to_ascii_lowercase();
    let port = if colon < end {
        normalize_port(&url[colon + 1..end], scheme)?
    } else {
        None
    };
    Some((host, port))
}

/// The index of the `:` that starts the port in `b[start..end]` (the last
/// `:`, unless an IPv6 literal's `]` comes after it), else `end`.
fn port_colon(b: &[u8], start: usize, end: usize) -> usize {
    match b[start..end].iter().rposition(|&c| c == b':' || c == b']') {
        Some(c) if b[start + c] == b':' => start + c,
        _ => end,
    }
}

/// The port text after the `:`, normalised: leading zeros dropped, `None`
/// when empty or the scheme's default (http 80, https 443). The outer
/// `None` when git rejects it (not digits, or not 1..=65535).
fn normalize_port(text: &str, scheme: &str) -> Option<Option<String>> {
    let digits = match text.trim_start_matches('0') {
        "" if !text.is_empty() => "0",
        digits => digits,
    };
    let is_default = (scheme == "http" && digits == "80") || (scheme == "https" && digits == "443");
    if digits.is_empty() || is_default {
        return Some(None);
    }
    if !digits.bytes().all(|c| c.is_ascii_digit()) || digits.len() > 5 {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    if n == 0 || n > 65535 {
        return None;
    }
    Some(Some(digits.to_string()))
}

/// The path starting at `b[start]` (a `/`, or the end of the authority):
/// a leading `/` added, escapes normalised, `.` and `..` segments resolved;
/// and the index where the query or fragment starts. `None` on a bad `%`
/// escape or a `..` above the root.
fn normalize_path(b: &[u8], start: usize) -> Option<(String, usize)> {
    let mut path = String::from("/");
    let mut i = start;
    if i < b.len() && b[i] == b'/' {
        i += 1;
    }
    loop {
        let segment_start = path.len();
        let next = find_any(b, i, b"/?#");
        append_escapes(&mut path, &b[i..next])?;
        let at_root = resolve_dot_segment(&mut path, segment_start)?;
        i = next;
        if i >= b.len() || b[i] != b'/' {
            break;
        }
        i += 1;
        if !at_root {
            path.push('/');
        }
    }
    Some((path, i))
}

/// Resolves the segment `path[segment_start..]` (just appended, after a
/// `/`) when it is `.` or `..`. `Some(true)` when that left the path at the
/// root `/` itself, so the separator after the segment must not be added
/// again; `None` for a `..` above the root.
fn resolve_dot_segment(path: &mut String, segment_start: usize) -> Option<bool> {
    match &path[segment_start..] {
        "." if segment_start == 1 => {
            path.truncate(1);
            Some(true)
        }
        "." => {
            // drop the segment and the '/' before it
            path.truncate(segment_start - 1);
            Some(false)
        }
        ".." => {
            // the '/' that starts the parent segment
            let parent = path[..segment_start - 1].rfind('/')?;
            if parent == 0 {
                path.truncate(1);
                Some(true)
            } else {
                path.truncate(parent);
                Some(false)
            }
        }
        _ => Some(false),
    }
}

/// git's `match_host`: label by label, a pattern label `*` matches any one.
fn match_host(url: &str, pattern: &str) -> bool {
    let (mut u, mut p) = (url.as_bytes(), pattern.as_bytes());
    while !u.is_empty() && !p.is_empty() {
        let un = u.iter().position(|&c| c == b'.').unwrap_or(u.len());
        let pn = p.iter().position(|&c| c == b'.').unwrap_or(p.len());
        let wildcard = pn == 1 && p[0] == b'*';
        if !wildcard && u[..un] != p[..pn] {
            return false;
        }
        u = &u[(un + 1).min(u.len())..];
        p = &p[(pn + 1).min(p.len())..];
    }
    u.is_empty() && p.is_empty()
}

/// git's `url_match_prefix`: the length of the match including the
/// (possibly implicit) final `/`, or 0.
fn match_prefix(url: &str, prefix: &str) -> usize {
    if prefix.is_empty() || prefix == "/" {
        return usize::from(url.is_empty() || url.starts_with('/'));
    }
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    match url.strip_prefix(prefix) {
        Some(after) if after.is_empty() || after.starts_with('/') => prefix.len() + 1,
        _ => 0,
    }
}

/// git's `match_urls`: how specifically `pattern` (a config URL) matches `url`.
fn match_urls(url: &Normalized, pattern: &Normalized) -> Option<Specificity> {
    if url.scheme != pattern.scheme {
        return None;
    }
    let mut user_matched = false;
    if let Some(pattern_user) = &pattern.user {
        if url.user.as_ref() != Some(pattern_user) {
            return None;
        }
        user_matched = true;
    }
    if !match_host(&url.host, &pattern.host) || url.port != pattern.port {
        return None;
    }
    let path_len = match_prefix(&url.tail(), &pattern.tail());
    if path_len == 0 {
        return None;
    }
    Some(Specificity {
        host_len: pattern.host.len(),
        path_len,
        user_matched,
    })
}

#[cfg(test)]
mod tests;
