import { readFileSync } from 'node:fs'
import { Option, type Command } from 'commander'
import type { BackendsInit } from '@damselfly/backend'

/** Origin flags shared by `damselfly get`, `dfget`, `daemon` and `seed` (whoever fetches from the origin needs them). */
export function addBackendOptions (cmd: Command): Command {
  return cmd
    .addOption(new Option('--ca-file <path>', 'PEM CA bundle trusted for https origins (in addition to the system roots)'))
    .addOption(new Option('--s3-endpoint <url>', 'S3-compatible endpoint (env AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)'))
    .addOption(new Option('--s3-region <region>', 'S3 region (env AWS_REGION, AWS_DEFAULT_REGION)'))
    .addOption(new Option('--hf-endpoint <url>', 'Hugging Face hub base URL').env('HF_ENDPOINT'))
    .addOption(new Option('--hf-token <token>', 'Hugging Face access token').env('HF_TOKEN'))
    .addOption(new Option('--registry-user <user>', 'OCI registry user (basic auth and token requests)').env('DAMSELFLY_REGISTRY_USER'))
    .addOption(new Option('--registry-password <password>', 'OCI registry password').env('DAMSELFLY_REGISTRY_PASSWORD'))
    .addOption(new Option('--plain-http <hosts>', 'registries (host:port, comma-separated) reached over plain HTTP; loopback always is'))
}

export interface BackendFlags {
  caFile?: string
  s3Endpoint?: string
  s3Region?: string
  hfEndpoint?: string
  hfToken?: string
  registryUser?: string
  registryPassword?: string
  plainHttp?: string
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
      plainHttp: flags.plainHttp != null ? flags.plainHttp.split(',').map((h) => h.trim()).filter(Boolean) : undefined
    },
    s3: {
      endpoint: flags.s3Endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
      region: flags.s3Region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
      credentials: key != null && secret != null ? { accessKeyId: key, secretAccessKey: secret, sessionToken: env.AWS_SESSION_TOKEN } : undefined,
      ca
    },
    hf: { endpoint: flags.hfEndpoint, token: flags.hfToken }
  }
}
