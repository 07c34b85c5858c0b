import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readyLine } from '@damselfly/utils'

export interface SenderInit {
  /** raw | stream | piece | piece-tls (see transfer-server.ts) */
  mode: string
  size: number
  pieceLength: number
  initialStreamWindow?: number
  directIo?: boolean
}

export interface Sender {
  /** what the sender printed when ready: its port, or its peer id, addresses, task id and digests */
  info: any
  pid: number
  stop: () => Promise<void>
}

/** Starts transfer-server.ts in its own process, so each side of a transfer has its own core as on two hosts. */
export async function startSender (init: SenderInit): Promise<Sender> {
  // e.g. BENCH_SENDER_NODE_ARGS='--cpu-prof' to profile the sending side
  const nodeArgs = process.env.BENCH_SENDER_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? []
  const child = spawn(process.execPath, [...nodeArgs, fileURLToPath(new URL('./transfer-server.js', import.meta.url)), init.mode, String(init.size), String(init.pieceLength), String(init.initialStreamWindow ?? ''), init.directIo === true ? 'direct' : 'cached'], { stdio: ['pipe', 'pipe', 'inherit'] })
  // anything besides the ready line is node's own output (e.g. --trace-gc): pass it on
  const line = await readyLine(child.stdout!, (l) => { process.stderr.write(`[sender] ${l}\n`) })
  // wait for the sender to exit so it neither competes with the next run nor loses its --cpu-prof output
  const stop = async (): Promise<void> => {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.stdin!.end()
    const t = setTimeout(() => child.kill(), 5000)
    await exited
    clearTimeout(t)
  }
  return { info: JSON.parse(line), pid: child.pid!, stop }
}
