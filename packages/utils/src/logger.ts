import { pino, type Logger } from 'pino'

export type { Logger }

/** Keys whose values never reach a log line (tokens, keys, auth headers). */
export const REDACT_PATHS = [
  'headers.authorization', 'headers.Authorization', 'headers.cookie', 'headers.Cookie',
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]',
  'token', 'secret', 'password', '*.token', '*.secret', '*.password', 'secretAccessKey', '*.secretAccessKey'
]

export function createLogger (name: string, level = 'info'): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' }
  }, pino.destination(2))
}

export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
