/**
 * One class per failure, each with a stable `name` and, when it crosses the
 * wire or HTTP, a stable `code`.
 */

export abstract class DamselflyError extends Error {
  abstract readonly code: string
  /** HTTP status the local API / proxy answers with */
  readonly status: number = 500
}

export class DigestMismatchError extends DamselflyError {
  override readonly name = 'DigestMismatchError'
  readonly code = 'ERR_DIGEST_MISMATCH'
  override readonly status = 502
}

export class OriginError extends DamselflyError {
  override readonly name = 'OriginError'
  readonly code = 'ERR_ORIGIN'
  override readonly status = 502
  constructor (message: string, readonly originStatus?: number, options?: ErrorOptions) {
    super(message, options)
  }
}

export class OriginTimeoutError extends DamselflyError {
  override readonly name = 'OriginTimeoutError'
  readonly code = 'ERR_ORIGIN_TIMEOUT'
  override readonly status = 504
}

export class UnsupportedSchemeError extends DamselflyError {
  override readonly name = 'UnsupportedSchemeError'
  readonly code = 'ERR_UNSUPPORTED_SCHEME'
  override readonly status = 400
}

export class InvalidRequestError extends DamselflyError {
  override readonly name = 'InvalidRequestError'
  readonly code = 'ERR_INVALID_REQUEST'
  override readonly status = 400
}

export class PieceNotFoundError extends DamselflyError {
  override readonly name = 'PieceNotFoundError'
  readonly code = 'ERR_PIECE_NOT_FOUND'
  override readonly status = 404
}

export class PieceTimeoutError extends DamselflyError {
  override readonly name = 'PieceTimeoutError'
  readonly code = 'ERR_PIECE_TIMEOUT'
  override readonly status = 504
}

export class ProtocolError extends DamselflyError {
  override readonly name = 'ProtocolError'
  readonly code = 'ERR_PROTOCOL'
}

export class MessageTooLargeError extends DamselflyError {
  override readonly name = 'MessageTooLargeError'
  readonly code = 'ERR_MESSAGE_TOO_LARGE'
}

export class SchedulerUnavailableError extends DamselflyError {
  override readonly name = 'SchedulerUnavailableError'
  readonly code = 'ERR_SCHEDULER_UNAVAILABLE'
  override readonly status = 503
}

export class UnauthorizedError extends DamselflyError {
  override readonly name = 'UnauthorizedError'
  readonly code = 'ERR_UNAUTHORIZED'
  override readonly status = 401
}

export class BackToSourceDisabledError extends DamselflyError {
  override readonly name = 'BackToSourceDisabledError'
  readonly code = 'ERR_BACK_TO_SOURCE_DISABLED'
  override readonly status = 502
}

export class StorageError extends DamselflyError {
  override readonly name = 'StorageError'
  readonly code = 'ERR_STORAGE'
  override readonly status = 507
}

export class DownloadTimeoutError extends DamselflyError {
  override readonly name = 'DownloadTimeoutError'
  readonly code = 'ERR_DOWNLOAD_TIMEOUT'
  override readonly status = 504
}

/** The origin refused our credentials (or asked for some we do not have). */
export class OriginAuthError extends DamselflyError {
  override readonly name = 'OriginAuthError'
  readonly code = 'ERR_ORIGIN_AUTH'
  override readonly status = 502
  constructor (message: string, readonly originStatus?: number, options?: ErrorOptions) {
    super(message, options)
  }
}

/** A listed file path would land outside the output directory (`../x`, `/etc/x`). */
export class UnsafePathError extends DamselflyError {
  override readonly name = 'UnsafePathError'
  readonly code = 'ERR_UNSAFE_PATH'
  override readonly status = 400
}

/** A URL the backend for its scheme cannot make sense of (`oci://` without a digest …). */
export class InvalidUrlError extends DamselflyError {
  override readonly name = 'InvalidUrlError'
  readonly code = 'ERR_INVALID_URL'
  override readonly status = 400
}

/** The local API would write outside the daemon's export roots. */
export class ExportForbiddenError extends DamselflyError {
  override readonly name = 'ExportForbiddenError'
  readonly code = 'ERR_EXPORT_FORBIDDEN'
  override readonly status = 403
}

/** The proxy will not connect there: loopback, link-local, private or its own daemon's ports. */
export class DestinationForbiddenError extends DamselflyError {
  override readonly name = 'DestinationForbiddenError'
  readonly code = 'ERR_DESTINATION_FORBIDDEN'
  override readonly status = 403
}

export class RangeNotSatisfiableError extends DamselflyError {
  override readonly name = 'RangeNotSatisfiableError'
  readonly code = 'ERR_RANGE_NOT_SATISFIABLE'
  override readonly status = 416
}

export class ForbiddenError extends DamselflyError {
  override readonly name = 'ForbiddenError'
  readonly code = 'ERR_FORBIDDEN'
  override readonly status = 403
}

export class TaskNotFoundError extends DamselflyError {
  override readonly name = 'TaskNotFoundError'
  readonly code = 'ERR_TASK_NOT_FOUND'
  override readonly status = 404
}

export class PreheatNotFoundError extends DamselflyError {
  override readonly name = 'PreheatNotFoundError'
  readonly code = 'ERR_PREHEAT_NOT_FOUND'
  override readonly status = 404
}

/** No seed peer (and no pool peer) can take a task the scheduler was asked to preheat. */
export class NoSeedError extends DamselflyError {
  override readonly name = 'NoSeedError'
  readonly code = 'ERR_NO_SEED'
  override readonly status = 503
}

/** A plain, serialisable view of any error for JSON answers and progress streams. */
export function errorInfo (err: unknown): { name: string, code: string, message: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return { name: err.name, code: typeof code === 'string' ? code : 'ERR_INTERNAL', message: err.message }
  }
  return { name: 'Error', code: 'ERR_INTERNAL', message: String(err) }
}

/**
 * The one mapping of errors to HTTP answers, for every fastify app's error handler: a
 * DamselflyError by its class's status, fastify's own (bad JSON, body too large) by theirs,
 * anything else 500; the body is always `{ error: { name, code, message } }`.
 */
export function httpError (err: unknown): { status: number, body: { error: { name: string, code: string, message: string } } } {
  const status = err instanceof DamselflyError ? err.status : (err as { statusCode?: number } | undefined)?.statusCode ?? 500
  return { status, body: { error: errorInfo(err) } }
}
