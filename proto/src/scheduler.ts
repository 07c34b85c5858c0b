/* eslint-disable require-yield */

import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Header {
  name: string
  value: string
}

export namespace Header {
  let _codec: Codec<Header>

  export const codec = (): Codec<Header> => {
    if (_codec == null) {
      _codec = message<Header>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(10)
          w.string(obj.name)
        }

        if ((obj.value != null && obj.value !== '')) {
          w.uint32(18)
          w.string(obj.value)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          name: '',
          value: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.name = reader.string()
              break
            }
            case 2: {
              obj.value = reader.string()
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
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.value`,
                value: reader.string()
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

  export interface HeaderNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface HeaderValueFieldEvent {
    field: '$.value'
    value: string
  }

  export function encode (obj: Partial<Header>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Header.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Header>): Header {
    return decodeMessage(buf, Header.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Header>): Generator<HeaderNameFieldEvent | HeaderValueFieldEvent> {
    return streamMessage(buf, Header.codec(), opts)
  }
}

export interface TaskState {
  taskId: string
  have: Uint8Array<ArrayBuffer>
  meta?: TaskMeta
  done: boolean
}

export namespace TaskState {
  let _codec: Codec<TaskState>

  export const codec = (): Codec<TaskState> => {
    if (_codec == null) {
      _codec = message<TaskState>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.have != null && obj.have.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.have)
        }

        if (obj.meta != null) {
          w.uint32(26)
          TaskMeta.codec().encode(obj.meta, w)
        }

        if ((obj.done != null && obj.done !== false)) {
          w.uint32(32)
          w.bool(obj.done)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          have: uint8ArrayAlloc(0),
          done: false
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
              obj.have = reader.bytes()
              break
            }
            case 3: {
              obj.meta = TaskMeta.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.meta
              })
              break
            }
            case 4: {
              obj.done = reader.bool()
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
                field: `${prefix}.have`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield * TaskMeta.codec().stream(reader, reader.uint32(), `${prefix}.meta`, {
                limits: opts.limits?.meta
              })

              break
            }
            case 4: {
              yield {
                field: `${prefix}.done`,
                value: reader.bool()
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

  export interface TaskStateTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface TaskStateHaveFieldEvent {
    field: '$.have'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskStateMetaTaskIdFieldEvent {
    field: '$.meta.taskId'
    value: string
  }

  export interface TaskStateMetaContentLengthFieldEvent {
    field: '$.meta.contentLength'
    value: number
  }

  export interface TaskStateMetaPieceLengthFieldEvent {
    field: '$.meta.pieceLength'
    value: number
  }

  export interface TaskStateMetaUrlFieldEvent {
    field: '$.meta.url'
    value: string
  }

  export interface TaskStateDoneFieldEvent {
    field: '$.done'
    value: boolean
  }

  export function encode (obj: Partial<TaskState>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskState.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskState>): TaskState {
    return decodeMessage(buf, TaskState.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskState>): Generator<TaskStateTaskIdFieldEvent | TaskStateHaveFieldEvent | TaskStateMetaTaskIdFieldEvent | TaskStateMetaContentLengthFieldEvent | TaskStateMetaPieceLengthFieldEvent | TaskStateMetaUrlFieldEvent | TaskStateDoneFieldEvent> {
    return streamMessage(buf, TaskState.codec(), opts)
  }
}

export interface TaskMeta {
  taskId: string
  contentLength: number
  pieceLength: number
  url: string
}

export namespace TaskMeta {
  let _codec: Codec<TaskMeta>

  export const codec = (): Codec<TaskMeta> => {
    if (_codec == null) {
      _codec = message<TaskMeta>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.contentLength != null && obj.contentLength !== 0)) {
          w.uint32(16)
          w.sint64Number(obj.contentLength)
        }

        if ((obj.pieceLength != null && obj.pieceLength !== 0)) {
          w.uint32(24)
          w.uint32(obj.pieceLength)
        }

        if ((obj.url != null && obj.url !== '')) {
          w.uint32(34)
          w.string(obj.url)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          contentLength: 0,
          pieceLength: 0,
          url: ''
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
              obj.contentLength = reader.sint64Number()
              break
            }
            case 3: {
              obj.pieceLength = reader.uint32()
              break
            }
            case 4: {
              obj.url = reader.string()
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
                field: `${prefix}.contentLength`,
                value: reader.sint64Number()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.pieceLength`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.url`,
                value: reader.string()
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

  export interface TaskMetaTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface TaskMetaContentLengthFieldEvent {
    field: '$.contentLength'
    value: number
  }

  export interface TaskMetaPieceLengthFieldEvent {
    field: '$.pieceLength'
    value: number
  }

  export interface TaskMetaUrlFieldEvent {
    field: '$.url'
    value: string
  }

  export function encode (obj: Partial<TaskMeta>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskMeta.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskMeta>): TaskMeta {
    return decodeMessage(buf, TaskMeta.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskMeta>): Generator<TaskMetaTaskIdFieldEvent | TaskMetaContentLengthFieldEvent | TaskMetaPieceLengthFieldEvent | TaskMetaUrlFieldEvent> {
    return streamMessage(buf, TaskMeta.codec(), opts)
  }
}

export interface Register {
  addrs: string[]
  pool: string
  idc: string
  hostname: string
  seed: boolean
  uploadSlots: number
  token: string
  tasks: TaskState[]
  dataSecret?: Uint8Array<ArrayBuffer>
  dataHost?: string
  dataPort?: number
  dataPlainPort?: number
  dataTls?: boolean
  heartbeats?: boolean
}

export namespace Register {
  let _codec: Codec<Register>

  export const codec = (): Codec<Register> => {
    if (_codec == null) {
      _codec = message<Register>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(10)
            w.string(value)
          }
        }

        if ((obj.pool != null && obj.pool !== '')) {
          w.uint32(18)
          w.string(obj.pool)
        }

        if ((obj.idc != null && obj.idc !== '')) {
          w.uint32(26)
          w.string(obj.idc)
        }

        if ((obj.hostname != null && obj.hostname !== '')) {
          w.uint32(34)
          w.string(obj.hostname)
        }

        if ((obj.seed != null && obj.seed !== false)) {
          w.uint32(40)
          w.bool(obj.seed)
        }

        if ((obj.uploadSlots != null && obj.uploadSlots !== 0)) {
          w.uint32(48)
          w.uint32(obj.uploadSlots)
        }

        if ((obj.token != null && obj.token !== '')) {
          w.uint32(58)
          w.string(obj.token)
        }

        if (obj.tasks != null && obj.tasks.length > 0) {
          for (const value of obj.tasks) {
            w.uint32(66)
            TaskState.codec().encode(value, w)
          }
        }

        if (obj.dataSecret != null) {
          w.uint32(74)
          w.bytes(obj.dataSecret)
        }

        if (obj.dataHost != null) {
          w.uint32(82)
          w.string(obj.dataHost)
        }

        if (obj.dataPort != null) {
          w.uint32(88)
          w.uint32(obj.dataPort)
        }

        if (obj.dataPlainPort != null) {
          w.uint32(96)
          w.uint32(obj.dataPlainPort)
        }

        if (obj.dataTls != null) {
          w.uint32(104)
          w.bool(obj.dataTls)
        }

        if (obj.heartbeats != null) {
          w.uint32(112)
          w.bool(obj.heartbeats)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          addrs: [],
          pool: '',
          idc: '',
          hostname: '',
          seed: false,
          uploadSlots: 0,
          token: '',
          tasks: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.string())
              break
            }
            case 2: {
              obj.pool = reader.string()
              break
            }
            case 3: {
              obj.idc = reader.string()
              break
            }
            case 4: {
              obj.hostname = reader.string()
              break
            }
            case 5: {
              obj.seed = reader.bool()
              break
            }
            case 6: {
              obj.uploadSlots = reader.uint32()
              break
            }
            case 7: {
              obj.token = reader.string()
              break
            }
            case 8: {
              if (opts.limits?.tasks != null && obj.tasks.length === opts.limits.tasks) {
                throw new MaxLengthError('Decode error - repeated field "tasks" had too many elements')
              }

              obj.tasks.push(TaskState.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.tasks$
              }))
              break
            }
            case 9: {
              obj.dataSecret = reader.bytes()
              break
            }
            case 10: {
              obj.dataHost = reader.string()
              break
            }
            case 11: {
              obj.dataPort = reader.uint32()
              break
            }
            case 12: {
              obj.dataPlainPort = reader.uint32()
              break
            }
            case 13: {
              obj.dataTls = reader.bool()
              break
            }
            case 14: {
              obj.heartbeats = reader.bool()
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
        const obj = {
          addrs: 0,
          tasks: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.string()
              }

              obj.addrs++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.pool`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.idc`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.hostname`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.seed`,
                value: reader.bool()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.uploadSlots`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.token`,
                value: reader.string()
              }
              break
            }
            case 8: {
              if (opts.limits?.tasks != null && obj.tasks === opts.limits.tasks) {
                throw new MaxLengthError('Streaming decode error - repeated field "tasks" had too many elements')
              }

              for (const evt of TaskState.codec().stream(reader, reader.uint32(), `${prefix}.tasks[]`, {
                limits: opts.limits?.tasks$
              })) {
                yield {
                  ...evt,
                  index: obj.tasks
                }
              }

              obj.tasks++

              break
            }
            case 9: {
              yield {
                field: `${prefix}.dataSecret`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.dataHost`,
                value: reader.string()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.dataPort`,
                value: reader.uint32()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.dataPlainPort`,
                value: reader.uint32()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.dataTls`,
                value: reader.bool()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.heartbeats`,
                value: reader.bool()
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

  export interface RegisterAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: string
  }

  export interface RegisterPoolFieldEvent {
    field: '$.pool'
    value: string
  }

  export interface RegisterIdcFieldEvent {
    field: '$.idc'
    value: string
  }

  export interface RegisterHostnameFieldEvent {
    field: '$.hostname'
    value: string
  }

  export interface RegisterSeedFieldEvent {
    field: '$.seed'
    value: boolean
  }

  export interface RegisterUploadSlotsFieldEvent {
    field: '$.uploadSlots'
    value: number
  }

  export interface RegisterTokenFieldEvent {
    field: '$.token'
    value: string
  }

  export interface RegisterTasksTaskIdFieldEvent {
    field: '$.tasks[].taskId'
    value: string
    index: number
  }

  export interface RegisterTasksHaveFieldEvent {
    field: '$.tasks[].have'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RegisterTasksMetaTaskIdFieldEvent {
    field: '$.tasks[].meta.taskId'
    value: string
    index: number
  }

  export interface RegisterTasksMetaContentLengthFieldEvent {
    field: '$.tasks[].meta.contentLength'
    value: number
    index: number
  }

  export interface RegisterTasksMetaPieceLengthFieldEvent {
    field: '$.tasks[].meta.pieceLength'
    value: number
    index: number
  }

  export interface RegisterTasksMetaUrlFieldEvent {
    field: '$.tasks[].meta.url'
    value: string
    index: number
  }

  export interface RegisterTasksDoneFieldEvent {
    field: '$.tasks[].done'
    value: boolean
    index: number
  }

  export interface RegisterDataSecretFieldEvent {
    field: '$.dataSecret'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RegisterDataHostFieldEvent {
    field: '$.dataHost'
    value: string
  }

  export interface RegisterDataPortFieldEvent {
    field: '$.dataPort'
    value: number
  }

  export interface RegisterDataPlainPortFieldEvent {
    field: '$.dataPlainPort'
    value: number
  }

  export interface RegisterDataTlsFieldEvent {
    field: '$.dataTls'
    value: boolean
  }

  export interface RegisterHeartbeatsFieldEvent {
    field: '$.heartbeats'
    value: boolean
  }

  export function encode (obj: Partial<Register>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Register.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Register>): Register {
    return decodeMessage(buf, Register.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Register>): Generator<RegisterAddrsFieldEvent | RegisterPoolFieldEvent | RegisterIdcFieldEvent | RegisterHostnameFieldEvent | RegisterSeedFieldEvent | RegisterUploadSlotsFieldEvent | RegisterTokenFieldEvent | RegisterTasksTaskIdFieldEvent | RegisterTasksHaveFieldEvent | RegisterTasksMetaTaskIdFieldEvent | RegisterTasksMetaContentLengthFieldEvent | RegisterTasksMetaPieceLengthFieldEvent | RegisterTasksMetaUrlFieldEvent | RegisterTasksDoneFieldEvent | RegisterDataSecretFieldEvent | RegisterDataHostFieldEvent | RegisterDataPortFieldEvent | RegisterDataPlainPortFieldEvent | RegisterDataTlsFieldEvent | RegisterHeartbeatsFieldEvent> {
    return streamMessage(buf, Register.codec(), opts)
  }
}

export interface Announce {
  taskId: string
  url: string
  headers: Header[]
  pieceLength: number
  digest: string
  tag: string
  application: string
  filteredQueryParams: string[]
  range: string
}

export namespace Announce {
  let _codec: Codec<Announce>

  export const codec = (): Codec<Announce> => {
    if (_codec == null) {
      _codec = message<Announce>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.url != null && obj.url !== '')) {
          w.uint32(18)
          w.string(obj.url)
        }

        if (obj.headers != null && obj.headers.length > 0) {
          for (const value of obj.headers) {
            w.uint32(26)
            Header.codec().encode(value, w)
          }
        }

        if ((obj.pieceLength != null && obj.pieceLength !== 0)) {
          w.uint32(32)
          w.uint32(obj.pieceLength)
        }

        if ((obj.digest != null && obj.digest !== '')) {
          w.uint32(42)
          w.string(obj.digest)
        }

        if ((obj.tag != null && obj.tag !== '')) {
          w.uint32(50)
          w.string(obj.tag)
        }

        if ((obj.application != null && obj.application !== '')) {
          w.uint32(58)
          w.string(obj.application)
        }

        if (obj.filteredQueryParams != null && obj.filteredQueryParams.length > 0) {
          for (const value of obj.filteredQueryParams) {
            w.uint32(66)
            w.string(value)
          }
        }

        if ((obj.range != null && obj.range !== '')) {
          w.uint32(74)
          w.string(obj.range)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          url: '',
          headers: [],
          pieceLength: 0,
          digest: '',
          tag: '',
          application: '',
          filteredQueryParams: [],
          range: ''
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
              obj.url = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.headers != null && obj.headers.length === opts.limits.headers) {
                throw new MaxLengthError('Decode error - repeated field "headers" had too many elements')
              }

              obj.headers.push(Header.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.headers$
              }))
              break
            }
            case 4: {
              obj.pieceLength = reader.uint32()
              break
            }
            case 5: {
              obj.digest = reader.string()
              break
            }
            case 6: {
              obj.tag = reader.string()
              break
            }
            case 7: {
              obj.application = reader.string()
              break
            }
            case 8: {
              if (opts.limits?.filteredQueryParams != null && obj.filteredQueryParams.length === opts.limits.filteredQueryParams) {
                throw new MaxLengthError('Decode error - repeated field "filteredQueryParams" had too many elements')
              }

              obj.filteredQueryParams.push(reader.string())
              break
            }
            case 9: {
              obj.range = reader.string()
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
        const obj = {
          headers: 0,
          filteredQueryParams: 0
        }

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
                field: `${prefix}.url`,
                value: reader.string()
              }
              break
            }
            case 3: {
              if (opts.limits?.headers != null && obj.headers === opts.limits.headers) {
                throw new MaxLengthError('Streaming decode error - repeated field "headers" had too many elements')
              }

              for (const evt of Header.codec().stream(reader, reader.uint32(), `${prefix}.headers[]`, {
                limits: opts.limits?.headers$
              })) {
                yield {
                  ...evt,
                  index: obj.headers
                }
              }

              obj.headers++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.pieceLength`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.digest`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.tag`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.application`,
                value: reader.string()
              }
              break
            }
            case 8: {
              if (opts.limits?.filteredQueryParams != null && obj.filteredQueryParams === opts.limits.filteredQueryParams) {
                throw new MaxLengthError('Streaming decode error - repeated field "filteredQueryParams" had too many elements')
              }

              yield {
                field: `${prefix}.filteredQueryParams[]`,
                index: obj.filteredQueryParams,
                value: reader.string()
              }

              obj.filteredQueryParams++

              break
            }
            case 9: {
              yield {
                field: `${prefix}.range`,
                value: reader.string()
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

  export interface AnnounceTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface AnnounceUrlFieldEvent {
    field: '$.url'
    value: string
  }

  export interface AnnounceHeadersNameFieldEvent {
    field: '$.headers[].name'
    value: string
    index: number
  }

  export interface AnnounceHeadersValueFieldEvent {
    field: '$.headers[].value'
    value: string
    index: number
  }

  export interface AnnouncePieceLengthFieldEvent {
    field: '$.pieceLength'
    value: number
  }

  export interface AnnounceDigestFieldEvent {
    field: '$.digest'
    value: string
  }

  export interface AnnounceTagFieldEvent {
    field: '$.tag'
    value: string
  }

  export interface AnnounceApplicationFieldEvent {
    field: '$.application'
    value: string
  }

  export interface AnnounceFilteredQueryParamsFieldEvent {
    field: '$.filteredQueryParams[]'
    index: number
    value: string
  }

  export interface AnnounceRangeFieldEvent {
    field: '$.range'
    value: string
  }

  export function encode (obj: Partial<Announce>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Announce.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Announce>): Announce {
    return decodeMessage(buf, Announce.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Announce>): Generator<AnnounceTaskIdFieldEvent | AnnounceUrlFieldEvent | AnnounceHeadersNameFieldEvent | AnnounceHeadersValueFieldEvent | AnnouncePieceLengthFieldEvent | AnnounceDigestFieldEvent | AnnounceTagFieldEvent | AnnounceApplicationFieldEvent | AnnounceFilteredQueryParamsFieldEvent | AnnounceRangeFieldEvent> {
    return streamMessage(buf, Announce.codec(), opts)
  }
}

export interface PieceDigest {
  index: number
  digest: Uint8Array<ArrayBuffer>
}

export namespace PieceDigest {
  let _codec: Codec<PieceDigest>

  export const codec = (): Codec<PieceDigest> => {
    if (_codec == null) {
      _codec = message<PieceDigest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(8)
          w.uint32(obj.index)
        }

        if ((obj.digest != null && obj.digest.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.digest)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          index: 0,
          digest: uint8ArrayAlloc(0)
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
              obj.digest = reader.bytes()
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
                field: `${prefix}.digest`,
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

  export interface PieceDigestIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface PieceDigestDigestFieldEvent {
    field: '$.digest'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<PieceDigest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PieceDigest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceDigest>): PieceDigest {
    return decodeMessage(buf, PieceDigest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceDigest>): Generator<PieceDigestIndexFieldEvent | PieceDigestDigestFieldEvent> {
    return streamMessage(buf, PieceDigest.codec(), opts)
  }
}

export interface PieceReport {
  taskId: string
  indexes: number[]
  digests: PieceDigest[]
  parentId: string
  costMs: number
}

export namespace PieceReport {
  let _codec: Codec<PieceReport>

  export const codec = (): Codec<PieceReport> => {
    if (_codec == null) {
      _codec = message<PieceReport>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if (obj.indexes != null && obj.indexes.length > 0) {
          for (const value of obj.indexes) {
            w.uint32(16)
            w.uint32(value)
          }
        }

        if (obj.digests != null && obj.digests.length > 0) {
          for (const value of obj.digests) {
            w.uint32(26)
            PieceDigest.codec().encode(value, w)
          }
        }

        if ((obj.parentId != null && obj.parentId !== '')) {
          w.uint32(34)
          w.string(obj.parentId)
        }

        if ((obj.costMs != null && obj.costMs !== 0)) {
          w.uint32(40)
          w.uint32(obj.costMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          indexes: [],
          digests: [],
          parentId: '',
          costMs: 0
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
              if (opts.limits?.indexes != null && obj.indexes.length === opts.limits.indexes) {
                throw new MaxLengthError('Decode error - repeated field "indexes" had too many elements')
              }

              obj.indexes.push(reader.uint32())
              break
            }
            case 3: {
              if (opts.limits?.digests != null && obj.digests.length === opts.limits.digests) {
                throw new MaxLengthError('Decode error - repeated field "digests" had too many elements')
              }

              obj.digests.push(PieceDigest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.digests$
              }))
              break
            }
            case 4: {
              obj.parentId = reader.string()
              break
            }
            case 5: {
              obj.costMs = reader.uint32()
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
        const obj = {
          indexes: 0,
          digests: 0
        }

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
              if (opts.limits?.indexes != null && obj.indexes === opts.limits.indexes) {
                throw new MaxLengthError('Streaming decode error - repeated field "indexes" had too many elements')
              }

              yield {
                field: `${prefix}.indexes[]`,
                index: obj.indexes,
                value: reader.uint32()
              }

              obj.indexes++

              break
            }
            case 3: {
              if (opts.limits?.digests != null && obj.digests === opts.limits.digests) {
                throw new MaxLengthError('Streaming decode error - repeated field "digests" had too many elements')
              }

              for (const evt of PieceDigest.codec().stream(reader, reader.uint32(), `${prefix}.digests[]`, {
                limits: opts.limits?.digests$
              })) {
                yield {
                  ...evt,
                  index: obj.digests
                }
              }

              obj.digests++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.parentId`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.costMs`,
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

  export interface PieceReportTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface PieceReportIndexesFieldEvent {
    field: '$.indexes[]'
    index: number
    value: number
  }

  export interface PieceReportDigestsIndexFieldEvent {
    field: '$.digests[].index'
    value: number
    index: number
  }

  export interface PieceReportDigestsDigestFieldEvent {
    field: '$.digests[].digest'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PieceReportParentIdFieldEvent {
    field: '$.parentId'
    value: string
  }

  export interface PieceReportCostMsFieldEvent {
    field: '$.costMs'
    value: number
  }

  export function encode (obj: Partial<PieceReport>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PieceReport.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceReport>): PieceReport {
    return decodeMessage(buf, PieceReport.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceReport>): Generator<PieceReportTaskIdFieldEvent | PieceReportIndexesFieldEvent | PieceReportDigestsIndexFieldEvent | PieceReportDigestsDigestFieldEvent | PieceReportParentIdFieldEvent | PieceReportCostMsFieldEvent> {
    return streamMessage(buf, PieceReport.codec(), opts)
  }
}

export interface PieceFailure {
  taskId: string
  parentId: string
  index: number
  kind: FailureKind
  message: string
}

export namespace PieceFailure {
  let _codec: Codec<PieceFailure>

  export const codec = (): Codec<PieceFailure> => {
    if (_codec == null) {
      _codec = message<PieceFailure>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.parentId != null && obj.parentId !== '')) {
          w.uint32(18)
          w.string(obj.parentId)
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(24)
          w.uint32(obj.index)
        }

        if (obj.kind != null && __FailureKindValues[obj.kind] !== 0) {
          w.uint32(32)
          FailureKind.codec().encode(obj.kind, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(42)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          parentId: '',
          index: 0,
          kind: FailureKind.UNKNOWN,
          message: ''
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
              obj.parentId = reader.string()
              break
            }
            case 3: {
              obj.index = reader.uint32()
              break
            }
            case 4: {
              obj.kind = FailureKind.codec().decode(reader)
              break
            }
            case 5: {
              obj.message = reader.string()
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
                field: `${prefix}.parentId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.kind`,
                value: FailureKind.codec().decode(reader)
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
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

  export interface PieceFailureTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface PieceFailureParentIdFieldEvent {
    field: '$.parentId'
    value: string
  }

  export interface PieceFailureIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface PieceFailureKindFieldEvent {
    field: '$.kind'
    value: FailureKind
  }

  export interface PieceFailureMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<PieceFailure>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PieceFailure.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceFailure>): PieceFailure {
    return decodeMessage(buf, PieceFailure.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PieceFailure>): Generator<PieceFailureTaskIdFieldEvent | PieceFailureParentIdFieldEvent | PieceFailureIndexFieldEvent | PieceFailureKindFieldEvent | PieceFailureMessageFieldEvent> {
    return streamMessage(buf, PieceFailure.codec(), opts)
  }
}

export enum FailureKind {
  UNKNOWN = 'UNKNOWN',
  DIGEST_MISMATCH = 'DIGEST_MISMATCH',
  NOT_FOUND = 'NOT_FOUND',
  TIMEOUT = 'TIMEOUT',
  CONNECTION = 'CONNECTION'
}

enum __FailureKindValues {
  UNKNOWN = 0,
  DIGEST_MISMATCH = 1,
  NOT_FOUND = 2,
  TIMEOUT = 3,
  CONNECTION = 4
}

export namespace FailureKind {
  export const codec = (): Codec<FailureKind> => {
    return enumeration<FailureKind>(__FailureKindValues)
  }
}

export interface TaskFinished {
  taskId: string
  success: boolean
  error: string
}

export namespace TaskFinished {
  let _codec: Codec<TaskFinished>

  export const codec = (): Codec<TaskFinished> => {
    if (_codec == null) {
      _codec = message<TaskFinished>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.success != null && obj.success !== false)) {
          w.uint32(16)
          w.bool(obj.success)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(26)
          w.string(obj.error)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          success: false,
          error: ''
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
              obj.success = reader.bool()
              break
            }
            case 3: {
              obj.error = reader.string()
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
                field: `${prefix}.success`,
                value: reader.bool()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
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

  export interface TaskFinishedTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface TaskFinishedSuccessFieldEvent {
    field: '$.success'
    value: boolean
  }

  export interface TaskFinishedErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export function encode (obj: Partial<TaskFinished>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskFinished.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskFinished>): TaskFinished {
    return decodeMessage(buf, TaskFinished.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskFinished>): Generator<TaskFinishedTaskIdFieldEvent | TaskFinishedSuccessFieldEvent | TaskFinishedErrorFieldEvent> {
    return streamMessage(buf, TaskFinished.codec(), opts)
  }
}

export interface TaskLeave {
  taskId: string
}

export namespace TaskLeave {
  let _codec: Codec<TaskLeave>

  export const codec = (): Codec<TaskLeave> => {
    if (_codec == null) {
      _codec = message<TaskLeave>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.taskId = reader.string()
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

  export interface TaskLeaveTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export function encode (obj: Partial<TaskLeave>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskLeave.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskLeave>): TaskLeave {
    return decodeMessage(buf, TaskLeave.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskLeave>): Generator<TaskLeaveTaskIdFieldEvent> {
    return streamMessage(buf, TaskLeave.codec(), opts)
  }
}

export interface PeerMessage {
  register?: Register
  announce?: Announce
  meta?: TaskMeta
  pieces?: PieceReport
  failure?: PieceFailure
  finished?: TaskFinished
  leave?: TaskLeave
  morePieces: PieceReport[]
  heartbeat?: Heartbeat
}

export namespace PeerMessage {
  let _codec: Codec<PeerMessage>

  export const codec = (): Codec<PeerMessage> => {
    if (_codec == null) {
      _codec = message<PeerMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.register != null) {
          w.uint32(10)
          Register.codec().encode(obj.register, w)
        }

        if (obj.announce != null) {
          w.uint32(18)
          Announce.codec().encode(obj.announce, w)
        }

        if (obj.meta != null) {
          w.uint32(26)
          TaskMeta.codec().encode(obj.meta, w)
        }

        if (obj.pieces != null) {
          w.uint32(34)
          PieceReport.codec().encode(obj.pieces, w)
        }

        if (obj.failure != null) {
          w.uint32(42)
          PieceFailure.codec().encode(obj.failure, w)
        }

        if (obj.finished != null) {
          w.uint32(50)
          TaskFinished.codec().encode(obj.finished, w)
        }

        if (obj.leave != null) {
          w.uint32(58)
          TaskLeave.codec().encode(obj.leave, w)
        }

        if (obj.morePieces != null && obj.morePieces.length > 0) {
          for (const value of obj.morePieces) {
            w.uint32(66)
            PieceReport.codec().encode(value, w)
          }
        }

        if (obj.heartbeat != null) {
          w.uint32(74)
          Heartbeat.codec().encode(obj.heartbeat, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          morePieces: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.register = Register.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.register
              })
              break
            }
            case 2: {
              obj.announce = Announce.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.announce
              })
              break
            }
            case 3: {
              obj.meta = TaskMeta.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.meta
              })
              break
            }
            case 4: {
              obj.pieces = PieceReport.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.pieces
              })
              break
            }
            case 5: {
              obj.failure = PieceFailure.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.failure
              })
              break
            }
            case 6: {
              obj.finished = TaskFinished.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.finished
              })
              break
            }
            case 7: {
              obj.leave = TaskLeave.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.leave
              })
              break
            }
            case 8: {
              if (opts.limits?.morePieces != null && obj.morePieces.length === opts.limits.morePieces) {
                throw new MaxLengthError('Decode error - repeated field "morePieces" had too many elements')
              }

              obj.morePieces.push(PieceReport.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.morePieces$
              }))
              break
            }
            case 9: {
              obj.heartbeat = Heartbeat.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.heartbeat
              })
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
        const obj = {
          morePieces: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * Register.codec().stream(reader, reader.uint32(), `${prefix}.register`, {
                limits: opts.limits?.register
              })

              break
            }
            case 2: {
              yield * Announce.codec().stream(reader, reader.uint32(), `${prefix}.announce`, {
                limits: opts.limits?.announce
              })

              break
            }
            case 3: {
              yield * TaskMeta.codec().stream(reader, reader.uint32(), `${prefix}.meta`, {
                limits: opts.limits?.meta
              })

              break
            }
            case 4: {
              yield * PieceReport.codec().stream(reader, reader.uint32(), `${prefix}.pieces`, {
                limits: opts.limits?.pieces
              })

              break
            }
            case 5: {
              yield * PieceFailure.codec().stream(reader, reader.uint32(), `${prefix}.failure`, {
                limits: opts.limits?.failure
              })

              break
            }
            case 6: {
              yield * TaskFinished.codec().stream(reader, reader.uint32(), `${prefix}.finished`, {
                limits: opts.limits?.finished
              })

              break
            }
            case 7: {
              yield * TaskLeave.codec().stream(reader, reader.uint32(), `${prefix}.leave`, {
                limits: opts.limits?.leave
              })

              break
            }
            case 8: {
              if (opts.limits?.morePieces != null && obj.morePieces === opts.limits.morePieces) {
                throw new MaxLengthError('Streaming decode error - repeated field "morePieces" had too many elements')
              }

              for (const evt of PieceReport.codec().stream(reader, reader.uint32(), `${prefix}.morePieces[]`, {
                limits: opts.limits?.morePieces$
              })) {
                yield {
                  ...evt,
                  index: obj.morePieces
                }
              }

              obj.morePieces++

              break
            }
            case 9: {
              yield * Heartbeat.codec().stream(reader, reader.uint32(), `${prefix}.heartbeat`, {
                limits: opts.limits?.heartbeat
              })

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

  export interface PeerMessageRegisterAddrsFieldEvent {
    field: '$.register.addrs[]'
    index: number
    value: string
  }

  export interface PeerMessageRegisterPoolFieldEvent {
    field: '$.register.pool'
    value: string
  }

  export interface PeerMessageRegisterIdcFieldEvent {
    field: '$.register.idc'
    value: string
  }

  export interface PeerMessageRegisterHostnameFieldEvent {
    field: '$.register.hostname'
    value: string
  }

  export interface PeerMessageRegisterSeedFieldEvent {
    field: '$.register.seed'
    value: boolean
  }

  export interface PeerMessageRegisterUploadSlotsFieldEvent {
    field: '$.register.uploadSlots'
    value: number
  }

  export interface PeerMessageRegisterTokenFieldEvent {
    field: '$.register.token'
    value: string
  }

  export interface PeerMessageRegisterTasksTaskIdFieldEvent {
    field: '$.register.tasks[].taskId'
    value: string
    index: number
  }

  export interface PeerMessageRegisterTasksHaveFieldEvent {
    field: '$.register.tasks[].have'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PeerMessageRegisterTasksMetaTaskIdFieldEvent {
    field: '$.register.tasks[].meta.taskId'
    value: string
    index: number
  }

  export interface PeerMessageRegisterTasksMetaContentLengthFieldEvent {
    field: '$.register.tasks[].meta.contentLength'
    value: number
    index: number
  }

  export interface PeerMessageRegisterTasksMetaPieceLengthFieldEvent {
    field: '$.register.tasks[].meta.pieceLength'
    value: number
    index: number
  }

  export interface PeerMessageRegisterTasksMetaUrlFieldEvent {
    field: '$.register.tasks[].meta.url'
    value: string
    index: number
  }

  export interface PeerMessageRegisterTasksDoneFieldEvent {
    field: '$.register.tasks[].done'
    value: boolean
    index: number
  }

  export interface PeerMessageRegisterDataSecretFieldEvent {
    field: '$.register.dataSecret'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PeerMessageRegisterDataHostFieldEvent {
    field: '$.register.dataHost'
    value: string
  }

  export interface PeerMessageRegisterDataPortFieldEvent {
    field: '$.register.dataPort'
    value: number
  }

  export interface PeerMessageRegisterDataPlainPortFieldEvent {
    field: '$.register.dataPlainPort'
    value: number
  }

  export interface PeerMessageRegisterDataTlsFieldEvent {
    field: '$.register.dataTls'
    value: boolean
  }

  export interface PeerMessageRegisterHeartbeatsFieldEvent {
    field: '$.register.heartbeats'
    value: boolean
  }

  export interface PeerMessageAnnounceTaskIdFieldEvent {
    field: '$.announce.taskId'
    value: string
  }

  export interface PeerMessageAnnounceUrlFieldEvent {
    field: '$.announce.url'
    value: string
  }

  export interface PeerMessageAnnounceHeadersNameFieldEvent {
    field: '$.announce.headers[].name'
    value: string
    index: number
  }

  export interface PeerMessageAnnounceHeadersValueFieldEvent {
    field: '$.announce.headers[].value'
    value: string
    index: number
  }

  export interface PeerMessageAnnouncePieceLengthFieldEvent {
    field: '$.announce.pieceLength'
    value: number
  }

  export interface PeerMessageAnnounceDigestFieldEvent {
    field: '$.announce.digest'
    value: string
  }

  export interface PeerMessageAnnounceTagFieldEvent {
    field: '$.announce.tag'
    value: string
  }

  export interface PeerMessageAnnounceApplicationFieldEvent {
    field: '$.announce.application'
    value: string
  }

  export interface PeerMessageAnnounceFilteredQueryParamsFieldEvent {
    field: '$.announce.filteredQueryParams[]'
    index: number
    value: string
  }

  export interface PeerMessageAnnounceRangeFieldEvent {
    field: '$.announce.range'
    value: string
  }

  export interface PeerMessageMetaTaskIdFieldEvent {
    field: '$.meta.taskId'
    value: string
  }

  export interface PeerMessageMetaContentLengthFieldEvent {
    field: '$.meta.contentLength'
    value: number
  }

  export interface PeerMessageMetaPieceLengthFieldEvent {
    field: '$.meta.pieceLength'
    value: number
  }

  export interface PeerMessageMetaUrlFieldEvent {
    field: '$.meta.url'
    value: string
  }

  export interface PeerMessagePiecesTaskIdFieldEvent {
    field: '$.pieces.taskId'
    value: string
  }

  export interface PeerMessagePiecesIndexesFieldEvent {
    field: '$.pieces.indexes[]'
    index: number
    value: number
  }

  export interface PeerMessagePiecesDigestsIndexFieldEvent {
    field: '$.pieces.digests[].index'
    value: number
    index: number
  }

  export interface PeerMessagePiecesDigestsDigestFieldEvent {
    field: '$.pieces.digests[].digest'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PeerMessagePiecesParentIdFieldEvent {
    field: '$.pieces.parentId'
    value: string
  }

  export interface PeerMessagePiecesCostMsFieldEvent {
    field: '$.pieces.costMs'
    value: number
  }

  export interface PeerMessageFailureTaskIdFieldEvent {
    field: '$.failure.taskId'
    value: string
  }

  export interface PeerMessageFailureParentIdFieldEvent {
    field: '$.failure.parentId'
    value: string
  }

  export interface PeerMessageFailureIndexFieldEvent {
    field: '$.failure.index'
    value: number
  }

  export interface PeerMessageFailureKindFieldEvent {
    field: '$.failure.kind'
    value: FailureKind
  }

  export interface PeerMessageFailureMessageFieldEvent {
    field: '$.failure.message'
    value: string
  }

  export interface PeerMessageFinishedTaskIdFieldEvent {
    field: '$.finished.taskId'
    value: string
  }

  export interface PeerMessageFinishedSuccessFieldEvent {
    field: '$.finished.success'
    value: boolean
  }

  export interface PeerMessageFinishedErrorFieldEvent {
    field: '$.finished.error'
    value: string
  }

  export interface PeerMessageLeaveTaskIdFieldEvent {
    field: '$.leave.taskId'
    value: string
  }

  export interface PeerMessageMorePiecesTaskIdFieldEvent {
    field: '$.morePieces[].taskId'
    value: string
    index: number
  }

  export interface PeerMessageMorePiecesIndexesFieldEvent {
    field: '$.morePieces[].indexes[]'
    index: number
    value: number
  }

  export interface PeerMessageMorePiecesDigestsIndexFieldEvent {
    field: '$.morePieces[].digests[].index'
    value: number
    index: number
  }

  export interface PeerMessageMorePiecesDigestsDigestFieldEvent {
    field: '$.morePieces[].digests[].digest'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PeerMessageMorePiecesParentIdFieldEvent {
    field: '$.morePieces[].parentId'
    value: string
    index: number
  }

  export interface PeerMessageMorePiecesCostMsFieldEvent {
    field: '$.morePieces[].costMs'
    value: number
    index: number
  }

  export function encode (obj: Partial<PeerMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PeerMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerMessage>): PeerMessage {
    return decodeMessage(buf, PeerMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerMessage>): Generator<PeerMessageRegisterAddrsFieldEvent | PeerMessageRegisterPoolFieldEvent | PeerMessageRegisterIdcFieldEvent | PeerMessageRegisterHostnameFieldEvent | PeerMessageRegisterSeedFieldEvent | PeerMessageRegisterUploadSlotsFieldEvent | PeerMessageRegisterTokenFieldEvent | PeerMessageRegisterTasksTaskIdFieldEvent | PeerMessageRegisterTasksHaveFieldEvent | PeerMessageRegisterTasksMetaTaskIdFieldEvent | PeerMessageRegisterTasksMetaContentLengthFieldEvent | PeerMessageRegisterTasksMetaPieceLengthFieldEvent | PeerMessageRegisterTasksMetaUrlFieldEvent | PeerMessageRegisterTasksDoneFieldEvent | PeerMessageRegisterDataSecretFieldEvent | PeerMessageRegisterDataHostFieldEvent | PeerMessageRegisterDataPortFieldEvent | PeerMessageRegisterDataPlainPortFieldEvent | PeerMessageRegisterDataTlsFieldEvent | PeerMessageRegisterHeartbeatsFieldEvent | PeerMessageAnnounceTaskIdFieldEvent | PeerMessageAnnounceUrlFieldEvent | PeerMessageAnnounceHeadersNameFieldEvent | PeerMessageAnnounceHeadersValueFieldEvent | PeerMessageAnnouncePieceLengthFieldEvent | PeerMessageAnnounceDigestFieldEvent | PeerMessageAnnounceTagFieldEvent | PeerMessageAnnounceApplicationFieldEvent | PeerMessageAnnounceFilteredQueryParamsFieldEvent | PeerMessageAnnounceRangeFieldEvent | PeerMessageMetaTaskIdFieldEvent | PeerMessageMetaContentLengthFieldEvent | PeerMessageMetaPieceLengthFieldEvent | PeerMessageMetaUrlFieldEvent | PeerMessagePiecesTaskIdFieldEvent | PeerMessagePiecesIndexesFieldEvent | PeerMessagePiecesDigestsIndexFieldEvent | PeerMessagePiecesDigestsDigestFieldEvent | PeerMessagePiecesParentIdFieldEvent | PeerMessagePiecesCostMsFieldEvent | PeerMessageFailureTaskIdFieldEvent | PeerMessageFailureParentIdFieldEvent | PeerMessageFailureIndexFieldEvent | PeerMessageFailureKindFieldEvent | PeerMessageFailureMessageFieldEvent | PeerMessageFinishedTaskIdFieldEvent | PeerMessageFinishedSuccessFieldEvent | PeerMessageFinishedErrorFieldEvent | PeerMessageLeaveTaskIdFieldEvent | PeerMessageMorePiecesTaskIdFieldEvent | PeerMessageMorePiecesIndexesFieldEvent | PeerMessageMorePiecesDigestsIndexFieldEvent | PeerMessageMorePiecesDigestsDigestFieldEvent | PeerMessageMorePiecesParentIdFieldEvent | PeerMessageMorePiecesCostMsFieldEvent> {
    return streamMessage(buf, PeerMessage.codec(), opts)
  }
}

export interface Parent {
  peerId: string
  addrs: string[]
  have: Uint8Array<ArrayBuffer>
  seed: boolean
  pool: string
  ticket?: DataTicket
}

export namespace Parent {
  let _codec: Codec<Parent>

  export const codec = (): Codec<Parent> => {
    if (_codec == null) {
      _codec = message<Parent>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(10)
          w.string(obj.peerId)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(18)
            w.string(value)
          }
        }

        if ((obj.have != null && obj.have.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.have)
        }

        if ((obj.seed != null && obj.seed !== false)) {
          w.uint32(32)
          w.bool(obj.seed)
        }

        if ((obj.pool != null && obj.pool !== '')) {
          w.uint32(42)
          w.string(obj.pool)
        }

        if (obj.ticket != null) {
          w.uint32(50)
          DataTicket.codec().encode(obj.ticket, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: '',
          addrs: [],
          have: uint8ArrayAlloc(0),
          seed: false,
          pool: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peerId = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.string())
              break
            }
            case 3: {
              obj.have = reader.bytes()
              break
            }
            case 4: {
              obj.seed = reader.bool()
              break
            }
            case 5: {
              obj.pool = reader.string()
              break
            }
            case 6: {
              obj.ticket = DataTicket.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ticket
              })
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
        const obj = {
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.string()
              }

              obj.addrs++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.have`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.seed`,
                value: reader.bool()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.pool`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield * DataTicket.codec().stream(reader, reader.uint32(), `${prefix}.ticket`, {
                limits: opts.limits?.ticket
              })

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

  export interface ParentPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface ParentAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: string
  }

  export interface ParentHaveFieldEvent {
    field: '$.have'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ParentSeedFieldEvent {
    field: '$.seed'
    value: boolean
  }

  export interface ParentPoolFieldEvent {
    field: '$.pool'
    value: string
  }

  export interface ParentTicketPortFieldEvent {
    field: '$.ticket.port'
    value: number
  }

  export interface ParentTicketIdFieldEvent {
    field: '$.ticket.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ParentTicketKeyFieldEvent {
    field: '$.ticket.key'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ParentTicketTlsFieldEvent {
    field: '$.ticket.tls'
    value: boolean
  }

  export interface ParentTicketPlainPortFieldEvent {
    field: '$.ticket.plainPort'
    value: number
  }

  export interface ParentTicketExpiresFieldEvent {
    field: '$.ticket.expires'
    value: number
  }

  export interface ParentTicketHostFieldEvent {
    field: '$.ticket.host'
    value: string
  }

  export function encode (obj: Partial<Parent>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Parent.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Parent>): Parent {
    return decodeMessage(buf, Parent.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Parent>): Generator<ParentPeerIdFieldEvent | ParentAddrsFieldEvent | ParentHaveFieldEvent | ParentSeedFieldEvent | ParentPoolFieldEvent | ParentTicketPortFieldEvent | ParentTicketIdFieldEvent | ParentTicketKeyFieldEvent | ParentTicketTlsFieldEvent | ParentTicketPlainPortFieldEvent | ParentTicketExpiresFieldEvent | ParentTicketHostFieldEvent> {
    return streamMessage(buf, Parent.codec(), opts)
  }
}

export interface DataTicket {
  port: number
  id: Uint8Array<ArrayBuffer>
  key: Uint8Array<ArrayBuffer>
  tls: boolean
  plainPort: number
  expires: number
  host: string
}

export namespace DataTicket {
  let _codec: Codec<DataTicket>

  export const codec = (): Codec<DataTicket> => {
    if (_codec == null) {
      _codec = message<DataTicket>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.port != null && obj.port !== 0)) {
          w.uint32(8)
          w.uint32(obj.port)
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.id)
        }

        if ((obj.key != null && obj.key.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.key)
        }

        if ((obj.tls != null && obj.tls !== false)) {
          w.uint32(32)
          w.bool(obj.tls)
        }

        if ((obj.plainPort != null && obj.plainPort !== 0)) {
          w.uint32(40)
          w.uint32(obj.plainPort)
        }

        if ((obj.expires != null && obj.expires !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.expires)
        }

        if ((obj.host != null && obj.host !== '')) {
          w.uint32(58)
          w.string(obj.host)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          port: 0,
          id: uint8ArrayAlloc(0),
          key: uint8ArrayAlloc(0),
          tls: false,
          plainPort: 0,
          expires: 0,
          host: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.port = reader.uint32()
              break
            }
            case 2: {
              obj.id = reader.bytes()
              break
            }
            case 3: {
              obj.key = reader.bytes()
              break
            }
            case 4: {
              obj.tls = reader.bool()
              break
            }
            case 5: {
              obj.plainPort = reader.uint32()
              break
            }
            case 6: {
              obj.expires = reader.uint64Number()
              break
            }
            case 7: {
              obj.host = reader.string()
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
                field: `${prefix}.port`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.key`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.tls`,
                value: reader.bool()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.plainPort`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.expires`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.host`,
                value: reader.string()
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

  export interface DataTicketPortFieldEvent {
    field: '$.port'
    value: number
  }

  export interface DataTicketIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DataTicketKeyFieldEvent {
    field: '$.key'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DataTicketTlsFieldEvent {
    field: '$.tls'
    value: boolean
  }

  export interface DataTicketPlainPortFieldEvent {
    field: '$.plainPort'
    value: number
  }

  export interface DataTicketExpiresFieldEvent {
    field: '$.expires'
    value: number
  }

  export interface DataTicketHostFieldEvent {
    field: '$.host'
    value: string
  }

  export function encode (obj: Partial<DataTicket>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DataTicket.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DataTicket>): DataTicket {
    return decodeMessage(buf, DataTicket.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DataTicket>): Generator<DataTicketPortFieldEvent | DataTicketIdFieldEvent | DataTicketKeyFieldEvent | DataTicketTlsFieldEvent | DataTicketPlainPortFieldEvent | DataTicketExpiresFieldEvent | DataTicketHostFieldEvent> {
    return streamMessage(buf, DataTicket.codec(), opts)
  }
}

export interface TaskUpdate {
  taskId: string
  contentLength: number
  pieceLength: number
  digests: PieceDigest[]
  parents: Parent[]
  backToSource: boolean
  error: string
  availability: Uint8Array<ArrayBuffer>
  grant?: Grant
  crossPoolRate: number
}

export namespace TaskUpdate {
  let _codec: Codec<TaskUpdate>

  export const codec = (): Codec<TaskUpdate> => {
    if (_codec == null) {
      _codec = message<TaskUpdate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.contentLength != null && obj.contentLength !== 0)) {
          w.uint32(16)
          w.sint64Number(obj.contentLength)
        }

        if ((obj.pieceLength != null && obj.pieceLength !== 0)) {
          w.uint32(24)
          w.uint32(obj.pieceLength)
        }

        if (obj.digests != null && obj.digests.length > 0) {
          for (const value of obj.digests) {
            w.uint32(34)
            PieceDigest.codec().encode(value, w)
          }
        }

        if (obj.parents != null && obj.parents.length > 0) {
          for (const value of obj.parents) {
            w.uint32(42)
            Parent.codec().encode(value, w)
          }
        }

        if ((obj.backToSource != null && obj.backToSource !== false)) {
          w.uint32(48)
          w.bool(obj.backToSource)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(58)
          w.string(obj.error)
        }

        if ((obj.availability != null && obj.availability.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.availability)
        }

        if (obj.grant != null) {
          w.uint32(74)
          Grant.codec().encode(obj.grant, w)
        }

        if ((obj.crossPoolRate != null && obj.crossPoolRate !== 0)) {
          w.uint32(80)
          w.uint64Number(obj.crossPoolRate)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          contentLength: 0,
          pieceLength: 0,
          digests: [],
          parents: [],
          backToSource: false,
          error: '',
          availability: uint8ArrayAlloc(0),
          crossPoolRate: 0
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
              obj.contentLength = reader.sint64Number()
              break
            }
            case 3: {
              obj.pieceLength = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.digests != null && obj.digests.length === opts.limits.digests) {
                throw new MaxLengthError('Decode error - repeated field "digests" had too many elements')
              }

              obj.digests.push(PieceDigest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.digests$
              }))
              break
            }
            case 5: {
              if (opts.limits?.parents != null && obj.parents.length === opts.limits.parents) {
                throw new MaxLengthError('Decode error - repeated field "parents" had too many elements')
              }

              obj.parents.push(Parent.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.parents$
              }))
              break
            }
            case 6: {
              obj.backToSource = reader.bool()
              break
            }
            case 7: {
              obj.error = reader.string()
              break
            }
            case 8: {
              obj.availability = reader.bytes()
              break
            }
            case 9: {
              obj.grant = Grant.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.grant
              })
              break
            }
            case 10: {
              obj.crossPoolRate = reader.uint64Number()
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
        const obj = {
          digests: 0,
          parents: 0
        }

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
                field: `${prefix}.contentLength`,
                value: reader.sint64Number()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.pieceLength`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.digests != null && obj.digests === opts.limits.digests) {
                throw new MaxLengthError('Streaming decode error - repeated field "digests" had too many elements')
              }

              for (const evt of PieceDigest.codec().stream(reader, reader.uint32(), `${prefix}.digests[]`, {
                limits: opts.limits?.digests$
              })) {
                yield {
                  ...evt,
                  index: obj.digests
                }
              }

              obj.digests++

              break
            }
            case 5: {
              if (opts.limits?.parents != null && obj.parents === opts.limits.parents) {
                throw new MaxLengthError('Streaming decode error - repeated field "parents" had too many elements')
              }

              for (const evt of Parent.codec().stream(reader, reader.uint32(), `${prefix}.parents[]`, {
                limits: opts.limits?.parents$
              })) {
                yield {
                  ...evt,
                  index: obj.parents
                }
              }

              obj.parents++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.backToSource`,
                value: reader.bool()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.availability`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield * Grant.codec().stream(reader, reader.uint32(), `${prefix}.grant`, {
                limits: opts.limits?.grant
              })

              break
            }
            case 10: {
              yield {
                field: `${prefix}.crossPoolRate`,
                value: reader.uint64Number()
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

  export interface TaskUpdateTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface TaskUpdateContentLengthFieldEvent {
    field: '$.contentLength'
    value: number
  }

  export interface TaskUpdatePieceLengthFieldEvent {
    field: '$.pieceLength'
    value: number
  }

  export interface TaskUpdateDigestsIndexFieldEvent {
    field: '$.digests[].index'
    value: number
    index: number
  }

  export interface TaskUpdateDigestsDigestFieldEvent {
    field: '$.digests[].digest'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface TaskUpdateParentsPeerIdFieldEvent {
    field: '$.parents[].peerId'
    value: string
    index: number
  }

  export interface TaskUpdateParentsAddrsFieldEvent {
    field: '$.parents[].addrs[]'
    index: number
    value: string
  }

  export interface TaskUpdateParentsHaveFieldEvent {
    field: '$.parents[].have'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface TaskUpdateParentsSeedFieldEvent {
    field: '$.parents[].seed'
    value: boolean
    index: number
  }

  export interface TaskUpdateParentsPoolFieldEvent {
    field: '$.parents[].pool'
    value: string
    index: number
  }

  export interface TaskUpdateParentsTicketPortFieldEvent {
    field: '$.parents[].ticket.port'
    value: number
    index: number
  }

  export interface TaskUpdateParentsTicketIdFieldEvent {
    field: '$.parents[].ticket.id'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface TaskUpdateParentsTicketKeyFieldEvent {
    field: '$.parents[].ticket.key'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface TaskUpdateParentsTicketTlsFieldEvent {
    field: '$.parents[].ticket.tls'
    value: boolean
    index: number
  }

  export interface TaskUpdateParentsTicketPlainPortFieldEvent {
    field: '$.parents[].ticket.plainPort'
    value: number
    index: number
  }

  export interface TaskUpdateParentsTicketExpiresFieldEvent {
    field: '$.parents[].ticket.expires'
    value: number
    index: number
  }

  export interface TaskUpdateParentsTicketHostFieldEvent {
    field: '$.parents[].ticket.host'
    value: string
    index: number
  }

  export interface TaskUpdateBackToSourceFieldEvent {
    field: '$.backToSource'
    value: boolean
  }

  export interface TaskUpdateErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface TaskUpdateAvailabilityFieldEvent {
    field: '$.availability'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskUpdateGrantTaskIdFieldEvent {
    field: '$.grant.taskId'
    value: string
  }

  export interface TaskUpdateGrantPeerIdFieldEvent {
    field: '$.grant.peerId'
    value: string
  }

  export interface TaskUpdateGrantExpiresFieldEvent {
    field: '$.grant.expires'
    value: number
  }

  export interface TaskUpdateGrantSchedulerIdFieldEvent {
    field: '$.grant.schedulerId'
    value: string
  }

  export interface TaskUpdateGrantSignatureFieldEvent {
    field: '$.grant.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskUpdateCrossPoolRateFieldEvent {
    field: '$.crossPoolRate'
    value: number
  }

  export function encode (obj: Partial<TaskUpdate>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskUpdate.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskUpdate>): TaskUpdate {
    return decodeMessage(buf, TaskUpdate.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskUpdate>): Generator<TaskUpdateTaskIdFieldEvent | TaskUpdateContentLengthFieldEvent | TaskUpdatePieceLengthFieldEvent | TaskUpdateDigestsIndexFieldEvent | TaskUpdateDigestsDigestFieldEvent | TaskUpdateParentsPeerIdFieldEvent | TaskUpdateParentsAddrsFieldEvent | TaskUpdateParentsHaveFieldEvent | TaskUpdateParentsSeedFieldEvent | TaskUpdateParentsPoolFieldEvent | TaskUpdateParentsTicketPortFieldEvent | TaskUpdateParentsTicketIdFieldEvent | TaskUpdateParentsTicketKeyFieldEvent | TaskUpdateParentsTicketTlsFieldEvent | TaskUpdateParentsTicketPlainPortFieldEvent | TaskUpdateParentsTicketExpiresFieldEvent | TaskUpdateParentsTicketHostFieldEvent | TaskUpdateBackToSourceFieldEvent | TaskUpdateErrorFieldEvent | TaskUpdateAvailabilityFieldEvent | TaskUpdateGrantTaskIdFieldEvent | TaskUpdateGrantPeerIdFieldEvent | TaskUpdateGrantExpiresFieldEvent | TaskUpdateGrantSchedulerIdFieldEvent | TaskUpdateGrantSignatureFieldEvent | TaskUpdateCrossPoolRateFieldEvent> {
    return streamMessage(buf, TaskUpdate.codec(), opts)
  }
}

export interface Grant {
  taskId: string
  peerId: string
  expires: number
  schedulerId: string
  signature: Uint8Array<ArrayBuffer>
}

export namespace Grant {
  let _codec: Codec<Grant>

  export const codec = (): Codec<Grant> => {
    if (_codec == null) {
      _codec = message<Grant>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(18)
          w.string(obj.peerId)
        }

        if ((obj.expires != null && obj.expires !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.expires)
        }

        if ((obj.schedulerId != null && obj.schedulerId !== '')) {
          w.uint32(34)
          w.string(obj.schedulerId)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          peerId: '',
          expires: 0,
          schedulerId: '',
          signature: uint8ArrayAlloc(0)
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
              obj.peerId = reader.string()
              break
            }
            case 3: {
              obj.expires = reader.uint64Number()
              break
            }
            case 4: {
              obj.schedulerId = reader.string()
              break
            }
            case 5: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.expires`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.schedulerId`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.signature`,
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

  export interface GrantTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface GrantPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface GrantExpiresFieldEvent {
    field: '$.expires'
    value: number
  }

  export interface GrantSchedulerIdFieldEvent {
    field: '$.schedulerId'
    value: string
  }

  export interface GrantSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Grant>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Grant.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Grant>): Grant {
    return decodeMessage(buf, Grant.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Grant>): Generator<GrantTaskIdFieldEvent | GrantPeerIdFieldEvent | GrantExpiresFieldEvent | GrantSchedulerIdFieldEvent | GrantSignatureFieldEvent> {
    return streamMessage(buf, Grant.codec(), opts)
  }
}

export interface SeedRequest {
  taskId: string
  url: string
  headers: Header[]
  pieceLength: number
  digest: string
  tag: string
  application: string
  filteredQueryParams: string[]
  range: string
}

export namespace SeedRequest {
  let _codec: Codec<SeedRequest>

  export const codec = (): Codec<SeedRequest> => {
    if (_codec == null) {
      _codec = message<SeedRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.url != null && obj.url !== '')) {
          w.uint32(18)
          w.string(obj.url)
        }

        if (obj.headers != null && obj.headers.length > 0) {
          for (const value of obj.headers) {
            w.uint32(26)
            Header.codec().encode(value, w)
          }
        }

        if ((obj.pieceLength != null && obj.pieceLength !== 0)) {
          w.uint32(32)
          w.uint32(obj.pieceLength)
        }

        if ((obj.digest != null && obj.digest !== '')) {
          w.uint32(42)
          w.string(obj.digest)
        }

        if ((obj.tag != null && obj.tag !== '')) {
          w.uint32(50)
          w.string(obj.tag)
        }

        if ((obj.application != null && obj.application !== '')) {
          w.uint32(58)
          w.string(obj.application)
        }

        if (obj.filteredQueryParams != null && obj.filteredQueryParams.length > 0) {
          for (const value of obj.filteredQueryParams) {
            w.uint32(66)
            w.string(value)
          }
        }

        if ((obj.range != null && obj.range !== '')) {
          w.uint32(74)
          w.string(obj.range)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          url: '',
          headers: [],
          pieceLength: 0,
          digest: '',
          tag: '',
          application: '',
          filteredQueryParams: [],
          range: ''
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
              obj.url = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.headers != null && obj.headers.length === opts.limits.headers) {
                throw new MaxLengthError('Decode error - repeated field "headers" had too many elements')
              }

              obj.headers.push(Header.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.headers$
              }))
              break
            }
            case 4: {
              obj.pieceLength = reader.uint32()
              break
            }
            case 5: {
              obj.digest = reader.string()
              break
            }
            case 6: {
              obj.tag = reader.string()
              break
            }
            case 7: {
              obj.application = reader.string()
              break
            }
            case 8: {
              if (opts.limits?.filteredQueryParams != null && obj.filteredQueryParams.length === opts.limits.filteredQueryParams) {
                throw new MaxLengthError('Decode error - repeated field "filteredQueryParams" had too many elements')
              }

              obj.filteredQueryParams.push(reader.string())
              break
            }
            case 9: {
              obj.range = reader.string()
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
        const obj = {
          headers: 0,
          filteredQueryParams: 0
        }

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
                field: `${prefix}.url`,
                value: reader.string()
              }
              break
            }
            case 3: {
              if (opts.limits?.headers != null && obj.headers === opts.limits.headers) {
                throw new MaxLengthError('Streaming decode error - repeated field "headers" had too many elements')
              }

              for (const evt of Header.codec().stream(reader, reader.uint32(), `${prefix}.headers[]`, {
                limits: opts.limits?.headers$
              })) {
                yield {
                  ...evt,
                  index: obj.headers
                }
              }

              obj.headers++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.pieceLength`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.digest`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.tag`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.application`,
                value: reader.string()
              }
              break
            }
            case 8: {
              if (opts.limits?.filteredQueryParams != null && obj.filteredQueryParams === opts.limits.filteredQueryParams) {
                throw new MaxLengthError('Streaming decode error - repeated field "filteredQueryParams" had too many elements')
              }

              yield {
                field: `${prefix}.filteredQueryParams[]`,
                index: obj.filteredQueryParams,
                value: reader.string()
              }

              obj.filteredQueryParams++

              break
            }
            case 9: {
              yield {
                field: `${prefix}.range`,
                value: reader.string()
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

  export interface SeedRequestTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface SeedRequestUrlFieldEvent {
    field: '$.url'
    value: string
  }

  export interface SeedRequestHeadersNameFieldEvent {
    field: '$.headers[].name'
    value: string
    index: number
  }

  export interface SeedRequestHeadersValueFieldEvent {
    field: '$.headers[].value'
    value: string
    index: number
  }

  export interface SeedRequestPieceLengthFieldEvent {
    field: '$.pieceLength'
    value: number
  }

  export interface SeedRequestDigestFieldEvent {
    field: '$.digest'
    value: string
  }

  export interface SeedRequestTagFieldEvent {
    field: '$.tag'
    value: string
  }

  export interface SeedRequestApplicationFieldEvent {
    field: '$.application'
    value: string
  }

  export interface SeedRequestFilteredQueryParamsFieldEvent {
    field: '$.filteredQueryParams[]'
    index: number
    value: string
  }

  export interface SeedRequestRangeFieldEvent {
    field: '$.range'
    value: string
  }

  export function encode (obj: Partial<SeedRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SeedRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SeedRequest>): SeedRequest {
    return decodeMessage(buf, SeedRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SeedRequest>): Generator<SeedRequestTaskIdFieldEvent | SeedRequestUrlFieldEvent | SeedRequestHeadersNameFieldEvent | SeedRequestHeadersValueFieldEvent | SeedRequestPieceLengthFieldEvent | SeedRequestDigestFieldEvent | SeedRequestTagFieldEvent | SeedRequestApplicationFieldEvent | SeedRequestFilteredQueryParamsFieldEvent | SeedRequestRangeFieldEvent> {
    return streamMessage(buf, SeedRequest.codec(), opts)
  }
}

export interface Registered {
  schedulerId: string
  error: string
  heartbeatMs?: number
}

export namespace Registered {
  let _codec: Codec<Registered>

  export const codec = (): Codec<Registered> => {
    if (_codec == null) {
      _codec = message<Registered>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.schedulerId != null && obj.schedulerId !== '')) {
          w.uint32(10)
          w.string(obj.schedulerId)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(18)
          w.string(obj.error)
        }

        if (obj.heartbeatMs != null) {
          w.uint32(24)
          w.uint32(obj.heartbeatMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          schedulerId: '',
          error: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.schedulerId = reader.string()
              break
            }
            case 2: {
              obj.error = reader.string()
              break
            }
            case 3: {
              obj.heartbeatMs = reader.uint32()
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
                field: `${prefix}.schedulerId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.heartbeatMs`,
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

  export interface RegisteredSchedulerIdFieldEvent {
    field: '$.schedulerId'
    value: string
  }

  export interface RegisteredErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface RegisteredHeartbeatMsFieldEvent {
    field: '$.heartbeatMs'
    value: number
  }

  export function encode (obj: Partial<Registered>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Registered.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Registered>): Registered {
    return decodeMessage(buf, Registered.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Registered>): Generator<RegisteredSchedulerIdFieldEvent | RegisteredErrorFieldEvent | RegisteredHeartbeatMsFieldEvent> {
    return streamMessage(buf, Registered.codec(), opts)
  }
}

export interface Heartbeat {}

export namespace Heartbeat {
  let _codec: Codec<Heartbeat>

  export const codec = (): Codec<Heartbeat> => {
    if (_codec == null) {
      _codec = message<Heartbeat>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
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

  export function encode (obj: Partial<Heartbeat>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Heartbeat.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>): Heartbeat {
    return decodeMessage(buf, Heartbeat.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>): Generator<{}> {
    return streamMessage(buf, Heartbeat.codec(), opts)
  }
}

export interface SchedulerMessage {
  registered?: Registered
  update?: TaskUpdate
  seed?: SeedRequest
  preheat?: SeedRequest
  heartbeat?: Heartbeat
}

export namespace SchedulerMessage {
  let _codec: Codec<SchedulerMessage>

  export const codec = (): Codec<SchedulerMessage> => {
    if (_codec == null) {
      _codec = message<SchedulerMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.registered != null) {
          w.uint32(10)
          Registered.codec().encode(obj.registered, w)
        }

        if (obj.update != null) {
          w.uint32(18)
          TaskUpdate.codec().encode(obj.update, w)
        }

        if (obj.seed != null) {
          w.uint32(26)
          SeedRequest.codec().encode(obj.seed, w)
        }

        if (obj.preheat != null) {
          w.uint32(34)
          SeedRequest.codec().encode(obj.preheat, w)
        }

        if (obj.heartbeat != null) {
          w.uint32(42)
          Heartbeat.codec().encode(obj.heartbeat, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.registered = Registered.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.registered
              })
              break
            }
            case 2: {
              obj.update = TaskUpdate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.update
              })
              break
            }
            case 3: {
              obj.seed = SeedRequest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.seed
              })
              break
            }
            case 4: {
              obj.preheat = SeedRequest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.preheat
              })
              break
            }
            case 5: {
              obj.heartbeat = Heartbeat.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.heartbeat
              })
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
              yield * Registered.codec().stream(reader, reader.uint32(), `${prefix}.registered`, {
                limits: opts.limits?.registered
              })

              break
            }
            case 2: {
              yield * TaskUpdate.codec().stream(reader, reader.uint32(), `${prefix}.update`, {
                limits: opts.limits?.update
              })

              break
            }
            case 3: {
              yield * SeedRequest.codec().stream(reader, reader.uint32(), `${prefix}.seed`, {
                limits: opts.limits?.seed
              })

              break
            }
            case 4: {
              yield * SeedRequest.codec().stream(reader, reader.uint32(), `${prefix}.preheat`, {
                limits: opts.limits?.preheat
              })

              break
            }
            case 5: {
              yield * Heartbeat.codec().stream(reader, reader.uint32(), `${prefix}.heartbeat`, {
                limits: opts.limits?.heartbeat
              })

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

  export interface SchedulerMessageRegisteredSchedulerIdFieldEvent {
    field: '$.registered.schedulerId'
    value: string
  }

  export interface SchedulerMessageRegisteredErrorFieldEvent {
    field: '$.registered.error'
    value: string
  }

  export interface SchedulerMessageRegisteredHeartbeatMsFieldEvent {
    field: '$.registered.heartbeatMs'
    value: number
  }

  export interface SchedulerMessageUpdateTaskIdFieldEvent {
    field: '$.update.taskId'
    value: string
  }

  export interface SchedulerMessageUpdateContentLengthFieldEvent {
    field: '$.update.contentLength'
    value: number
  }

  export interface SchedulerMessageUpdatePieceLengthFieldEvent {
    field: '$.update.pieceLength'
    value: number
  }

  export interface SchedulerMessageUpdateDigestsIndexFieldEvent {
    field: '$.update.digests[].index'
    value: number
    index: number
  }

  export interface SchedulerMessageUpdateDigestsDigestFieldEvent {
    field: '$.update.digests[].digest'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SchedulerMessageUpdateParentsPeerIdFieldEvent {
    field: '$.update.parents[].peerId'
    value: string
    index: number
  }

  export interface SchedulerMessageUpdateParentsAddrsFieldEvent {
    field: '$.update.parents[].addrs[]'
    index: number
    value: string
  }

  export interface SchedulerMessageUpdateParentsHaveFieldEvent {
    field: '$.update.parents[].have'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SchedulerMessageUpdateParentsSeedFieldEvent {
    field: '$.update.parents[].seed'
    value: boolean
    index: number
  }

  export interface SchedulerMessageUpdateParentsPoolFieldEvent {
    field: '$.update.parents[].pool'
    value: string
    index: number
  }

  export interface SchedulerMessageUpdateParentsTicketPortFieldEvent {
    field: '$.update.parents[].ticket.port'
    value: number
    index: number
  }

  export interface SchedulerMessageUpdateParentsTicketIdFieldEvent {
    field: '$.update.parents[].ticket.id'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SchedulerMessageUpdateParentsTicketKeyFieldEvent {
    field: '$.update.parents[].ticket.key'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SchedulerMessageUpdateParentsTicketTlsFieldEvent {
    field: '$.update.parents[].ticket.tls'
    value: boolean
    index: number
  }

  export interface SchedulerMessageUpdateParentsTicketPlainPortFieldEvent {
    field: '$.update.parents[].ticket.plainPort'
    value: number
    index: number
  }

  export interface SchedulerMessageUpdateParentsTicketExpiresFieldEvent {
    field: '$.update.parents[].ticket.expires'
    value: number
    index: number
  }

  export interface SchedulerMessageUpdateParentsTicketHostFieldEvent {
    field: '$.update.parents[].ticket.host'
    value: string
    index: number
  }

  export interface SchedulerMessageUpdateBackToSourceFieldEvent {
    field: '$.update.backToSource'
    value: boolean
  }

  export interface SchedulerMessageUpdateErrorFieldEvent {
    field: '$.update.error'
    value: string
  }

  export interface SchedulerMessageUpdateAvailabilityFieldEvent {
    field: '$.update.availability'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SchedulerMessageUpdateGrantTaskIdFieldEvent {
    field: '$.update.grant.taskId'
    value: string
  }

  export interface SchedulerMessageUpdateGrantPeerIdFieldEvent {
    field: '$.update.grant.peerId'
    value: string
  }

  export interface SchedulerMessageUpdateGrantExpiresFieldEvent {
    field: '$.update.grant.expires'
    value: number
  }

  export interface SchedulerMessageUpdateGrantSchedulerIdFieldEvent {
    field: '$.update.grant.schedulerId'
    value: string
  }

  export interface SchedulerMessageUpdateGrantSignatureFieldEvent {
    field: '$.update.grant.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SchedulerMessageUpdateCrossPoolRateFieldEvent {
    field: '$.update.crossPoolRate'
    value: number
  }

  export interface SchedulerMessageSeedTaskIdFieldEvent {
    field: '$.seed.taskId'
    value: string
  }

  export interface SchedulerMessageSeedUrlFieldEvent {
    field: '$.seed.url'
    value: string
  }

  export interface SchedulerMessageSeedHeadersNameFieldEvent {
    field: '$.seed.headers[].name'
    value: string
    index: number
  }

  export interface SchedulerMessageSeedHeadersValueFieldEvent {
    field: '$.seed.headers[].value'
    value: string
    index: number
  }

  export interface SchedulerMessageSeedPieceLengthFieldEvent {
    field: '$.seed.pieceLength'
    value: number
  }

  export interface SchedulerMessageSeedDigestFieldEvent {
    field: '$.seed.digest'
    value: string
  }

  export interface SchedulerMessageSeedTagFieldEvent {
    field: '$.seed.tag'
    value: string
  }

  export interface SchedulerMessageSeedApplicationFieldEvent {
    field: '$.seed.application'
    value: string
  }

  export interface SchedulerMessageSeedFilteredQueryParamsFieldEvent {
    field: '$.seed.filteredQueryParams[]'
    index: number
    value: string
  }

  export interface SchedulerMessageSeedRangeFieldEvent {
    field: '$.seed.range'
    value: string
  }

  export interface SchedulerMessagePreheatTaskIdFieldEvent {
    field: '$.preheat.taskId'
    value: string
  }

  export interface SchedulerMessagePreheatUrlFieldEvent {
    field: '$.preheat.url'
    value: string
  }

  export interface SchedulerMessagePreheatHeadersNameFieldEvent {
    field: '$.preheat.headers[].name'
    value: string
    index: number
  }

  export interface SchedulerMessagePreheatHeadersValueFieldEvent {
    field: '$.preheat.headers[].value'
    value: string
    index: number
  }

  export interface SchedulerMessagePreheatPieceLengthFieldEvent {
    field: '$.preheat.pieceLength'
    value: number
  }

  export interface SchedulerMessagePreheatDigestFieldEvent {
    field: '$.preheat.digest'
    value: string
  }

  export interface SchedulerMessagePreheatTagFieldEvent {
    field: '$.preheat.tag'
    value: string
  }

  export interface SchedulerMessagePreheatApplicationFieldEvent {
    field: '$.preheat.application'
    value: string
  }

  export interface SchedulerMessagePreheatFilteredQueryParamsFieldEvent {
    field: '$.preheat.filteredQueryParams[]'
    index: number
    value: string
  }

  export interface SchedulerMessagePreheatRangeFieldEvent {
    field: '$.preheat.range'
    value: string
  }

  export function encode (obj: Partial<SchedulerMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SchedulerMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SchedulerMessage>): SchedulerMessage {
    return decodeMessage(buf, SchedulerMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SchedulerMessage>): Generator<SchedulerMessageRegisteredSchedulerIdFieldEvent | SchedulerMessageRegisteredErrorFieldEvent | SchedulerMessageRegisteredHeartbeatMsFieldEvent | SchedulerMessageUpdateTaskIdFieldEvent | SchedulerMessageUpdateContentLengthFieldEvent | SchedulerMessageUpdatePieceLengthFieldEvent | SchedulerMessageUpdateDigestsIndexFieldEvent | SchedulerMessageUpdateDigestsDigestFieldEvent | SchedulerMessageUpdateParentsPeerIdFieldEvent | SchedulerMessageUpdateParentsAddrsFieldEvent | SchedulerMessageUpdateParentsHaveFieldEvent | SchedulerMessageUpdateParentsSeedFieldEvent | SchedulerMessageUpdateParentsPoolFieldEvent | SchedulerMessageUpdateParentsTicketPortFieldEvent | SchedulerMessageUpdateParentsTicketIdFieldEvent | SchedulerMessageUpdateParentsTicketKeyFieldEvent | SchedulerMessageUpdateParentsTicketTlsFieldEvent | SchedulerMessageUpdateParentsTicketPlainPortFieldEvent | SchedulerMessageUpdateParentsTicketExpiresFieldEvent | SchedulerMessageUpdateParentsTicketHostFieldEvent | SchedulerMessageUpdateBackToSourceFieldEvent | SchedulerMessageUpdateErrorFieldEvent | SchedulerMessageUpdateAvailabilityFieldEvent | SchedulerMessageUpdateGrantTaskIdFieldEvent | SchedulerMessageUpdateGrantPeerIdFieldEvent | SchedulerMessageUpdateGrantExpiresFieldEvent | SchedulerMessageUpdateGrantSchedulerIdFieldEvent | SchedulerMessageUpdateGrantSignatureFieldEvent | SchedulerMessageUpdateCrossPoolRateFieldEvent | SchedulerMessageSeedTaskIdFieldEvent | SchedulerMessageSeedUrlFieldEvent | SchedulerMessageSeedHeadersNameFieldEvent | SchedulerMessageSeedHeadersValueFieldEvent | SchedulerMessageSeedPieceLengthFieldEvent | SchedulerMessageSeedDigestFieldEvent | SchedulerMessageSeedTagFieldEvent | SchedulerMessageSeedApplicationFieldEvent | SchedulerMessageSeedFilteredQueryParamsFieldEvent | SchedulerMessageSeedRangeFieldEvent | SchedulerMessagePreheatTaskIdFieldEvent | SchedulerMessagePreheatUrlFieldEvent | SchedulerMessagePreheatHeadersNameFieldEvent | SchedulerMessagePreheatHeadersValueFieldEvent | SchedulerMessagePreheatPieceLengthFieldEvent | SchedulerMessagePreheatDigestFieldEvent | SchedulerMessagePreheatTagFieldEvent | SchedulerMessagePreheatApplicationFieldEvent | SchedulerMessagePreheatFilteredQueryParamsFieldEvent | SchedulerMessagePreheatRangeFieldEvent> {
    return streamMessage(buf, SchedulerMessage.codec(), opts)
  }
}
