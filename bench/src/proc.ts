// Per-process accounting from /proc, read while the processes still run
// (a process's counters vanish with it).
import { readFile, readdir } from 'node:fs/promises'

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

/** Peak resident set (VmHWM) of a process in bytes; 0 when it is gone. */
export async function peakRssOf (pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const m = /VmHWM:\s+(\d+) kB/.exec(status)
    return m == null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
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
