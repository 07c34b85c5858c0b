import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CHECK = fileURLToPath(new URL('../../check-layout.mjs', import.meta.url))

describe('the layout', () => {
  it('should keep libraries free of roles and the CLI, roles free of each other, argv/env in the CLI only, and tests off bench', async () => {
    const r = await new Promise<{ code: number, out: string }>((resolve) => {
      execFile(process.execPath, [CHECK], (err: any, out) => { resolve({ code: err?.code ?? 0, out }) })
    })
    assert.equal(r.out, '', r.out)
    assert.equal(r.code, 0)
  })
})
