use super::*;

fn e(name: &str, value: &str) -> ConfigEntry {
    ConfigEntry::new(name, value)
}

#[test]
fn github_actions_checkout() {
    let entries = [e(
        "http.https://github.com/.extraheader",
        "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46dG9r",
    )];
    assert_eq!(
        extra_headers(&entries, "https://github.com/o/r"),
        ["AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46dG9r"]
    );
    assert_eq!(
        extra_headers(&entries, "https://github.com/o/r.git"),
        ["AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46dG9r"]
    );
    assert!(extra_headers(&entries, "https://gitlab.com/o/r").is_empty());
}

#[test]
fn azure_devops_user_in_url() {
    let entries = [e(
        "http.https://org@dev.azure.com/org/proj/_git/repo.extraheader",
        "AUTHORIZATION: bearer abc",
    )];
    assert_eq!(
        extra_headers(&entries, "https://org@dev.azure.com/org/proj/_git/repo"),
        ["AUTHORIZATION: bearer abc"]
    );
    // A config URL with a user only matches URLs with that user.
    assert!(extra_headers(&entries, "https://dev.azure.com/org/proj/_git/repo").is_empty());
    assert!(extra_headers(&entries, "https://other@dev.azure.com/org/proj/_git/repo").is_empty());
    // Path boundary: the repo URL is not a prefix of another repo.
    assert!(extra_headers(&entries, "https://org@dev.azure.com/org/proj/_git/repo2").is_empty());
}

#[test]
fn config_without_user_matches_any_user() {
    let entries = [e("http.https://dev.azure.com/.extraheader", "X: 1")];
    assert_eq!(
        extra_headers(&entries, "https://org:pw@dev.azure.com/org/proj"),
        ["X: 1"]
    );
}

#[test]
fn wildcard_host_matches_one_label() {
    let entries = [e("http.https://*.example.com.extraheader", "X: 1")];
    assert_eq!(
        extra_headers(&entries, "https://git.example.com/r"),
        ["X: 1"]
    );
    assert!(extra_headers(&entries, "https://example.com/r").is_empty());
    assert!(extra_headers(&entries, "https://a.b.example.com/r").is_empty());
    let entries = [e("http.https://git.*.com/.extraheader", "X: 2")];
    assert_eq!(
        extra_headers(&entries, "https://git.example.com/"),
        ["X: 2"]
    );
}

#[test]
fn default_ports() {
    let entries = [e("http.https://h:443/.extraheader", "X: 1")];
    assert_eq!(extra_headers(&entries, "https://h/r"), ["X: 1"]);
    assert_eq!(extra_headers(&entries, "https://h:0443/r"), ["X: 1"]);
    assert!(extra_headers(&entries, "https://h:8443/r").is_empty());
    let entries = [e("http.https://h/.extraheader", "X: 2")];
    assert_eq!(extra_headers(&entries, "https://h:443/r"), ["X: 2"]);
    let entries = [e("http.http://h:80.extraheader", "X: 3")];
    assert_eq!(extra_headers(&entries, "http://h/r"), ["X: 3"]);
    // The default port belongs to the scheme.
    assert!(extra_headers(&entries, "https://h:80/r").is_empty());
}

#[test]
fn path_boundary() {
    let entries = [e("http.https://h/org.extraheader", "X: 1")];
    assert_eq!(extra_headers(&entries, "https://h/org"), ["X: 1"]);
    assert_eq!(extra_headers(&entries, "https://h/org/"), ["X: 1"]);
    assert_eq!(extra_headers(&entries, "https://h/org/repo"), ["X: 1"]);
    assert!(extra_headers(&entries, "https://h/organisation").is_empty());
    assert!(extra_headers(&entries, "https://h/").is_empty());
    let entries = [e("http.https://h/org/.extraheader", "X: 2")];
    assert_eq!(extra_headers(&entries, "https://h/org"), ["X: 2"]);
    assert!(extra_headers(&entries, "https://h/organisation").is_empty());
}

#[test]
fn path_normalisation() {
    let entries = [e("http.https://h/a/./b/../c%2dd/.extraheader", "X: 1")];
    assert_eq!(extra_headers(&entries, "https://h/a/c-d/repo"), ["X: 1"]);
    assert_eq!(
        extra_headers(&entries, "https://h/a/%63-d/x/../repo"),
        ["X: 1"]
    );
    // A %2F stays escaped, so it is not a path separator.
    assert!(extra_headers(&entries, "https://h/a%2Fc-d/repo").is_empty());
}

