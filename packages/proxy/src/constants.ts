/** Dragonfly's dfdaemon proxy port, so existing containerd / HF_ENDPOINT configurations keep working. */
export const DEFAULT_PROXY_PORT = 65001

/** CA files a peer keeps in its data dir when none is given */
export const CA_CERT_FILE = 'ca.crt'
export const CA_KEY_FILE = 'ca.key'

export const DEFAULT_MAX_TUNNELS = 256
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000
export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co'

/**
 * Which forward-proxied GETs go through P2P, matched against the URL without
 * its query string (presigned URLs put credentials and expiry there, not
 * what identifies the content): registry blobs, large model / archive files,
 * Python wheels, and paths ending in a sha256 (Git LFS objects as GitHub,
 * GitLab and Gitea link them; the hub's CDN).
 */
export const DEFAULT_RULES = [
  '/blobs/sha256:[0-9a-f]{64}$',
  '\\.(safetensors|bin|gguf|tar|gz|zst|whl)$',
  '/[0-9a-f]{64}$'
]

/** where the hub's paths appear on the proxy (`HF_ENDPOINT=http://127.0.0.1:65001/hf`) */
export const HF_PREFIX = '/hf'

/** a blob GET containerd, skopeo and docker send to a registry */
export const BLOB_PATH = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/

/** Docker Hub's name in image references differs from its registry host */
export const REGISTRY_ALIASES: Record<string, string> = {
  'docker.io': 'registry-1.docker.io'
}

/** where ModelScope's paths appear on the proxy (`MODELSCOPE_DOMAIN=127.0.0.1:65001/modelscope`) */
export const MODELSCOPE_PREFIX = '/modelscope'
