import { Either } from "effect"
import type { EventCatalog } from "../EventCatalog.js"
import { invalid } from "./fastDecode.js"

type TypeCodec = NonNullable<ReturnType<EventCatalog<{ readonly _tag: string }>["codecs"]["get"]>>

/**
 * Decodes stored payloads (type, schema version, parsed data) into a catalog's current events,
 * resolving renames and running upcasters — the same decoding as `EventCatalog.decodeDataOrError`
 * but without an envelope, so a fold need not build one per event. Returns `invalid` instead of
 * an error: the caller then reads the event's envelope and asks `decodeDataOrError` why.
 */
export const payloadDecoder = <E extends { readonly _tag: string }>(catalog: EventCatalog<E>) => {
  // One lookup per event instead of a rename lookup plus a codec lookup.
  const codecs = new Map<string, TypeCodec | undefined>()
  const codecOf = (type: string): TypeCodec | undefined => {
    let codec = codecs.get(type)
    if (codec === undefined && !codecs.has(type)) {
      codec = catalog.codecs.get(catalog.renames[type] ?? type)
      codecs.set(type, codec)
    }
    return codec
  }
  return (type: string, schemaVersion: number, payload: unknown): E | typeof invalid => {
    const version = codecOf(type)?.versions[schemaVersion - 1]
    if (version === undefined || typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      return invalid
    }
    if (version.fast !== undefined) return version.fast(payload) as E | typeof invalid
    const input = version.encodedTag === undefined ? payload : Object.assign({ _tag: version.encodedTag }, payload)
    const decoded = version.decode(input)
    return Either.isRight(decoded) ? decoded.right as E : invalid
  }
}