#[test]
fn case_insensitive_scheme_and_host_and_names() {
    let entries = [e("HTTP.HTTPS://GitHub.COM/.ExtraHeader", "X: 1")];
    assert_eq!(extra_headers(&entries, "hTTps://github.com/o/r"), ["X: 1"]);
    // The path stays case-sensitive.
    let entries = [e("http.https://github.com/O/.extraheader", "X: 2")];
    assert!(extra_headers(&entries, "https://github.com/o/r").is_empty());
}

#[test]
fn global_entries_and_empty_value_clear() {
    let entries = [
        e("http.extraheader", "A: 1"),
        e("http.extraheader", "B: 2"),
        e("http.extraheader", ""),
        e("http.extraheader", "C: 3"),
    ];
    assert_eq!(extra_headers(&entries, "https://h/r"), ["C: 3"]);
}

#[test]
fn more_specific_clears_and_appends() {
    let entries = [
        e("http.extraheader", "A: 1"),
        e("http.https://h/.extraheader", "B: 2"),
        e("http.https://h/o/.extraheader", ""),
        e("http.https://h/o/.extraheader", "C: 3"),
    ];
    assert_eq!(extra_headers(&entries, "https://h/o/r"), ["C: 3"]);
    // For another URL only the first two apply.
    assert_eq!(extra_headers(&entries, "https://h/x"), ["A: 1", "B: 2"]);
}

/// The header lists git 2.47 actually sent (`git ls-remote` against a
/// local server logging headers) for this config.
#[test]
fn lists_observed_from_real_git() {
    let h = "http.http://127.0.0.1:18777";
    let entries = [
        e("http.extraheader", "X-T1: global1"),
        e(&format!("{h}/.extraheader"), "X-T2: host"),
        e("http.extraheader", "X-T3: global-late"),
        e(&format!("{h}/o.extraheader"), ""),
        e(&format!("{h}/o.extraheader"), "X-T4: o"),
        e(&format!("{h}/.extraheader"), "X-T5: host-late"),
        e(&format!("{h}/o/r.extraheader"), "X-T6: repo"),
    ];
    let base = "http://127.0.0.1:18777";
    assert_eq!(
        extra_headers(&entries, &format!("{base}/o/r")),
        ["X-T4: o", "X-T6: repo"]
    );
    assert_eq!(extra_headers(&entries, &format!("{base}/o/x")), ["X-T4: o"]);
    assert_eq!(
        extra_headers(&entries, &format!("{base}/z")),
        ["X-T1: global1", "X-T2: host", "X-T5: host-late"]
    );
    assert_eq!(
        extra_headers(&entries, "http://u@127.0.0.1:18777/o/r"),
        ["X-T4: o", "X-T6: repo"]
    );
}

#[test]
fn less_specific_later_entry_ignored() {
    let entries = [
        e("http.https://h/o/r.extraheader", "A: 1"),
        e("http.https://h/.extraheader", "B: 2"),
        e("http.extraheader", "C: 3"),
        e("http.https://h/o/r.extraheader", "D: 4"),
        e("http.https://h/o/r.extraheader", ""),
        e("http.extraheader", "E: 5"),
    ];
    assert_eq!(
        extra_headers(&entries[..4], "https://h/o/r"),
        ["A: 1", "D: 4"]
    );
    assert!(extra_headers(&entries, "https://h/o/r").is_empty());
}

#[test]
fn host_length_beats_path_length() {
    // git compares the config host's length before the path's.
    let entries = [
        e("http.https://git.example.com/.extraheader", "A: 1"),
        e("http.https://*.example.com/a/b/c.extraheader", "B: 2"),
    ];
    assert_eq!(
        extra_headers(&entries, "https://git.example.com/a/b/c"),
        ["A: 1"]
    );
}

#[test]
fn user_match_is_more_specific() {
    let entries = [
        e("http.https://u@h/o.extraheader", "A: 1"),
        e("http.https://h/o.extraheader", "B: 2"),
    ];
    assert_eq!(extra_headers(&entries, "https://u@h/o/r"), ["A: 1"]);
    assert_eq!(extra_headers(&entries, "https://h/o/r"), ["B: 2"]);
    assert_eq!(extra_headers(&entries, "https://v@h/o/r"), ["B: 2"]);
}

