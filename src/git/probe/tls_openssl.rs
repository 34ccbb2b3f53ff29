//! The probe's TLS on Linux and macOS: the vendored OpenSSL libgit2 uses
//! there, with the system's CA certificates (which the vendored OpenSSL
//! does not know by itself).

use std::net::TcpStream;

/// A TLS connection to the probed remote.
pub type Stream = openssl::ssl::SslStream<TcpStream>;

/// TLS over `tcp` to `host`, its certificate verified against the system's
/// CA certificates.
pub fn connect(host: &str, tcp: TcpStream) -> Result<Stream, String> {
    connector()?.connect(host, tcp).map_err(|e| e.to_string())
}

fn connector() -> Result<openssl::ssl::SslConnector, String> {
    let mut builder = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client())
        .map_err(|e| e.to_string())?;
    let found = openssl_probe::probe();
    if let Some(file) = found.cert_file {
        builder.set_ca_file(file).map_err(|e| e.to_string())?;
    }
    if let Some(dir) = found.cert_dir {
        let _ = builder
            .cert_store_mut()
            .add_lookup(openssl::x509::store::X509Lookup::hash_dir())
            .and_then(|lookup| {
                lookup.add_dir(&dir.to_string_lossy(), openssl::ssl::SslFiletype::PEM)
            });
    }
    Ok(builder.build())
}

/// Test support: answers one TLS connection on `listener` with `reply`,
/// as the server of `cert`/`key` (PEM).
#[cfg(test)]
pub fn serve_once(listener: std::net::TcpListener, cert: &str, key: &str, reply: &[u8]) {
    use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_certificate_chain_file(&cert_file).unwrap();
    acceptor
        .set_private_key_file(&key_file, SslFiletype::PEM)
        .unwrap();
    let acceptor = acceptor.build();
    let (tcp, _) = listener.accept().unwrap();
    // a client that refuses the certificate ends the handshake: not an error here
    if let Ok(mut tls) = acceptor.accept(tcp) {
        let mut buf = [0u8; 2048];
        let _ = tls.read(&mut buf);
        let _ = tls.write_all(reply);
    }
}
