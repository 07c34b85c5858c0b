import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'

/** The path of an executable on PATH, or undefined when the machine lacks it. */
export async function which (name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir === '') continue
    try {
      await access(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {}
  }
  return undefined
}

export interface RunResult { stdout: string, stderr: string }

/** Runs a client to completion; rejects with its output when it exits non-zero. */
export async function run (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    execFile(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`))
      else resolve({ stdout, stderr })
    })
  })
}

/** Starts a long-running server process; its output is kept for failure messages. */
export function startProcess (cmd: string, args: string[], env?: NodeJS.ProcessEnv): { child: ChildProcess, output: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
  let out = ''
  const keep = (b: Buffer): void => { out = (out + b.toString()).slice(-20_000) }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  return { child, output: () => out }
}

export async function stopProcess (child?: ChildProcess): Promise<void> {
  if (child == null || child.exitCode != null || child.signalCode != null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(t)
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => { resolve(port) })
    })
  })
}

export { waitFor } from '@damselfly/testkit'

/**
 * The client's path; without it the test (or, from a hook, the suite) is
 * skipped with the reason printed, so a skip never passes silently for a pass.
 */
export async function clientOrSkip (ctx: Mocha.Context, name: string, debianPackage = name): Promise<string> {
  const path = await which(name)
  if (path != null) return path
  const reason = `${name} is not installed (Debian package ${debianPackage}; .ci/run installs it)`
  process.stdout.write(`      skipped: ${reason}\n`)
  ctx.skip()
}

/**
 * 127.0.0.1 as Go clients must be given it: Go's proxy selection never proxies loopback
 * addresses (git-lfs, dockerd), but `127.1` is no IP address to Go and still resolves to
 * 127.0.0.1 for the peer (getaddrinfo). Go's own resolver does not resolve it: reach the
 * origin directly (not through a peer) by 127.0.0.1.
 */
export const GO_LOOPBACK = '127.1'

/**
 * The process environment without the variables that point clients at a CA bundle, a proxy or
 * another Docker engine (some machines set REQUESTS_CA_BUNDLE, GIT_SSL_CAINFO, CURL_CA_BUNDLE …
 * to the system store, and they override what a test configures: requests lets
 * REQUESTS_CA_BUNDLE beat pip's --cert, git lets GIT_SSL_CAINFO beat http.sslCAInfo)
 */
export function baseEnv (): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const k of ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'PIP_CERT', 'NODE_EXTRA_CA_CERTS',
    'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy', 'DOCKER_HOST', 'DOCKER_CONFIG']) delete env[k]
  return env
}
