// Per-process accounting from /proc, read while the processes still run
// (a process's counters vanish with it).
import { readFile, readdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { execFile } from 'node:child_process'

const TICKS_PER_SECOND = 100

/** utime + stime of a process (all its threads), in seconds; 0 when it is gone. */
export async function cpuSecondsOf (pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // the command name may contain spaces; fields restart after its closing paren
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/** CPU seconds of several processes together. */
export async function totalCpuSecondsOf (pids: number[]): Promise<number> {
  return (await Promise.all(pids.map(cpuSecondsOf))).reduce((a, b) => a + b, 0)
}

/** A number field of a /proc status file (`VmRSS:  1234 kB` → 1234); 0 when the process is gone. */
async function statusField (file: string, field: string): Promise<number> {
  try {
    // at a line start: `voluntary_ctxt_switches` must not match inside `nonvoluntary_ctxt_switches`
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(await readFile(file, 'utf8'))
    return m == null ? 0 : Number(m[1])
  } catch {
    return 0
  }
}

/** Peak resident set (VmHWM) of a process in bytes; 0 when it is gone. */
export async function peakRssOf (pid: number): Promise<number> {
  return await statusField(`/proc/${pid}/status`, 'VmHWM') * 1024
}

/** Resident set (VmRSS) of a process in bytes now; 0 when it is gone. */
export async function rssOf (pid: number): Promise<number> {
  return await statusField(`/proc/${pid}/status`, 'VmRSS') * 1024
}

/**
 * Times the process's main thread has gone to sleep and been woken (voluntary context switches of
 * /proc/<pid>/task/<pid>/status); 0 when it is gone. What an idle daemon costs is mostly these, at a
 * price per wake-up the machine sets.
 */
export async function wakeupsOf (pid: number): Promise<number> {
  return await statusField(`/proc/${pid}/task/${pid}/status`, 'voluntary_ctxt_switches')
}

/** Every descendant of `pid` (children, grandchildren, …), from /proc/<pid>/task/<tid>/children. */
export async function descendantsOf (pid: number): Promise<number[]> {
  const out: number[] = []
  const walk = async (p: number): Promise<void> => {
    let kids: number[] = []
    try {
      const tasks = await readdir(`/proc/${p}/task`)
      for (const t of tasks) {
        const s = await readFile(`/proc/${p}/task/${t}/children`, 'utf8').catch(() => '')
        kids.push(...s.trim().split(/\s+/).filter(Boolean).map(Number))
      }
    } catch {
      kids = []
    }
    for (const k of kids) { out.push(k); await walk(k) }
  }
  await walk(pid)
  return out
}

/**
 * CPU seconds of every child this process has reaped so far (cutime + cstime
 * of /proc/self/stat), grandchildren included when their parents reaped them:
 * the exact cost of processes we started and waited for.
 */
export async function reapedChildrenCpuSeconds (): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND
}

/** Milliseconds the block devices have spent doing I/O since boot (io_ticks, summed over disks). */
async function diskBusyMs (): Promise<number | undefined> {
  try {
    const stats = await readFile('/proc/diskstats', 'utf8')
    let ms = 0
    for (const line of stats.trim().split('\n')) {
      const f = line.trim().split(/\s+/)
      // whole disks only (partitions repeat their disk's time); loop and ram devices do no real I/O
      if (/^(loop|ram|dm-)/.test(f[2]) || existsSync(`/sys/class/block/${f[2]}/partition`)) continue
      ms += Number(f[12])
    }
    return ms
  } catch {
    return undefined
  }
}

/**
 * Reads a growing counter every `everyMs` until it has grown by less than `quietBy` three reads
 * in a row, or `maxMs` have passed; returns its last value.
 */
export async function whenQuiet (read: () => Promise<number>, everyMs: number, quietBy: number, maxMs: number): Promise<number> {
  let last = await read()
  for (let quiet = 0, waited = 0; quiet < 3 && waited < maxMs; waited += everyMs) {
    await new Promise((resolve) => setTimeout(resolve, everyMs))
    const now = await read()
    quiet = now - last < quietBy ? quiet + 1 : 0
    last = now
  }
  return last
}

/** Total CPU seconds of `pids` once they have used under 5% of a core each (on average) for 300 ms, or after 10 s. */
export async function settled (pids: number[]): Promise<number> {
  return await whenQuiet(async () => await totalCpuSecondsOf(pids), 100, 0.005 * pids.length, 10_000)
}

/**
 * Writes dirty pages out (`sync`) and waits until the disks have been under 10% busy for
 * 600 ms, or 60 s; each system calls it just before its clock starts. The systems run one
 * after another on one disk: without this, the write-back and discards of the previous
 * system's 8 GiB of output land in the next one's run.
 */
export async function quietDisks (): Promise<void> {
  await new Promise<void>((resolve) => { execFile('sync', () => { resolve() }) })
  if (await diskBusyMs() == null) return
  await whenQuiet(async () => await diskBusyMs() ?? 0, 200, 20, 60_000)
}
