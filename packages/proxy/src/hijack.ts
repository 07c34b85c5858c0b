import { TLSSocket } from 'node:tls'
import { errorInfo } from '@damselfly/types'
import type { CertificateAuthority, CaFiles } from './ca.js'
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from '@damselfly/utils'

export interface HijackInit {
  /**
   * hosts whose `CONNECT` tunnels the proxy terminates with its own CA:
   * `HOST` (any port), `HOST:PORT`, or `*` for every host
   */
  hosts: string[]
  /** the CA's certificate and key; default: `ca.crt` / `ca.key` in `dataDir`, made on first use */
  ca?: CaFiles
  /** where the CA is kept when `ca` is not given */
  dataDir?: string
}

export interface HijackComponents {
  log: Logger
}

/**
 * HTTPS interception ("hijack HTTPS" in Dragonfly): a `CONNECT` to a listed
 * host is answered by the proxy itself, which presents a certificate for that
 * host signed by its CA and reads the client's requests in clear, so its GETs
 * can be served from P2P like forward-proxied plain HTTP ones. Unlisted hosts
 * keep their end-to-end tunnel.
 */
export class HttpsHijack {
  private readonly any: boolean
  private readonly hosts = new Set<string>()
  private readonly hostPorts = new Set<string>()
  /** intercepted sockets and the origin (`https://host:port`) their requests are for */
  private readonly origins = new WeakMap<object, string>()
  private readonly open = new Set<TLSSocket>()
  private ca?: CertificateAuthority

  constructor (private readonly c: HijackComponents, private readonly init: HijackInit) {
    let any = false
    for (const raw of init.hosts) {
      const h = raw.trim().toLowerCase()
      if (h === '') continue
      if (h === '*') { any = true; continue }
      // `host:port`, `[v6]:port`; a bare IPv6 address has colons but no port
      const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(h) ?? (h.split(':').length === 2 ? /^([^:]+):(\d+)$/.exec(h) : null)
      if (m == null) this.hosts.add(h)
      else if (m[2] == null) this.hosts.add(m[1])
      else this.hostPorts.add(`${m[1]}:${m[2]}`)
    }
    this.any = any
  }

  /** Loads (or creates) the CA, so a bad CA stops the daemon at start rather than at the first client. */
  async start (): Promise<void> {
    // loaded here, not at the top: @peculiar/x509 costs ~30 ms of start-up in every daemon, and few intercept
    const { CertificateAuthority } = await import('./ca.js')
    this.ca = await CertificateAuthority.load({ dataDir: this.init.dataDir, files: this.init.ca })
  }

  stop (): void {
    for (const s of this.open) s.destroy()
    this.open.clear()
  }

  /** the CA certificate (PEM) clients must trust */
  get caPem (): string | undefined { return this.ca?.certPem }

  matches (host: string, port: number): boolean {
    const h = host.toLowerCase()
    return this.any || this.hosts.has(h) || this.hostPorts.has(`${h}:${port}`)
  }

  /** `https://host:port` when `socket` carries requests of an intercepted tunnel */
  originOf (socket: object): string | undefined {
    return this.origins.get(socket)
  }

  /**
   * Answers the `CONNECT`, then speaks TLS to the client with a leaf for `host`
   * and hands the decrypted connection to `server`, whose request handler
   * asks `originOf(req.socket)` where the requests go.
   */
  intercept (client: Socket, head: Buffer, host: string, port: number, server: Server): void {
    const ca = this.ca
    if (ca == null) { client.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n'); return }
    client.once('error', () => { client.destroy() })
    ca.contextFor(host).then((secureContext) => {
      if (client.destroyed) return
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      // a client may have sent its ClientHello right behind the CONNECT
      if (head.byteLength > 0) client.unshift(head)
      const tls = new TLSSocket(client, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] })
      const origin = `https://${host.includes(':') ? `[${host}]` : host}${port === 443 ? '' : `:${port}`}`
      this.origins.set(tls, origin)
      this.open.add(tls)
      tls.once('close', () => { this.open.delete(tls) })
      tls.on('error', (err: NodeJS.ErrnoException) => {
        // most often the client does not trust the CA: say so once, without anything secret
        this.c.log.debug({ host, err: err.code ?? err.message }, 'intercepted TLS connection failed')
        tls.destroy()
      })
      server.emit('connection', tls)
    }, (err) => {
      this.c.log.warn({ host, err: errorInfo(err) }, 'cannot mint a certificate for an intercepted host')
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')
    })
  }
}

/** A request's target on an intercepted connection: the tunnel's origin, whatever host an absolute-form line names. */
export function hijackedUrl (rawUrl: string, origin: string): URL {
  const path = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawUrl) ? rawUrl.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '') : rawUrl
  return new URL(path.startsWith('/') ? path : `/${path}`, origin)
}
