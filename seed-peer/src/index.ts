import type { SeederFactory } from '@damselfly/task-engine'
import { OriginSeeder } from './seeder.js'

export { OriginSeeder }

/** The seed role for a peer engine: `new PeerEngine({ ..., seeder: originSeeder() })`. */
export function originSeeder (): SeederFactory {
  return (components) => new OriginSeeder(components)
}
