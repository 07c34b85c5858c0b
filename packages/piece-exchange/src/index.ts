import type { TaskStore } from '@damselfly/storage'

export { PieceServer, type PieceServerInit } from './piece-server.js'
export { PieceClient, type PieceClientInit } from './piece-client.js'
export { UploadBudget } from './upload-budget.js'
export { maybeQueued } from './send-queue.js'
export { streamLink, socketLink, type PieceLink, type Transport } from './piece-link.js'
import type { Transport } from './piece-link.js'
export { DataChannelServer, openDataLink, ticketFromParent, connectDataLink, decodeTicket, DATA_PROTOCOL, MAX_TICKET_TTL_MS, type DataChannelMode, type DataChannelKind, type DataChannelOffer } from './data-channel.js'
export { makeTicket, ticketKey, ticketKeyMatches, TICKET_SECRET_BYTES } from './data-ticket.js'
export * from './constants.js'

/** Finds the local store of a task, if this daemon holds it. */
export type PieceLookup = (taskId: string) => Promise<Pick<TaskStore, 'hasPiece' | 'lendPiece'> & { bitfield?: { bytes: Uint8Array } } | undefined>
export type UploadListener = (taskId: string, peerId: string, bytes: number, transport: Transport) => void
export { grantPayload, signGrant, checkGrant } from './grant.js'