#[test]
fn user_mismatch() {
    let entries = [e("http.https://alice@h/.extraheader", "A: 1")];
    assert!(extra_headers(&entries, "https://bob@h/r").is_empty());
    assert!(extra_headers(&entries, "https://h/r").is_empty());
    assert_eq!(extra_headers(&entries, "https://alice:pw@h/r"), ["A: 1"]);
}

#[test]
fn non_http_urls_get_nothing() {
    let entries = [
        e("http.extraheader", "A: 1"),
        e("http.https://github.com/.extraheader", "B: 2"),
    ];
    assert!(extra_headers(&entries, "git@github.com:o/r.git").is_empty());
    assert!(extra_headers(&entries, "ssh://git@github.com/o/r.git").is_empty());
    assert!(extra_headers(&entries, "/home/me/repo").is_empty());
    assert!(extra_headers(&entries, "file:///home/me/repo").is_empty());
    assert!(extra_headers(&entries, "C:\\repo").is_empty());
}

#[test]
fn unparseable_target_gets_global_only() {
    let entries = [
        e("http.extraheader", "A: 1"),
        e("http.https://h/.extraheader", "B: 2"),
    ];
    assert_eq!(extra_headers(&entries, "https://h:99999/r"), ["A: 1"]);
}

#[test]
fn other_keys_sections_and_valueless_entries_ignored() {
    let entries = [
        ConfigEntry {
            name: "http.extraheader".into(),
            value: None,
        },
        e("http.https://h/.sslverify", "false"),
        e("https.extraheader", "X: 0"),
        e("core.extraheader", "X: 0"),
        e("http.https://h/.extraheader", "A: 1"),
        e("http.not a url.extraheader", "X: 0"),
    ];
    assert_eq!(extra_headers(&entries, "https://h/r"), ["A: 1"]);
}

#[test]
fn parse_url_fields() {
    let p = parse_url("HTTPS://Tok%65n:se%40cret@Dev.Azure.com:0443/a/./b/../c?x=%7e#f").unwrap();
    assert_eq!(p.scheme, "https");
    assert_eq!(p.user.as_deref(), Some("Token"));
    assert!(p.has_password);
    assert_eq!(p.host, "dev.azure.com");
    assert_eq!(p.port, Some(443));
    assert_eq!(p.path, "/a/c");
    assert_eq!(p.rest, "?x=~#f");

    let p = parse_url("http://h:8080").unwrap();
    assert_eq!(
        (p.user, p.has_password, p.port, p.path.as_str()),
        (None, false, Some(8080), "/")
    );
    let p = parse_url("https://@h/").unwrap();
    assert_eq!(p.user.as_deref(), Some(""));
    let p = parse_url("http://[::1]:3000/x").unwrap();
    assert_eq!((p.host.as_str(), p.port), ("[::1]", Some(3000)));
    let p = parse_url("ssh://git@github.com/o/r").unwrap();
    assert_eq!((p.user.as_deref(), p.port), (Some("git"), None));
    let p = parse_url("file:///tmp/x").unwrap();
    assert_eq!((p.host.as_str(), p.path.as_str()), ("", "/tmp/x"));
}

#[test]
fn parse_url_rejects_what_git_rejects() {
    for bad in [
        "git@github.com:o/r.git",
        "/local/path",
        "1http://h/",
        "https://",
        "https:///path",
        "https://h:0/",
        "https://h:65536/",
        "https://h:12ab/",
        "https://h/%zz",
        "https://h/..",
        "https://h/a/../..",
        "https://h_*.com/",
        "https://ex ample.com/",
        "file://:8/x",
    ] {
        assert_eq!(parse_url(bad), None, "{bad}");
    }
}

