import { ProxyServer } from './proxy-server.js'
import type { Logger, RateLimiter } from '@damselfly/utils'
import type { TaskDownloader } from './serve-task.js'
import type { RegistryInit } from './registry.js'
import type { HuggingFaceInit } from './hugging-face.js'
import type { ModelScopeInit } from './modelscope.js'
import type { UpstreamInit } from './upstream.js'
import type { HijackInit } from './hijack.js'

export { ProxyServer } from './proxy-server.js'
export { DestinationPolicy, parseAllowEntry, type DestinationPolicyInit } from './destination.js'
export { addressClass } from '@damselfly/utils'
export { DEFAULT_PROXY_PORT, DEFAULT_RULES, DEFAULT_HF_ENDPOINT, HF_PREFIX, MODELSCOPE_PREFIX, CA_CERT_FILE, CA_KEY_FILE } from './constants.js'
export { containerdHostsToml, type HostsTomlInit } from './hosts-toml.js'
export type { TaskDownloader, RegistryInit, HuggingFaceInit, ModelScopeInit, UpstreamInit, HijackInit }
export { HttpsHijack } from './hijack.js'
// the CA itself (and @peculiar/x509 with it) is `@damselfly/proxy/ca`, loaded only where it is used
export type { CertificateAuthority, CaFiles } from './ca.js'

export interface ProxyComponents {
  /** the peer engine: every P2P answer is one of its tasks */
  engine: TaskDownloader
  log: Logger
  /** called once per request, for metrics */
  onRequest?: (result: 'p2p' | 'direct' | 'error', method: string) => void
  /**
   * what bytes coming from outside P2P draw from on their way to the client (pass-through answers,
   * tunnels): the daemon's download and back-to-source limits, so no route bypasses them
   */
  passthroughLimiters?: RateLimiter[]
}

export interface ProxyInit {
  /** @default '127.0.0.1' */
  host?: string
  /** 0 = any free port @default 65001 */
  port?: number
  /**
   * regular expressions over `origin + path` of forward-proxied GETs that go
   * through P2P; the rest pass through
   * @default DEFAULT_RULES (registry blobs, .safetensors/.bin/.gguf/.tar/.gz/.zst)
   */
  rules?: string[]
  /**
   * destinations reachable although loopback, link-local, private or unspecified:
   * `host[:port]`, `[v6][:port]`, a CIDR or `*.suffix` (the registry mirror and the
   * Hugging Face and ModelScope endpoints configured here are always allowed)
   * @default []
   */
  allow?: string[]
  /** this daemon's other listeners (API, metrics, libp2p): never a destination, whatever `allow` says short of naming the exact port */
  ownPorts?: number[]
  /** CONNECT tunnels open at once; more are answered 503 @default 256 */
  maxTunnels?: number
  /** a tunnel or client connection idle (no bytes either way) this long is closed @default 120000 */
  idleTimeoutMs?: number
  /** a client must send its request head within this @default 30000 */
  headersTimeoutMs?: number
  registry?: RegistryInit
  huggingFace?: HuggingFaceInit
  modelScope?: ModelScopeInit
  upstream?: UpstreamInit
  /** HTTPS interception: `CONNECT`s to these hosts are terminated with the proxy's CA; none by default */
  hijackHttps?: HijackInit
}

export function createProxy (components: ProxyComponents, init: ProxyInit = {}): ProxyServer {
  return new ProxyServer(components, init)
}
