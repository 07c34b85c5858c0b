/**
 * Query parameters that carry a credential: presigned S3 / GCS / Azure / CloudFront URLs and
 * the usual API-key names. Matched on the whole name, case-insensitively.
 */
const SECRET_PARAM = /^(x-amz-(signature|credential|security-token)|x-goog-(signature|credential)|signature|sig|token|access_token|id_token|refresh_token|auth|authorization|api[-_]?key|apikey|key|key-pair-id|policy|password|passwd|secret|client_secret|session|sessionid|jwt|code)$/i

/** What a secret becomes in anything shown: APIs, logs, metrics, the dashboard. */
export const REDACTED = '***'

/**
 * The one way a URL is shown outside the process that fetches it: userinfo and credential
 * query parameters become `***`, the rest (host, path, harmless parameters) stays so the URL
 * is still recognisable. Something that is not a URL is not shown at all.
 */
export function redactUrl (url: string): string {
  let u: URL
  try { u = new URL(url) } catch { return '<invalid url>' }
  if (u.username !== '' || u.password !== '') {
    u.username = REDACTED
    u.password = ''
  }
  if (u.search.length > 1) {
    // edited as raw text so the parameters kept are shown exactly as given
    u.search = u.search.slice(1).split('&').map((pair) => {
      const eq = pair.indexOf('=')
      const name = eq < 0 ? pair : pair.slice(0, eq)
      let decoded = name
      try { decoded = decodeURIComponent(name.replace(/\+/g, ' ')) } catch {}
      return SECRET_PARAM.test(decoded) ? `${name}=${REDACTED}` : pair
    }).join('&')
  }
  return u.toString()
}