#[test]
fn normalisation_details() {
    let p = parse_url("https://h/%41%2f%25/%7E%2E/.").unwrap();
    assert_eq!(p.path, "/A%2F%25/~.");
    let p = parse_url("https://h/a b/\u{e9}").unwrap();
    assert_eq!(p.path, "/a%20b/%C3%A9");
    let p = parse_url("https://h/a/%2e%2E/b").unwrap();
    assert_eq!(p.path, "/b");
    let p = parse_url("https://h/./a").unwrap();
    assert_eq!(p.path, "/a");
    let p = parse_url("https://h:/a").unwrap();
    assert_eq!(p.port, Some(443));
    let p = parse_url("https://h:00080/a").unwrap();
    assert_eq!(p.port, Some(80));
    // A '@' after the path start is not user info.
    let p = parse_url("https://h/a@b").unwrap();
    assert_eq!((p.user, p.host.as_str()), (None, "h"));
}

/// The normalised URL as git's `url_normalize` prints it.
fn normalized_string(url: &str) -> Option<String> {
    let n = normalize(url, false)?;
    let mut out = format!("{}://", n.scheme);
    if let Some(user) = &n.user {
        out.push_str(user);
        if let Some(password) = &n.password {
            out.push(':');
            out.push_str(password);
        }
        out.push('@');
    }
    out.push_str(&n.host);
    if let Some(port) = &n.port {
        out.push(':');
        out.push_str(port);
    }
    out.push_str(&n.path);
    out.push_str(&n.rest);
    Some(out)
}

/// URLs git's t/t0110-urlmatch-normalization.sh normalises.
const T0110_VALID: &[&str] = &[
    "file://",
    "x-Test+v1.0://acme.co",
    "file://user:pass@",
    "file://?",
    "file://#",
    "file:///",
    "file://:",
    "scheme://user:pass@host",
    "scheme://@host",
    "scheme://%00@host",
    "scheme://host_",
    "scheme://user:pass@host/",
    "scheme://@host/",
    "scheme://host/",
    "scheme://host?x",
    "scheme://host#x",
    "scheme://host/@",
    "scheme://host?@x",
    "scheme://host#@x",
    "scheme://[::1]",
    "scheme://[::1]/",
    "scheme://[invalid....:/",
    "scheme://invalid....:]/",
    "xyz://q@some.host:",
    "xyz://q@some.host:456/",
    "xyz://q@some.host:0000001?",
    "xyz://q@some.host:065535#",
    "xyz://q@some.host:65535",
    "http://q@some.host:80",
    "https://q@some.host:443",
    "http://q@some.host:80/",
    "https://q@some.host:443?",
    "xyz://[::1]:456/",
    "xyz://[::1]:/",
];

/// URLs git's t/t0110-urlmatch-normalization.sh rejects.
const T0110_INVALID: &[&str] = &[
    "",
    "_",
    "scheme",
    "scheme:",
    "scheme:/",
    "scheme://",
    "file",
    "file:",
    "file:/",
    "://acme.co",
    "x_test://acme.co",
    "-test://acme.co",
    "0test://acme.co",
    "+test://acme.co",
    ".test://acme.co",
    "schem%6e://",
    "scheme://user:pass@",
    "scheme://?",
    "scheme://#",
    "scheme:///",
    "scheme://:",
    "scheme://:555",
    "file://:555",
    "scheme://%%@host",
    "scheme://hos%41/",
    "scheme://invalid....:[/",
    "scheme://invalid....:[",
    "xyz://q@some.host:0",
    "xyz://q@some.host:0000000",
    "xyz://q@some.host:65536",
    "xyz://q@some.host:99999",
    "xyz://q@some.host:100000",
    "xyz://q@some.host:100001",
    "http://q@:8008",
    "http://:8080",
    "http://:",
    "xyz://[::1]:000/",
    "xyz://[::1]:0%300/",
    "xyz://[::1]:0x80/",
    "xyz://[::1]:4294967297/",
    "xyz://[::1]:030f/",
    "http://x.y?%fg",
    "x://y/a/./b/.././../c/././.././..",
];

/// Cases from git's t/t0110-urlmatch-normalization.sh.
#[test]
fn git_t0110_validity() {
    for url in T0110_VALID {
        assert!(normalize(url, false).is_some(), "should be valid: {url}");
    }
    for url in T0110_INVALID {
        assert!(normalize(url, false).is_none(), "should be invalid: {url}");
    }
}

