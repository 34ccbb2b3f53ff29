//! Redaction of credentials in URLs, HTTP `Authorization` headers and known
//! secrets, so remote URLs, git errors and logs can be shown safely; and a
//! URL's credentials taken out ([`strip_userinfo`]).
//!
//! Rules:
//!
//! * In `scheme://userinfo@host...` (the user info ends at the last `@`
//!   before the first `/`, `?`, `#`, whitespace, quote or `<>`), a non-empty
//!   password becomes `***`.
//! * The user becomes `***` too unless it is a plain name: at most
//!   [`PLAIN_USER_MAX_LEN`] characters, starting with an ASCII letter, made
//!   of ASCII letters, digits, `.`, `_` and `-` only (`git`, `org`,
//!   `x-access-token`, `oauth2`, `gitlab-ci-token` stay; `ghp_…`, PATs and
//!   numbers do not). This covers the `https://TOKEN@host` form, and the
//!   `https://TOKEN:x-oauth-basic@host` form, where the token is the user.
//! * `Authorization:` (any case, so also `Proxy-Authorization:`, and the
//!   JSON form `"Authorization": "..."`) keeps its scheme word and loses the
//!   credentials after it: `Authorization: Basic ***`; a lone value without
//!   scheme becomes `***`. The credentials end at whitespace or a quote.
//! * Every listed secret of at least [`MIN_SECRET_LEN`] characters is
//!   replaced wherever it occurs (longest first).

/// The longest user name shown as is in a URL.
pub const PLAIN_USER_MAX_LEN: usize = 20;

/// Listed secrets shorter than this (in characters) are not redacted, since
/// replacing them would mangle ordinary text.
pub const MIN_SECRET_LEN: usize = 4;

const MASK: &str = "***";

/// `url` with its password, and its user unless a plain name, replaced by
/// `***`; text without `scheme://` credentials comes back unchanged.
pub fn redact_url(url: &str) -> String {
    replace_ranges(url, &url_credential_ranges(url))
}

/// `text` with every URL credential, every `Authorization` header value and
/// every listed secret (of at least [`MIN_SECRET_LEN`] characters) replaced
/// by `***`.
pub fn redact_text(text: &str, secrets: &[&str]) -> String {
    let mut secrets: Vec<&str> = secrets
        .iter()
        .copied()
        .filter(|s| s.chars().count() >= MIN_SECRET_LEN)
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, MASK);
        }
    }
    let out = replace_ranges(&out, &url_credential_ranges(&out));
    replace_ranges(&out, &authorization_ranges(&out))
}

/// Whether a URL user name may be shown (see the module rules).
fn is_plain_user(user: &str) -> bool {
    user.len() <= PLAIN_USER_MAX_LEN
        && user.starts_with(|c: char| c.is_ascii_alphabetic())
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn is_scheme_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-')
}

/// Bytes that end a URL's authority, or a credential, in running text.
fn is_stop_byte(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'`' | b'<' | b'>')
}

/// Byte ranges of secret users and non-empty passwords of all
/// `scheme://user[:password]@` occurrences in `text`.
fn url_credential_ranges(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut ranges = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let sep = from + found;
        from = sep + 3;
        // A scheme: scheme characters starting with a letter.
        let mut start = sep;
        while start > 0 && is_scheme_byte(b[start - 1]) {
            start -= 1;
        }
        while start < sep && !b[start].is_ascii_alphabetic() {
            start += 1;
        }
        if start == sep {
            continue;
        }
        let auth_start = sep + 3;
        let auth_end = b[auth_start..]
            .iter()
            .position(|&c| matches!(c, b'/' | b'?' | b'#') || is_stop_byte(c))
            .map_or(b.len(), |p| auth_start + p);
        let Some(at) = b[auth_start..auth_end].iter().rposition(|&c| c == b'@') else {
            continue;
        };
        let at = auth_start + at;
        let info = &text[auth_start..at];
        let (user_end, password) = match info.find(':') {
            Some(colon) => (auth_start + colon, Some((auth_start + colon + 1, at))),
            None => (at, None),
        };
        let user = &text[auth_start..user_end];
        if !user.is_empty() && !is_plain_user(user) {
            ranges.push((auth_start, user_end));
        }
        if let Some((p_start, p_end)) = password {
            if p_end > p_start {
                ranges.push((p_start, p_end));
            }
        }
        from = auth_end.max(from);
    }
    ranges
}

/// Byte ranges of credentials in `Authorization:` headers in `text`.
fn authorization_ranges(text: &str) -> Vec<(usize, usize)> {
    const NAME: &str = "authorization";
    let lower = text.to_ascii_lowercase();
    let b = text.as_bytes();
    let skip_blanks = |mut i: usize| {
        while i < b.len() && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
        i
    };
    let word_end = |mut i: usize| {
        while i < b.len() && !is_stop_byte(b[i]) {
            i += 1;
        }
        i
    };
    let mut ranges = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find(NAME) {
        let mut i = from + found + NAME.len();
        from = i;
        if i < b.len() && matches!(b[i], b'"' | b'\'') {
            i += 1;
        }
        i = skip_blanks(i);
        if i >= b.len() || b[i] != b':' {
            continue;
        }
        i = skip_blanks(i + 1);
        if i < b.len() && matches!(b[i], b'"' | b'\'') {
            i += 1;
        }
        let first_end = word_end(i);
        if first_end == i {
            continue;
        }
        let second = skip_blanks(first_end);
        let second_end = word_end(second);
        let range = if second > first_end && second_end > second {
            (second, second_end)
        } else {
            (i, first_end)
        };
        ranges.push(range);
        from = range.1;
    }
    ranges
}

