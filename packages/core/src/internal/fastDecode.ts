import { Option, SchemaAST } from "effect"

/** Returned by a compiled check when the input is invalid; the caller then asks Schema why. */
export const invalid: unique symbol = Symbol.for("@facta/core/fastDecode/invalid")

/** Decodes `input` exactly as Schema would, or returns `invalid`. */
export type FastDecode = (input: unknown) => unknown

type Check = (input: unknown) => unknown

const parseOptions: SchemaAST.ParseOptions = {}

/**
 * Compiles the decoder of a schema whose AST is built only from strings, numbers, booleans,
 * literals, unions of literals, refinements of those, and structs of required string-keyed
 * properties — with no transformation anywhere, so decoding is validating plus copying the
 * declared properties. Returns `undefined` for anything else (which then goes through Schema).
 *
 * The compiled check is only a fast path: when it says `invalid`, the caller runs the Schema
 * decoder to produce the error, so messages are Schema's own. A property test checks that both
 * agree on arbitrary input.
 */
export const compile = (ast: SchemaAST.AST, injected?: { readonly name: string; readonly value: unknown }): FastDecode | undefined =>
  ast._tag === "TypeLiteral" ? compileTypeLiteral(ast, injected) : compileAst(ast)

const compileAst = (ast: SchemaAST.AST): Check | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return (input) => (typeof input === "string" ? input : invalid)
    case "NumberKeyword":
      return (input) => (typeof input === "number" ? input : invalid)
    case "BooleanKeyword":
      return (input) => (typeof input === "boolean" ? input : invalid)
    case "Literal": {
      const literal = ast.literal
      return (input) => (input === literal ? input : invalid)
    }
    case "Union": {
      if (!ast.types.every(SchemaAST.isLiteral)) return undefined
      const literals = new Set<unknown>(ast.types.map((member) => (member as SchemaAST.Literal).literal))
      return (input) => (literals.has(input) ? input : invalid)
    }
    case "Refinement": {
      const from = compileAst(ast.from)
      if (from === undefined) return undefined
      const filter = ast.filter
      return (input) => {
        const value = from(input)
        return value === invalid || Option.isSome(filter(value, parseOptions, ast)) ? invalid : value
      }
    }
    case "TypeLiteral":
      return compileTypeLiteral(ast, undefined)
    default:
      return undefined
  }
}

const compileTypeLiteral = (
  ast: SchemaAST.TypeLiteral,
  injected: { readonly name: string; readonly value: unknown } | undefined
): Check | undefined => {
  if (ast.indexSignatures.length > 0) return undefined
  // Parallel arrays and an indexed loop: this runs once per property of every event folded.
  const names: Array<string> = []
  const checks: Array<Check> = []
  for (const signature of ast.propertySignatures) {
    if (signature.isOptional || typeof signature.name !== "string") return undefined
    const check = compileAst(signature.type)
    if (check === undefined) return undefined
    names.push(signature.name)
    checks.push(check)
  }
  const injectedAt = injected === undefined ? -1 : names.indexOf(injected.name)
  const injectedValue = injected?.value
  const count = names.length
  return (input) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return invalid
    const record = input as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (let index = 0; index < count; index++) {
      const name = names[index]
      const value = checks[index](index === injectedAt ? injectedValue : record[name])
      if (value === invalid) return invalid
      out[name] = value
    }
    return out
  }
}
