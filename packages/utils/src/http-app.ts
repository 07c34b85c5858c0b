const refuse = (): never => {
  throw new Error('route schemas are not used by this app (see NO_SCHEMA_COMPILERS): validate in the handler')
}

/**
 * Fastify's `schemaController` for an app that declares no route schemas (ours validate in their
 * handlers). Without it fastify loads ajv and fast-json-stringify to compile schemas nobody
 * declares: ~35 ms of every daemon's start-up. A route that does declare a schema fails when the
 * app starts instead of going unchecked.
 */
export const NO_SCHEMA_COMPILERS = {
  compilersFactory: {
    buildValidator: () => refuse,
    buildSerializer: () => refuse
  }
}
