import { readFileSync } from 'node:fs'
import { Option, type Command } from 'commander'
import type { BackendsInit } from '@damselfly/backend'

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

/**
 * Origin flags shared by `damselfly get`, `dfget`, `daemon` and `seed` (whoever fetches from the
 * origin needs them). A flag the command already has (the peer proxy's `--hf-endpoint`,
 * `--insecure-registry`) is kept as it is: one flag, one meaning for both.
 */
export function addBackendOptions (cmd: Command): Command {
  const options = [
    new Option('--ca-file <path>', 'PEM CA bundle trusted for https origins (in addition to the system roots)'),
    new Option('--s3-endpoint <url>', 'S3-compatible endpoint (env AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)'),
    new Option('--s3-region <region>', 'S3 region (env AWS_REGION, AWS_DEFAULT_REGION)'),
    new Option('--hf-endpoint <url>', 'Hugging Face hub base URL').env('HF_ENDPOINT'),
    new Option('--hf-token <token>', 'Hugging Face access token').env('HF_TOKEN'),
    new Option('--modelscope-endpoint <url>', 'ModelScope hub base URL (default https://www.modelscope.cn)').env('DAMSELFLY_MODELSCOPE_ENDPOINT'),
    new Option('--modelscope-token <token>', 'ModelScope access token').env('MODELSCOPE_API_TOKEN'),
    new Option('--registry-user <user>', 'OCI registry user (basic auth and token requests)').env('DAMSELFLY_REGISTRY_USER'),
    new Option('--registry-password <password>', 'OCI registry password').env('DAMSELFLY_REGISTRY_PASSWORD'),
    new Option('--insecure-registry <host:port>', 'registry reached over plain HTTP (repeatable; loopback always is)').argParser(collect)
  ]
  for (const o of options) if (!cmd.options.some((have) => have.long === o.long)) cmd.addOption(o)
  return cmd
}

export interface BackendFlags {
  caFile?: string
  s3Endpoint?: string
  s3Region?: string
  hfEndpoint?: string
  hfToken?: string
  modelscopeEndpoint?: string
  modelscopeToken?: string
  registryUser?: string
  registryPassword?: string
  insecureRegistry?: string[]
}

/** Each backend gets its own options, from flags first, then the environment names its ecosystem uses. */
export function backendsInitFrom (flags: BackendFlags, env: NodeJS.ProcessEnv = process.env): BackendsInit {
  const ca = flags.caFile != null ? readFileSync(flags.caFile, 'utf8') : undefined
  const key = env.AWS_ACCESS_KEY_ID
  const secret = env.AWS_SECRET_ACCESS_KEY
  return {
    http: { ca },
    oci: {
      username: flags.registryUser,
      password: flags.registryPassword,
      plainHttp: flags.insecureRegistry
    },
    s3: {
      endpoint: flags.s3Endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
      region: flags.s3Region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
      credentials: key != null && secret != null ? { accessKeyId: key, secretAccessKey: secret, sessionToken: env.AWS_SESSION_TOKEN } : undefined,
      ca
    },
    hf: { endpoint: flags.hfEndpoint, token: flags.hfToken },
    modelscope: { endpoint: flags.modelscopeEndpoint, token: flags.modelscopeToken }
  }
}
