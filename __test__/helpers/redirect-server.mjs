// HTTP servers on 127.0.0.1 to check where credentials go after a redirect.
// Works under `node --test` and `bun test`.
//
//   const second = await startRecordingServer()          // answers 401 Basic
//   const first = await startRedirectServer(second.origin) // 302 -> second
//   git ls-remote `${first.url}/repo.git` ...
//   second.requests -> [{ method, url, headers }]: what reached the second origin
//   await first.stop(); await second.stop()
//
// Nothing here registers test hooks or process handlers: call stop() from the
// test file's after hook (an open server would keep the process alive).
import { request as httpRequest, createServer } from 'node:http'

/** A copy of what the server received: method, url (path + query), every header (lower-case names). */
function record(req) {
  return {
    method: req.method,
    url: req.url,
    headers: { ...req.headers },
    rawHeaders: [...req.rawHeaders],
  }
}

async function listen(server) {
  await new Promise((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolvePromise()
    })
  })
  return server.address().port
}

function stopper(server) {
  let closing
  return () => {
    if (!closing) {
      closing = new Promise((resolvePromise) => {
        server.close(() => resolvePromise())
        server.closeAllConnections?.()
      })
    }
    return closing
  }
}

/**
 * Answers every request with `<status> Location: <targetOrigin><same path and query>`.
 * @param {string} targetOrigin e.g. "http://127.0.0.1:1234" (a trailing slash is dropped)
 * @param {{ status?: 301 | 302 | 303 | 307 | 308 }} [options] default 302
 * @returns {Promise<{ url: string, origin: string, port: number, requests: object[], stop(): Promise<void> }>}
 *   url and origin are the same "http://127.0.0.1:<port>"
 */
export async function startRedirectServer(targetOrigin, { status = 302 } = {}) {
  const target = String(targetOrigin).replace(/\/+$/, '')
  const requests = []
  const server = createServer((req, res) => {
    requests.push(record(req))
    req.resume()
    res.writeHead(status, { Location: `${target}${req.url}`, 'Content-Length': '0', Connection: 'close' })
    res.end()
  })
  const port = await listen(server)
  const origin = `http://127.0.0.1:${port}`
  return { url: origin, origin, port, requests, stop: stopper(server) }
}

/**
 * Records every request (method, url, all headers) in `requests`.
 * By default answers `401` with `WWW-Authenticate: Basic realm="x"`, so a
 * client holding credentials would offer them. With `upstream` (an origin
 * such as a git-server.sh URL) it forwards each request there after recording
 * it and relays the answer: the client then goes on talking to this origin,
 * which shows what it sends on the requests after the first one.
 * @param {{ upstream?: string }} [options]
 * @returns {Promise<{ origin: string, port: number, requests: object[], stop(): Promise<void> }>}
 */
export async function startRecordingServer({ upstream } = {}) {
  const requests = []
  const up = upstream ? new URL(upstream) : undefined
  const server = createServer((req, res) => {
    requests.push(record(req))
    if (!up) {
      req.resume()
      res.writeHead(401, {
        'WWW-Authenticate': 'Basic realm="x"',
        'Content-Type': 'text/plain',
        'Content-Length': '13',
      })
      res.end('unauthorized\n')
      return
    }
    const headers = { ...req.headers, host: up.host }
    const proxied = httpRequest(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        upRes.pipe(res)
      },
    )
    proxied.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' })
      res.end(`upstream error: ${err.message}\n`)
    })
    req.pipe(proxied)
  })
  const port = await listen(server)
  return { origin: `http://127.0.0.1:${port}`, port, requests, stop: stopper(server) }
}
