//! The probe's TLS on Windows: SChannel (through native-tls), verified
//! against the Windows certificate store, as WinHTTP (libgit2's HTTPS on
//! Windows) and git for Windows' schannel backend do. No OpenSSL here: it
//! would have no CA certificates to verify with, and every probe of an
//! HTTPS remote would fail.

use std::net::TcpStream;

/// A TLS connection to the probed remote.
pub type Stream = native_tls::TlsStream<TcpStream>;

/// TLS over `tcp` to `host`, its certificate verified against the Windows
/// certificate store.
pub fn connect(host: &str, tcp: TcpStream) -> Result<Stream, String> {
    let connector = native_tls::TlsConnector::new().map_err(|e| e.to_string())?;
    connector.connect(host, tcp).map_err(|e| match e {
        native_tls::HandshakeError::Failure(e) => e.to_string(),
        native_tls::HandshakeError::WouldBlock(_) => "the TLS handshake would block".into(),
    })
}

/// Test support: answers one TLS connection on `listener` with `reply`,
/// as the server of `cert`/`key` (PEM).
#[cfg(test)]
pub fn serve_once(listener: std::net::TcpListener, cert: &str, key: &str, reply: &[u8]) {
    use std::io::{Read, Write};
    let identity = native_tls::Identity::from_pkcs8(cert.as_bytes(), key.as_bytes()).unwrap();
    let acceptor = native_tls::TlsAcceptor::new(identity).unwrap();
    let (tcp, _) = listener.accept().unwrap();
    // a client that refuses the certificate ends the handshake: not an error here
    if let Ok(mut tls) = acceptor.accept(tcp) {
        let mut buf = [0u8; 2048];
        let _ = tls.read(&mut buf);
        let _ = tls.write_all(reply);
    }
}
