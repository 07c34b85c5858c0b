import 'reflect-metadata'
import { createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { createSecureContext, type SecureContext } from 'node:tls'
import * as x509 from '@peculiar/x509'
import { InvalidRequestError } from '@damselfly/types'
import { CA_CERT_FILE, CA_KEY_FILE } from './constants.js'

const CA_NAME = 'CN=Damselfly peer proxy CA, O=Damselfly'
const DAY = 24 * 3600 * 1000
/** a CA lives as long as the trust stores it was installed in are kept */
const CA_DAYS = 3650
/** leaves are minted per process and per host, so they can be short-lived */
const LEAF_DAYS = 7
/** re-mint a cached leaf this long before it expires */
const LEAF_RENEW_MS = DAY
/** hosts whose leaf stays cached; each is a few hundred bytes plus a SecureContext */
const LEAF_CACHE = 1024

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const

export interface CaFiles {
  /** PEM certificate of the CA */
  certPath: string
  /** PEM private key (PKCS#8 or traditional; EC or RSA) */
  keyPath: string
}

interface Leaf { context: SecureContext, notAfter: number }

/**
 * The proxy's own certificate authority for HTTPS interception: the client
 * trusts its certificate, the proxy mints a leaf per intercepted host. One
 * P-256 key serves every leaf (generating a key per host would cost more than
 * the signature and buys nothing: the key never leaves this process).
 */
export class CertificateAuthority {
  private readonly leaves = new Map<string, Promise<Leaf>>()
  private leafKeys?: Promise<{ keys: webcrypto.CryptoKeyPair, pem: string }>

  private constructor (
    /** the CA certificate, PEM: what clients add to their trust store */
    readonly certPem: string,
    private readonly cert: x509.X509Certificate,
    private readonly signingKey: webcrypto.CryptoKey,
    private readonly signingAlgorithm: webcrypto.Algorithm | webcrypto.EcdsaParams
  ) {}

  /**
   * The CA in `files`, or the one in `dataDir` (created there on first use,
   * key readable by its owner only).
   */
  static async load (init: { dataDir?: string, files?: CaFiles }): Promise<CertificateAuthority> {
    if (init.files != null) return await fromFiles(init.files)
    if (init.dataDir == null) throw new InvalidRequestError('HTTPS interception needs a data dir or a CA certificate and key')
    const files = { certPath: join(init.dataDir, CA_CERT_FILE), keyPath: join(init.dataDir, CA_KEY_FILE) }
    try {
      return await fromFiles(files)
    } catch (err: any) {
      if (err?.code !== 'ENOENT') throw err
    }
    await mkdir(init.dataDir, { recursive: true })
    return await create(files)
  }

  /** A TLS context presenting a certificate for `host` (a name or an IP address), minted on first use. */
  async contextFor (host: string): Promise<SecureContext> {
    const name = host.toLowerCase().replace(/^\[|\]$/g, '')
    let leaf = this.leaves.get(name)
    if (leaf != null) {
      const done = await leaf.catch(() => undefined)
      if (done == null || done.notAfter - Date.now() < LEAF_RENEW_MS) leaf = undefined
    }
    if (leaf == null) {
      leaf = this.mint(name)
      this.leaves.delete(name)
      if (this.leaves.size >= LEAF_CACHE) this.leaves.delete(this.leaves.keys().next().value!)
      this.leaves.set(name, leaf)
    }
    return (await leaf).context
  }

  private async mint (host: string): Promise<Leaf> {
    this.leafKeys ??= (async () => {
      const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
      return { keys, pem: pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) }
    })()
    const { keys, pem } = await this.leafKeys
    const notBefore = new Date(Date.now() - 3600_000) // clients whose clock runs a little behind still accept it
    const notAfter = new Date(Date.now() + LEAF_DAYS * DAY)
    const san = isIP(host) !== 0 ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host }
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${host.replace(/[,+"\\<>;=]/g, '_')}`,
      issuer: this.cert.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: this.signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([san]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert)
      ]
    })
    // the chain includes the CA so clients that only know it by its key identifier still build the path
    const context = createSecureContext({ key: pem, cert: cert.toString('pem') + '\n' + this.certPem })
    return { context, notAfter: notAfter.getTime() }
  }
}

async function create (files: CaFiles): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: CA_NAME,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + CA_DAYS * DAY),
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  // the key first and exclusively: a second peer racing on the same dir fails here rather than mixing two CAs
  await writeFile(files.keyPath, pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600, flag: 'wx' })
  const certPem = cert.toString('pem') + '\n'
  await writeFile(files.certPath, certPem, { mode: 0o644 })
  return await fromFiles(files)
}

async function fromFiles (files: CaFiles): Promise<CertificateAuthority> {
  const certPem = await readFile(files.certPath, 'utf8')
  const keyPem = await readFile(files.keyPath, 'utf8')
  let cert: x509.X509Certificate
  let key: KeyObject
  try {
    cert = new x509.X509Certificate(certPem)
    key = createPrivateKey(keyPem)
  } catch (err: any) {
    // the key's text is never part of the message
    throw new InvalidRequestError(`cannot read the proxy CA (${files.certPath}, ${files.keyPath}): ${String(err?.message ?? err).split('\n')[0]}`)
  }
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' })
  if (!Buffer.from(spki).equals(Buffer.from(cert.publicKey.rawData))) {
    throw new InvalidRequestError(`the proxy CA key ${files.keyPath} does not belong to the certificate ${files.certPath}`)
  }
  const { signing, algorithm } = signingParams(key)
  const signingKey = key.toCryptoKey(signing, false, ['sign'])
  return new (CertificateAuthority as any)(certPem.endsWith('\n') ? certPem : certPem + '\n', cert, signingKey, algorithm)
}

function signingParams (key: KeyObject): { signing: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams, algorithm: webcrypto.Algorithm | webcrypto.EcdsaParams } {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined
    if (named == null) throw new InvalidRequestError(`the proxy CA key uses curve ${curve}; P-256, P-384 and P-521 are supported`)
    return { signing: { name: 'ECDSA', namedCurve: named }, algorithm: ECDSA_SHA256 }
  }
  if (key.asymmetricKeyType === 'rsa') return { signing: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, algorithm: { name: 'RSASSA-PKCS1-v1_5' } }
  throw new InvalidRequestError(`the proxy CA key is ${key.asymmetricKeyType}; EC and RSA keys are supported`)
}

function pkcs8Pem (der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n'
}

/** positive, 16 random bytes (RFC 5280 allows 20) */
function serial (): string {
  const b = randomBytes(16)
  b[0] &= 0x7f
  return b.toString('hex')
}