/// `text` with each (sorted, disjoint) byte range replaced by `***`.
fn replace_ranges(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for &(start, end) in ranges {
        out.push_str(&text[last..start]);
        out.push_str(MASK);
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// `url` without `user[:password]@`.
pub fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GHP: &str = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";

    #[test]
    fn userinfo_is_stripped() {
        assert_eq!(
            strip_userinfo("https://org@dev.azure.com/o/p/_git/r"),
            "https://dev.azure.com/o/p/_git/r"
        );
        assert_eq!(strip_userinfo("https://u:p@h/a@b"), "https://h/a@b");
        assert_eq!(strip_userinfo("https://h/r"), "https://h/r");
        assert_eq!(
            strip_userinfo("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
    }

    #[test]
    fn password_is_masked() {
        assert_eq!(
            redact_url("https://user:pass@host/p?q#f"),
            "https://user:***@host/p?q#f"
        );
        assert_eq!(
            redact_url("https://x-access-token:ghs_abc@github.com/o/r.git"),
            "https://x-access-token:***@github.com/o/r.git"
        );
        assert_eq!(
            redact_url("https://gitlab-ci-token:glcbt-xyz@gitlab.com/g/p.git"),
            "https://gitlab-ci-token:***@gitlab.com/g/p.git"
        );
        assert_eq!(redact_url("http://u:p@h:8080"), "http://u:***@h:8080");
    }

    #[test]
    fn token_users_are_masked() {
        assert_eq!(
            redact_url(&format!("https://{GHP}@github.com/o/r")),
            "https://***@github.com/o/r"
        );
        assert_eq!(
            redact_url(&format!("https://{GHP}:x-oauth-basic@github.com/o/r")),
            "https://***:***@github.com/o/r"
        );
        assert_eq!(redact_url("https://12345@h/"), "https://***@h/");
        assert_eq!(redact_url("https://a%40b@h/"), "https://***@h/");
        assert_eq!(
            redact_url("https://abcdefghijklmnopqrstu@h/"),
            "https://***@h/"
        );
    }

    #[test]
    fn plain_users_and_plain_urls_stay() {
        for url in [
            "https://org@dev.azure.com/org/p/_git/r",
            "https://git@h/r",
            "https://oauth2@gitlab.com/g/p.git",
            "https://abcdefghijklmnopqrst@h/",
            "https://github.com/o/r",
            "https://h/a@b",
            "https://h/?u=a@b",
            "https://u:@h/",
            "ssh://git@github.com/o/r.git",
            "git@github.com:o/r.git",
            "/home/me/repo",
            "",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn password_with_at_sign() {
        assert_eq!(redact_url("https://u:p@ss@h/r"), "https://u:***@h/r");
    }

    #[test]
    fn urls_in_text() {
        let text = "fatal: unable to access 'https://u:s3cr3t@h/r/': 403\n\
                    remote: https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r \
                    and (git+https://a:b@x.y/z) and ssh://git@h/r";
        assert_eq!(
            redact_text(text, &[]),
            "fatal: unable to access 'https://u:***@h/r/': 403\n\
             remote: https://***@github.com/o/r \
             and (git+https://a:***@x.y/z) and ssh://git@h/r"
        );
        // Non-ASCII around URLs is fine.
        assert_eq!(
            redact_text("é https://u:pé@h é", &[]),
            "é https://u:***@h é"
        );
        assert_eq!(redact_text("://u:p@h", &[]), "://u:p@h");
    }

    #[test]
    fn listed_secrets() {
        assert_eq!(
            redact_text(
                "token abc123 and abc1234 and abc",
                &["abc123", "abc1234", "abc", ""]
            ),
            "token *** and *** and abc"
        );
        assert_eq!(
            redact_text("no secret here", &["missing"]),
            "no secret here"
        );
    }

    #[test]
    fn authorization_headers() {
        assert_eq!(
            redact_text("AUTHORIZATION: basic eHl6OnBhc3M=", &[]),
            "AUTHORIZATION: basic ***"
        );
        assert_eq!(
            redact_text(
                "git -c http.extraheader=\"Authorization: Bearer tok\" push",
                &[]
            ),
            "git -c http.extraheader=\"Authorization: Bearer ***\" push"
        );
        assert_eq!(
            redact_text("> Proxy-Authorization: Basic abc\r\n> Host: h\r\n", &[]),
            "> Proxy-Authorization: Basic ***\r\n> Host: h\r\n"
        );
        assert_eq!(
            redact_text("{\"Authorization\": \"token abc\"}", &[]),
            "{\"Authorization\": \"token ***\"}"
        );
        assert_eq!(
            redact_text("authorization:abc123\nnext", &[]),
            "authorization:***\nnext"
        );
        assert_eq!(
            redact_text("authorization:  \nnext", &[]),
            "authorization:  \nnext"
        );
        assert_eq!(
            redact_text("no authorization here", &[]),
            "no authorization here"
        );
    }

    #[test]
    fn everything_together_is_idempotent() {
        let text = "push https://x:tok3n@h/r with Authorization: Basic dG9rM24= (tok3n)";
        let once = redact_text(text, &["tok3n"]);
        assert_eq!(
            once,
            "push https://x:***@h/r with Authorization: Basic *** (***)"
        );
        assert_eq!(redact_text(&once, &["tok3n"]), once);
    }
}
