import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, rename, writeFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createGunzip } from 'node:zlib'
import { writeRandomFile } from '@damselfly/testkit'
import { run } from './clients.js'

export interface OciBlob { digest: string, size: number, mediaType: string }

export interface OciImage {
  /** the OCI image layout directory (`oci:<dir>:<tag>` for skopeo) */
  dir: string
  tag: string
  manifest: OciBlob
  config: OciBlob
  layers: OciBlob[]
}

async function sha256Of (stream: NodeJS.ReadableStream): Promise<string> {
  const h = createHash('sha256')
  for await (const c of stream) h.update(c as Buffer)
  return h.digest('hex')
}

/**
 * An OCI image layout built by hand (no registry or internet needed): gzip
 * layers of random files, a config whose diff_ids match, a manifest and an
 * index naming `tag`.
 */
export async function buildOciImage (dir: string, tag: string, layerSizes: number[]): Promise<OciImage> {
  const blobs = join(dir, 'blobs', 'sha256')
  await mkdir(blobs, { recursive: true })
  const addBlob = async (path: string, mediaType: string): Promise<OciBlob> => {
    const hex = await sha256Of(createReadStream(path))
    await rename(path, join(blobs, hex))
    return { digest: `sha256:${hex}`, size: (await stat(join(blobs, hex))).size, mediaType }
  }
  const addJson = async (value: unknown, mediaType: string): Promise<OciBlob> => {
    const path = join(dir, 'tmp.json')
    await writeFile(path, JSON.stringify(value))
    return await addBlob(path, mediaType)
  }
  const layers: OciBlob[] = []
  const diffIds: string[] = []
  for (const [i, size] of layerSizes.entries()) {
    const src = join(dir, `layer-${i}`)
    await mkdir(join(src, 'data'), { recursive: true })
    await writeRandomFile(join(src, 'data', `file-${i}.bin`), size)
    const tgz = join(dir, `layer-${i}.tar.gz`)
    await run('tar', ['-czf', tgz, '-C', src, 'data'])
    diffIds.push(`sha256:${await sha256Of(createReadStream(tgz).pipe(createGunzip()))}`)
    layers.push(await addBlob(tgz, 'application/vnd.oci.image.layer.v1.tar+gzip'))
  }
  const config = await addJson({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layerSizes.map(() => ({ created_by: 'damselfly test' }))
  }, 'application/vnd.oci.image.config.v1+json')
  const manifest = await addJson({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }))
  }, 'application/vnd.oci.image.manifest.v1+json')
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, annotations: { 'org.opencontainers.image.ref.name': tag } }]
  }))
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  return { dir, tag, manifest, config, layers }
}