/// Cases from git's t/t0110-urlmatch-normalization.sh.
#[test]
fn git_t0110_normal_forms() {
    let cases = [
        ("AbCdeF://x.Y", "abcdef://x.y/"),
        ("http://x:800", "http://x:800/"),
        ("http://x:0800", "http://x:800/"),
        ("http://x:00000800", "http://x:800/"),
        ("http://x:065535", "http://x:65535/"),
        ("http://x:1", "http://x:1/"),
        ("http://x:80", "http://x/"),
        ("http://x:080", "http://x/"),
        ("http://x:000000080", "http://x/"),
        ("https://x:443", "https://x/"),
        ("https://x:0443", "https://x/"),
        ("https://x:000000443", "https://x/"),
        ("X://W/%7e%41^%3a", "x://w/~A%5E%3A"),
        ("X://W/:/?#[]@", "x://w/:/?#[]@"),
        ("X://W/$&()*+,;=", "x://w/$&()*+,;="),
        ("X://W/'", "x://w/'"),
        ("X://W?'!'", "x://w/?'!'"),
        (
            "x://q/\u{80}\u{7FF}\u{800}\u{FFFD}\u{10000}\u{2FFFD}",
            "x://q/%C2%80%DF%BF%E0%A0%80%EF%BF%BD%F0%90%80%80%F0%AF%BF%BD",
        ),
        ("x://%41%62(^):%70+d@foo", "x://Ab(%5E):p+d@foo/"),
        ("x://y/.", "x://y/"),
        ("x://y/./", "x://y/"),
        ("x://y/a/.", "x://y/a"),
        ("x://y/a/./", "x://y/a/"),
        ("x://y/.?", "x://y/?"),
        ("x://y/./?", "x://y/?"),
        ("x://y/a/.?", "x://y/a?"),
        ("x://y/a/./?", "x://y/a/?"),
        ("x://y/a/./b/.././../c", "x://y/c"),
        ("x://y/a/./b/../.././c/", "x://y/c/"),
        ("x://y/a/./b/.././../c/././.././.", "x://y/"),
        ("x://y/a/./?/././..", "x://y/a/?/././.."),
        ("x://y/%2e/", "x://y/"),
        ("x://y/%2E/", "x://y/"),
        ("x://y/a/%2e./", "x://y/"),
        ("x://y/b/.%2E/", "x://y/"),
        ("x://y/c/%2e%2E/", "x://y/"),
    ];
    for (url, want) in cases {
        assert_eq!(normalized_string(url).as_deref(), Some(want), "{url}");
    }
    // Control characters are escaped.
    let controls: String = (1u8..=0x1f).chain([0x7f]).map(char::from).collect();
    let want: String = (1u8..=0x1f)
        .chain([0x7f])
        .map(|c| format!("%{c:02X}"))
        .collect();
    assert_eq!(
        normalized_string(&format!("x://q/{controls}")),
        Some(format!("x://q/{want}"))
    );
}

/// Cases from git's t/t0110-urlmatch-normalization.sh.
#[test]
fn git_t0110_equivalents() {
    let same = [
        ("httP://x", "Http://X/"),
        (
            "Http://%4d%65:%4d^%70@The.Host",
            "hTTP://Me:%4D^p@the.HOST:80/",
        ),
        ("https://@x.y/^", "httpS://@x.y:0443/^"),
        ("https://@x.y/^/../abc", "httpS://@x.y:0443/abc"),
        ("https://@x.y/^/..", "httpS://@x.y:0443/"),
    ];
    for (a, b) in same {
        assert_eq!(normalized_string(a), normalized_string(b), "{a} vs {b}");
        assert!(normalized_string(a).is_some());
    }
    assert_ne!(
        normalized_string("https://@x.y/^"),
        normalized_string("httpS://x.y:443/^")
    );
}

/// The value `git config --get-urlmatch http.<key> <url>` prints
/// (the last applied entry; a valueless key reads as `true`).
fn get_urlmatch(entries: &[ConfigEntry], key: &str, url: &str) -> Option<String> {
    applied_entries(entries, url, key)
        .last()
        .map(|e| e.value.clone().unwrap_or_else(|| "true".to_string()))
}

