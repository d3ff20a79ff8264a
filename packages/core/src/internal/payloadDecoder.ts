import { Either } from "effect"
import type { EventCatalog } from "../EventCatalog.js"
import { prototypeKeyPath } from "./exactJson.js"
import { invalid } from "./fastDecode.js"
import { currentName, withTag } from "./storedPayload.js"

type TypeCodec = NonNullable<ReturnType<EventCatalog<{ readonly _tag: string }>["codecs"]["get"]>>

/** Decodes one stored payload; see {@link payloadDecoder}. */
export type PayloadDecoder<E> = (type: string, schemaVersion: number, payload: unknown) => E | typeof invalid

// Catalogs are immutable, so one decoder (and its type lookups) serves every load.
const decoders = new WeakMap<object, PayloadDecoder<unknown>>()

/**
 * Decodes stored payloads (type, schema version, parsed data) into a catalog's current events,
 * resolving renames and running upcasters — the same decoding as `EventCatalog.decodeDataOrError`
 * but without an envelope, so a fold need not build one per event. Returns `invalid` instead of
 * an error: the caller then reads the event's envelope and asks `decodeDataOrError` why.
 */
export const payloadDecoder = <E extends { readonly _tag: string }>(catalog: EventCatalog<E>): PayloadDecoder<E> => {
  let decoder = decoders.get(catalog)
  if (decoder === undefined) {
    decoder = makePayloadDecoder(catalog.codecs, catalog.renames)
    decoders.set(catalog, decoder)
  }
  // The catalog's codecs decode into its events `E`.
  return decoder as PayloadDecoder<E>
}

const makePayloadDecoder = (
  catalogCodecs: ReadonlyMap<string, TypeCodec>,
  renames: Readonly<Record<string, string>>
): PayloadDecoder<unknown> => {
  // One lookup per event instead of a rename lookup plus a codec lookup.
  const codecs = new Map<string, TypeCodec | undefined>()
  const codecOf = (type: string): TypeCodec | undefined => {
    let codec = codecs.get(type)
    if (codec === undefined && !codecs.has(type)) {
      codec = catalogCodecs.get(currentName(renames, type))
      codecs.set(type, codec)
    }
    return codec
  }
  return (type, schemaVersion, payload) => {
    const version = codecOf(type)?.versions[schemaVersion - 1]
    if (version === undefined || typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      return invalid
    }
    if (version.fast !== undefined) return version.fast(payload)
    // Schema would make a "__proto__" key a prototype: the caller reports it (see decodeDataOrError).
    if (prototypeKeyPath(payload, "data") !== undefined) return invalid
    const decoded = version.decode(withTag(payload, version.encodedTag))
    return Either.isRight(decoded) ? decoded.right : invalid
  }
}
