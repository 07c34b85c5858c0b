import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface PieceRequest {
  taskId: string
  index: number
  grant: Uint8Array<ArrayBuffer>
}

export namespace PieceRequest {
  let _codec: Codec<PieceRequest>

  export const codec = (): Codec<PieceRequest> => {
    if (_codec == null) {
      _codec = message<PieceRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(16)
          w.uint32(obj.index)
        }

        if ((obj.grant != null && obj.grant.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.grant)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          index: 0,
          grant: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.taskId = reader.string()
              break
            }
            case 2: {
              obj.index = reader.uint32()
              break
            }
            case 3: {
              obj.grant = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.taskId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.grant`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PieceRequestTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface PieceRequestIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface PieceRequestGrantFieldEvent {
    field: '$.grant'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<PieceRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PieceRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceRequest>): PieceRequest {
    return decodeMessage(buf, PieceRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceRequest>): Generator<PieceRequestTaskIdFieldEvent | PieceRequestIndexFieldEvent | PieceRequestGrantFieldEvent> {
    return streamMessage(buf, PieceRequest.codec(), opts)
  }
}

export enum PieceStatus {
  OK = 'OK',
  NOT_FOUND = 'NOT_FOUND',
  BUSY = 'BUSY',
  ERROR = 'ERROR',
  FORBIDDEN = 'FORBIDDEN'
}

enum __PieceStatusValues {
  OK = 0,
  NOT_FOUND = 1,
  BUSY = 2,
  ERROR = 3,
  FORBIDDEN = 4
}

export namespace PieceStatus {
  export const codec = (): Codec<PieceStatus> => {
    return enumeration<PieceStatus>(__PieceStatusValues)
  }
}

export interface PieceResponse {
  index: number
  status: PieceStatus
  length: number
}

export namespace PieceResponse {
  let _codec: Codec<PieceResponse>

  export const codec = (): Codec<PieceResponse> => {
    if (_codec == null) {
      _codec = message<PieceResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(8)
          w.uint32(obj.index)
        }

        if (obj.status != null && __PieceStatusValues[obj.status] !== 0) {
          w.uint32(16)
          PieceStatus.codec().encode(obj.status, w)
        }

        if ((obj.length != null && obj.length !== 0)) {
          w.uint32(24)
          w.uint32(obj.length)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          index: 0,
          status: PieceStatus.OK,
          length: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.index = reader.uint32()
              break
            }
            case 2: {
              obj.status = PieceStatus.codec().decode(reader)
              break
            }
            case 3: {
              obj.length = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.status`,
                value: PieceStatus.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.length`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PieceResponseIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface PieceResponseStatusFieldEvent {
    field: '$.status'
    value: PieceStatus
  }

  export interface PieceResponseLengthFieldEvent {
    field: '$.length'
    value: number
  }

  export function encode (obj: Partial<PieceResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PieceResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceResponse>): PieceResponse {
    return decodeMessage(buf, PieceResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceResponse>): Generator<PieceResponseIndexFieldEvent | PieceResponseStatusFieldEvent | PieceResponseLengthFieldEvent> {
    return streamMessage(buf, PieceResponse.codec(), opts)
  }
}

export interface DataHello {
  id: Uint8Array<ArrayBuffer>
  expires: number
  child: string
  key: Uint8Array<ArrayBuffer>
}

export namespace DataHello {
  let _codec: Codec<DataHello>

  export const codec = (): Codec<DataHello> => {
    if (_codec == null) {
      _codec = message<DataHello>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.expires != null && obj.expires !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.expires)
        }

        if ((obj.child != null && obj.child !== '')) {
          w.uint32(26)
          w.string(obj.child)
        }

        if ((obj.key != null && obj.key.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.key)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          expires: 0,
          child: '',
          key: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.bytes()
              break
            }
            case 2: {
              obj.expires = reader.uint64Number()
              break
            }
            case 3: {
              obj.child = reader.string()
              break
            }
            case 4: {
              obj.key = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.expires`,
                value: reader.uint64Number()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.child`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.key`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface DataHelloIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DataHelloExpiresFieldEvent {
    field: '$.expires'
    value: number
  }

  export interface DataHelloChildFieldEvent {
    field: '$.child'
    value: string
  }

  export interface DataHelloKeyFieldEvent {
    field: '$.key'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<DataHello>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DataHello.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DataHello>): DataHello {
    return decodeMessage(buf, DataHello.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DataHello>): Generator<DataHelloIdFieldEvent | DataHelloExpiresFieldEvent | DataHelloChildFieldEvent | DataHelloKeyFieldEvent> {
    return streamMessage(buf, DataHello.codec(), opts)
  }
}