/// "urlmatch favors more specific URLs" from git's t/t1300-config.sh.
#[test]
fn git_t1300_favors_more_specific() {
    let entries: Vec<ConfigEntry> = [
        ("https://example.com/", "root"),
        ("https://example.com/subdirectory", "subdirectory"),
        ("https://user@example.com/", "user"),
        ("https://averylonguser@example.com/", "averylonguser"),
        ("https://preceding.example.com", "preceding"),
        ("https://*.example.com", "wildcard"),
        (
            "https://*.example.com/wildcardwithsubdomain",
            "wildcardwithsubdomain",
        ),
        ("https://*.example.*", "multiwildcard"),
        ("https://trailing.example.com", "trailing"),
        ("https://user@*.example.com/", "wildcardwithuser"),
        ("https://sub.example.com/", "sub"),
    ]
    .iter()
    .map(|(url, v)| e(&format!("http.{url}.cookieFile"), v))
    .collect();
    for (url, want) in [
        ("https://example.com", "root"),
        ("https://example.com/subdirectory", "subdirectory"),
        ("https://example.com/subdirectory/nested", "subdirectory"),
        ("https://user@example.com/", "user"),
        (
            "https://averylonguser@example.com/subdirectory",
            "subdirectory",
        ),
        ("https://preceding.example.com", "preceding"),
        ("https://wildcard.example.com", "wildcard"),
        ("https://sub.example.com/wildcardwithsubdomain", "sub"),
        ("https://trailing.example.com", "trailing"),
        ("https://user@sub.example.com", "sub"),
        ("https://wildcard.example.org", "multiwildcard"),
    ] {
        assert_eq!(
            get_urlmatch(&entries, "cookiefile", url).as_deref(),
            Some(want),
            "{url}"
        );
    }
}

/// "urlmatch with wildcard" from git's t/t1300-config.sh.
#[test]
fn git_t1300_wildcard() {
    let entries = [
        ConfigEntry {
            name: "http.sslVerify".into(),
            value: None,
        },
        e("http.https://*.example.com.sslVerify", "false"),
        e("http.https://*.example.com.cookieFile", "/tmp/cookie.txt"),
    ];
    let get = |url| get_urlmatch(&entries, "sslverify", url);
    assert_eq!(get("https://example.com").as_deref(), Some("true"));
    assert_eq!(get("https://good-example.com").as_deref(), Some("true"));
    assert_eq!(
        get("https://deep.nested.example.com").as_deref(),
        Some("true")
    );
    assert_eq!(get("https://good.example.com").as_deref(), Some("false"));
    assert_eq!(get("https://more.example.com.au").as_deref(), Some("true"));
    assert_eq!(
        get_urlmatch(&entries, "doesnt.exist", "https://good.example.com"),
        None
    );
}

#[test]
fn prefix_rules() {
    assert_eq!(match_prefix("/a/b", "/"), 1);
    assert_eq!(match_prefix("/a/b", ""), 1);
    assert_eq!(match_prefix("/a/b", "/a"), 3);
    assert_eq!(match_prefix("/a/b", "/a/"), 3);
    assert_eq!(match_prefix("/a/b", "/a/b"), 5);
    assert_eq!(match_prefix("/a/bc", "/a/b"), 0);
    assert_eq!(match_prefix("/a", "/a/b"), 0);
}

#[test]
fn host_rules() {
    assert!(match_host("a.b", "a.b"));
    assert!(match_host("a.b", "*.b"));
    assert!(match_host("a.b", "*.*"));
    assert!(!match_host("a.b", "*"));
    assert!(!match_host("b", "*.b"));
    assert!(!match_host("a.b", "a*.b"));
    assert!(match_host("", ""));
}

#[test]
fn scheme_step() {
    assert_eq!(split_scheme("HTTPS://h"), Some(("https".to_string(), 8)));
    assert_eq!(
        split_scheme("x-T+v1.0://"),
        Some(("x-t+v1.0".to_string(), 11))
    );
    // the scheme must start with a letter and be followed by "://"
    assert_eq!(split_scheme("1x://h"), None);
    assert_eq!(split_scheme("x:/h"), None);
    assert_eq!(split_scheme("x:"), None);
    assert_eq!(split_scheme("://h"), None);
}

