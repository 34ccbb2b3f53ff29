// A TLS front for the local git server: terminates TLS with a fresh
// self-signed certificate for 127.0.0.1 and passes the bytes on to a plain
// HTTP port. Lets a test reach the smart-HTTP server over https:// without
// another nginx. Runs inside the test process: call the CLI asynchronously
// (cliAsync) while it serves. Works under `node --test` and `bun test`.
//
//   const proxy = await startTlsProxy(server.port)
//   proxy.url        https://127.0.0.1:<port>
//   proxy.certFile   the certificate (PEM), to trust via SSL_CERT_FILE
//   await proxy.stop()
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createServer } from 'node:tls'

import { tempDir } from './common.mjs'

/** A self-signed EC certificate for IP 127.0.0.1 (openssl CLI); returns { keyFile, certFile }. */
function selfSigned() {
  const dir = tempDir('sls-tls-')
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  const res = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
    { encoding: 'utf8' },
  )
  if (res.error || res.status !== 0) throw new Error(`openssl req failed: ${res.error ?? res.stderr}`)
  return { keyFile, certFile }
}

/** Starts the proxy in front of 127.0.0.1:`upstreamPort`. */
export async function startTlsProxy(upstreamPort) {
  const { keyFile, certFile } = selfSigned()
  const sockets = new Set()
  const server = createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, (client) => {
    const upstream = connect(upstreamPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
      s.on('close', () => sockets.delete(s))
    }
    client.pipe(upstream).pipe(client)
  })
  server.on('tlsClientError', () => {}) // an untrusting client hangs up: expected
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `https://127.0.0.1:${server.address().port}`,
    certFile,
    async stop() {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
