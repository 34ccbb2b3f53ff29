//! Where an HTTP(S) remote redirects, asked before libgit2 is handed any
//! credential. libgit2 sends custom headers (`http.extraheader`) on every
//! request and, even when told to follow no off-site redirect, follows one
//! to the same host on another port or scheme; so where it would send
//! credentials (the no-git fallback), we first ask the remote ourselves,
//! without credentials and without following anything, and refuse a
//! redirect to another origin.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::git::urlmatch::parse_url;

// The TLS of https:// probes: OpenSSL with the system's CA certificates on
// Linux and macOS, SChannel with the Windows certificate store on Windows.
#[cfg(not(windows))]
#[path = "probe/tls_openssl.rs"]
mod tls;
#[cfg(windows)]
#[path = "probe/tls_windows.rs"]
mod tls;

/// How long the probe may take to connect, and to wait for each read.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Redirects followed (within one origin) before giving up.
const MAX_HOPS: usize = 5;

/// `scheme://host:port` of a URL (default ports made explicit).
pub fn origin(url: &str) -> Option<String> {
    let p = parse_url(url)?;
    Some(format!("{}://{}:{}", p.scheme, p.host, p.port?))
}

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// No redirect, or only within the remote's origin.
    SameOrigin,
    /// A redirect to another origin (the `Location`, credentials stripped).
    Elsewhere(String),
    /// The probe could not tell (no connection, a proxy, TLS trouble): the
    /// caller decides; libgit2 will report a real network error itself.
    Unknown(String),
}

/// Asks `url` for `<path>/info/refs?service=<service>` as git would, with
/// no credentials, following redirects only within its origin.
pub fn redirects(url: &str, service: &str) -> Probe {
    let Some(start) = origin(url) else {
        return Probe::Unknown(format!("not an http(s) URL: {url}"));
    };
    let base = crate::git::redact::strip_userinfo(url);
    let mut next = format!("{}/info/refs?service={service}", base.trim_end_matches('/'));
    for _ in 0..MAX_HOPS {
        match request(&next) {
            Ok(None) => return Probe::SameOrigin,
            Ok(Some(location)) => {
                let absolute = resolve(&next, &location);
                if origin(&absolute).as_deref() != Some(start.as_str()) {
                    return Probe::Elsewhere(crate::git::redact::redact_url(&absolute));
                }
                next = absolute;
            }
            Err(e) => return Probe::Unknown(e),
        }
    }
    Probe::Unknown("too many redirects".into())
}

/// `location` made absolute against `current`.
fn resolve(current: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let Some((scheme, rest)) = current.split_once("://") else {
        return location.to_string();
    };
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    if let Some(path) = location.strip_prefix("//") {
        return format!("{scheme}://{path}");
    }
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let dir = current.rsplit_once('/').map_or(current, |(d, _)| d);
    format!("{dir}/{location}")
}

/// One GET; `Some(location)` for a redirect.
fn request(url: &str) -> Result<Option<String>, String> {
    let p = parse_url(url).ok_or_else(|| format!("cannot parse {url}"))?;
    let port = p.port.ok_or("no port")?;
    let host = p.host.trim_start_matches('[').trim_end_matches(']');
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let tcp = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let authority = match (p.scheme.as_str(), port) {
        ("http", 80) | ("https", 443) => p.host.clone(),
        _ => format!("{}:{port}", p.host),
    };
    let head = format!(
        "GET {}{} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: git/2.0 (sst-local-state probe)\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        p.path, p.rest
    );
    let response = match p.scheme.as_str() {
        "http" => exchange(tcp, &head)?,
        "https" => exchange(
            tls::connect(host, tcp).map_err(|e| format!("TLS: {e}"))?,
            &head,
        )?,
        other => return Err(format!("scheme {other}")),
    };
    parse_redirect(&response)
}

/// Writes the request, reads the response head (at most 64 KiB).
fn exchange(mut stream: impl Read + Write, head: &str) -> Result<String, String> {
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The `Location` of a 3xx response head, `None` for any other status.
fn parse_redirect(response: &str) -> Result<Option<String>, String> {
    let mut lines = response.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status line")?;
    if !(300..400).contains(&status) {
        return Ok(None);
    }
    Ok(lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("location"))
        .map(|(_, value)| value.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_locations() {
        assert_eq!(
            origin("https://u:p@Example.com/r.git").as_deref(),
            Some("https://example.com:443")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/r").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            resolve("http://h:1/a/info/refs?x", "/b/info/refs"),
            "http://h:1/b/info/refs"
        );
        assert_eq!(resolve("http://h:1/a/b", "c"), "http://h:1/a/c");
        assert_eq!(resolve("http://h:1/a", "//o:2/x"), "http://o:2/x");
        assert_eq!(
            parse_redirect("HTTP/1.1 302 Found\r\nlocation: http://x:2/r\r\n\r\n").unwrap(),
            Some("http://x:2/r".into())
        );
        assert_eq!(
            parse_redirect("HTTP/1.1 401 Unauthorized\r\n\r\n").unwrap(),
            None
        );
    }

    #[test]
    fn a_redirect_to_another_port_is_elsewhere() {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for _ in 0..2 {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).unwrap();
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let reply = if req.starts_with("GET /same") {
                    format!("HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:{port}/moved/info/refs?service=git-receive-pack\r\n\r\n")
                } else {
                    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n\r\n"
                        .to_string()
                };
                s.write_all(reply.as_bytes()).unwrap();
            }
        });
        let url = format!("http://127.0.0.1:{port}/same");
        assert_eq!(
            redirects(&url, "git-receive-pack"),
            Probe::Elsewhere("http://127.0.0.1:1/elsewhere".into())
        );
        server.join().unwrap();
    }

    const TEST_CERT: &str = include_str!("probe/testdata/self-signed-127.0.0.1.crt");
    const TEST_KEY: &str = include_str!("probe/testdata/self-signed-127.0.0.1.key");

    #[test]
    fn https_is_verified_a_certificate_nobody_trusts_is_unknown_not_followed() {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            tls::serve_once(
                listener,
                TEST_CERT,
                TEST_KEY,
                b"HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1:1/elsewhere\r\n\r\n",
            );
        });
        let url = format!("https://127.0.0.1:{port}/r.git");
        match redirects(&url, "git-receive-pack") {
            // OpenSSL: "certificate verify failed"; SChannel: "The certificate
            // chain was issued by an authority that is not trusted."
            Probe::Unknown(e) => assert!(
                e.starts_with("TLS: ") && (e.contains("certificate") || e.contains("trust")),
                "{e}"
            ),
            other => panic!("the probe accepted a self-signed certificate: {other:?}"),
        }
        server.join().unwrap();
    }

    /// The Windows certificate store is what the probe verifies with: a
    /// public HTTPS remote is reachable (with OpenSSL, which finds no CA
    /// certificates on Windows, every HTTPS probe was `Unknown`). Needs the
    /// network: ci.yml runs it on Windows with `--ignored`.
    #[cfg(windows)]
    #[test]
    #[ignore = "needs the network (ci.yml runs it on Windows)"]
    fn windows_store_verifies_a_public_https_remote() {
        let found = redirects("https://github.com/git/git.git", "git-upload-pack");
        assert!(!matches!(found, Probe::Unknown(_)), "{found:?}");
    }
}