#[test]
fn user_info_step() {
    let info = |url: &str| {
        let end = find_any(url.as_bytes(), 0, b"/?#");
        split_user_info(url.as_bytes(), 0, end)
    };
    assert_eq!(info("h/a@b"), Some((None, None, 0)), "an '@' in the path");
    assert_eq!(info("@h"), Some((Some(String::new()), None, 1)));
    assert_eq!(
        info("u:@h"),
        Some((Some("u".into()), Some(String::new()), 3))
    );
    // the first ':' splits, the first '@' ends the user info
    assert_eq!(
        info("u:p:q@x@h"),
        Some((Some("u".into()), Some("p:q".into()), 6))
    );
    assert_eq!(
        info("%41%3a:p@h"),
        Some((Some("A%3A".into()), Some("p".into()), 9)),
        "an escaped ':' is not the separator"
    );
    assert_eq!(info("%zz@h"), None);
}

#[test]
fn port_colon_step() {
    let colon = |host: &str| port_colon(host.as_bytes(), 0, host.len());
    assert_eq!(colon("h:80"), 1);
    assert_eq!(colon("h"), 1);
    assert_eq!(colon("[::1]:80"), 5);
    assert_eq!(colon("[::1]"), 5, "the colons of an IPv6 literal");
    assert_eq!(colon(":"), 0);
    assert_eq!(colon(""), 0);
}

#[test]
fn port_step() {
    assert_eq!(normalize_port("", "https"), Some(None));
    assert_eq!(normalize_port("443", "https"), Some(None));
    assert_eq!(normalize_port("000443", "https"), Some(None));
    assert_eq!(normalize_port("443", "http"), Some(Some("443".into())));
    assert_eq!(normalize_port("080", "http"), Some(None));
    assert_eq!(normalize_port("0065535", "x"), Some(Some("65535".into())));
    assert_eq!(normalize_port("0", "x"), None, "all zeros is port 0");
    assert_eq!(normalize_port("000", "x"), None);
    assert_eq!(normalize_port("65536", "x"), None);
    assert_eq!(normalize_port("100000", "x"), None);
    assert_eq!(normalize_port("8a", "x"), None);
    assert_eq!(normalize_port("+8", "x"), None);
}

#[test]
fn host_port_step() {
    let split = |url: &str, scheme: &str| split_host_port(url, scheme, 0, url.len(), false);
    assert_eq!(
        split("Ex.COM:8080", "x"),
        Some(("ex.com".into(), Some("8080".into())))
    );
    assert_eq!(split("[::1]", "x"), Some(("[::1]".into(), None)));
    assert_eq!(split("", "file"), Some((String::new(), None)));
    assert_eq!(split(":", "file"), Some((String::new(), None)));
    assert_eq!(split(":8", "file"), None, "a port without host");
    assert_eq!(split("", "https"), None);
    assert_eq!(split("*.h", "https"), None);
    assert_eq!(
        split_host_port("*.h", "https", 0, 3, true),
        Some(("*.h".into(), None))
    );
}

#[test]
fn path_step() {
    let path = |p: &str| normalize_path(p.as_bytes(), 0);
    assert_eq!(path(""), Some(("/".into(), 0)));
    assert_eq!(path("?q"), Some(("/".into(), 0)));
    assert_eq!(path("/a/b?q#f"), Some(("/a/b".into(), 4)));
    assert_eq!(path("/a//b/"), Some(("/a//b/".into(), 6)));
    assert_eq!(path("/./a"), Some(("/a".into(), 4)));
    assert_eq!(path("/a/./b/../c"), Some(("/a/c".into(), 11)));
    assert_eq!(path("/a/.."), Some(("/".into(), 5)));
    assert_eq!(path("/a/../"), Some(("/".into(), 6)));
    assert_eq!(path("/.."), None);
    assert_eq!(path("/a/%zz"), None);
}

#[test]
fn dot_segment_step() {
    let resolve = |path: &str, segment_start: usize| {
        let mut path = path.to_string();
        resolve_dot_segment(&mut path, segment_start).map(|root| (path, root))
    };
    assert_eq!(resolve("/a", 1), Some(("/a".into(), false)));
    assert_eq!(resolve("/.", 1), Some(("/".into(), true)));
    assert_eq!(resolve("/a/.", 3), Some(("/a".into(), false)));
    assert_eq!(resolve("/a/..", 3), Some(("/".into(), true)));
    assert_eq!(resolve("/a/b/..", 5), Some(("/a".into(), false)));
    assert_eq!(resolve("/a//..", 4), Some(("/a".into(), false)));
    assert_eq!(resolve("/..", 1), None, "above the root");
    assert_eq!(resolve("/a/...", 3), Some(("/a/...".into(), false)));
}
