import { Option, SchemaAST } from "effect"

/** Returned by a compiled check when the input is invalid; the caller then asks Schema why. */
export const invalid: unique symbol = Symbol.for("@facta/core/fastDecode/invalid")

/** Decodes `input` exactly as Schema would, or returns `invalid`. */
export type FastDecode = (input: unknown) => unknown

/**
 * A property whose value the caller supplies unless the input has it: payloads are stored without
 * their `_tag`, and Schema decodes `{ _tag, ...payload }`.
 */
export interface Injected {
  readonly name: string
  readonly value: unknown
}

/** How one schema node decodes; the same plan is turned into generated code or into closures. */
type Plan =
  | { readonly _tag: "String" | "Number" | "Boolean" | "NotNullable" }
  | { readonly _tag: "Literal"; readonly literal: unknown }
  | { readonly _tag: "Literals"; readonly literals: ReadonlySet<unknown> }
  | { readonly _tag: "Refinement"; readonly from: Plan; readonly ast: SchemaAST.Refinement }
  | { readonly _tag: "Struct"; readonly properties: ReadonlyArray<{ readonly name: string; readonly plan: Plan }> }

/**
 * Compiles the decoder of a schema whose AST is built only from strings, numbers, booleans,
 * literals, unions of literals, refinements of those, and structs of required string-keyed
 * properties — with no transformation anywhere, so decoding is validating plus copying the
 * declared properties. Returns `undefined` for anything else (which then goes through Schema).
 *
 * The decoder is generated JavaScript where the runtime allows it, closures otherwise: a function
 * of its own per schema has monomorphic property reads and builds its result with an object
 * literal, about four times faster than closures that every schema shares.
 *
 * The compiled check is only a fast path: when it says `invalid`, the caller runs the Schema
 * decoder to produce the error, so messages are Schema's own. A property test checks that both
 * agree on arbitrary input.
 */
export const compile = (ast: SchemaAST.AST, injected?: Injected): FastDecode | undefined => {
  const plan = planFor(ast, injected)
  if (plan === undefined) return undefined
  return (canGenerate ? generate(plan, injected) : undefined) ?? interpret(plan, injected)
}

/** The closure-based decoder, used where code generation is not allowed (exported for tests). */
export const compileWithClosures = (ast: SchemaAST.AST, injected?: Injected): FastDecode | undefined => {
  const plan = planFor(ast, injected)
  return plan === undefined ? undefined : interpret(plan, injected)
}

/** The plan, when the injected property (if any) lands in a struct the decoder reads it from. */
const planFor = (ast: SchemaAST.AST, injected: Injected | undefined): Plan | undefined => {
  const plan = planOf(ast)
  let target = plan
  while (target?._tag === "Refinement") target = target.from
  return injected === undefined || target?._tag === "Struct" ? plan : undefined
}

const planOf = (ast: SchemaAST.AST): Plan | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return { _tag: "String" }
    case "NumberKeyword":
      return { _tag: "Number" }
    case "BooleanKeyword":
      return { _tag: "Boolean" }
    case "Literal":
      return { _tag: "Literal", literal: ast.literal }
    case "Union":
      return ast.types.every(SchemaAST.isLiteral)
        ? { _tag: "Literals", literals: new Set(ast.types.map((member) => (member as SchemaAST.Literal).literal)) }
        : undefined
    case "Refinement": {
      const from = planOf(ast.from)
      return from === undefined ? undefined : { _tag: "Refinement", from, ast }
    }
    case "TypeLiteral": {
      if (ast.indexSignatures.length > 0) return undefined
      // Schema passes an empty struct's input through untouched (any value but null and undefined).
      if (ast.propertySignatures.length === 0) return { _tag: "NotNullable" }
      const properties: Array<{ readonly name: string; readonly plan: Plan }> = []
      for (const signature of ast.propertySignatures) {
        // Schema writes `output["__proto__"] = value`, which sets a prototype: leave that to it.
        if (signature.isOptional || typeof signature.name !== "string" || signature.name === "__proto__") {
          return undefined
        }
        const plan = planOf(signature.type)
        if (plan === undefined) return undefined
        properties.push({ name: signature.name, plan })
      }
      return { _tag: "Struct", properties }
    }
    default:
      return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// generated code
// ---------------------------------------------------------------------------------------------

/** Whether `new Function` works here (a Content Security Policy or an edge runtime may forbid it). */
const canGenerate = ((): boolean => {
  try {
    return new Function("return true")() === true
  } catch {
    return false
  }
})()

/** Collects the generated statements and the values they refer to (filters, literals, ASTs). */
interface Emitter {
  readonly lines: Array<string>
  readonly values: Array<unknown>
  variables: number
}

const reference = (emitter: Emitter, value: unknown): string => `$${emitter.values.push(value) - 1}`

const variable = (emitter: Emitter): string => `v${emitter.variables++}`

const typeofNames = { String: "string", Number: "number", Boolean: "boolean" } as const

/**
 * Emits the statements that check the value in variable `name` (returning `invalid` when it
 * fails) and returns the variable holding the decoded value. Property names are embedded as JSON
 * string literals; everything else the code needs is passed in as a value.
 */
const emit = (emitter: Emitter, plan: Plan, name: string, injected: Injected | undefined): string => {
  switch (plan._tag) {
    case "String":
    case "Number":
    case "Boolean":
      emitter.lines.push(`if (typeof ${name} !== "${typeofNames[plan._tag]}") return invalid;`)
      return name
    case "NotNullable":
      emitter.lines.push(`if (${name} === null || ${name} === undefined) return invalid;`)
      return name
    case "Literal":
      emitter.lines.push(`if (${name} !== ${reference(emitter, plan.literal)}) return invalid;`)
      return name
    case "Literals":
      emitter.lines.push(`if (!${reference(emitter, plan.literals)}.has(${name})) return invalid;`)
      return name
    case "Refinement": {
      const value = emit(emitter, plan.from, name, injected)
      const filter = reference(emitter, plan.ast.filter)
      emitter.lines.push(
        `if (isSome(${filter}(${value}, parseOptions, ${reference(emitter, plan.ast)}))) return invalid;`
      )
      return value
    }
    case "Struct": {
      emitter.lines.push(`if (typeof ${name} !== "object" || ${name} === null || isArray(${name})) return invalid;`)
      const fields = plan.properties.map((property) => {
        const key = JSON.stringify(property.name)
        const value = variable(emitter)
        emitter.lines.push(
          property.name === injected?.name
            ? `const ${value} = ${key} in ${name} && isEnumerable.call(${name}, ${key}) ? ${name}[${key}] : ${
              reference(emitter, injected.value)
            };`
            : `const ${value} = ${name}[${key}];`
        )
        return `${key}: ${emit(emitter, property.plan, value, undefined)}`
      })
      // A literal with constant keys: every result of this schema gets the same hidden class.
      const result = variable(emitter)
      emitter.lines.push(`const ${result} = { ${fields.join(", ")} };`)
      return result
    }
  }
}

const generate = (plan: Plan, injected: Injected | undefined): FastDecode | undefined => {
  const emitter: Emitter = { lines: [], values: [], variables: 0 }
  const result = emit(emitter, plan, "input", injected)
  const source = [
    ...emitter.values.map((_, index) => `const $${index} = values[${index}];`),
    "return function decode(input) {",
    ...emitter.lines,
    `return ${result};`,
    "};"
  ].join("\n")
  try {
    return new Function("values", "invalid", "isSome", "isArray", "isEnumerable", "parseOptions", source)(
      emitter.values,
      invalid,
      Option.isSome,
      Array.isArray,
      Object.prototype.propertyIsEnumerable,
      SchemaAST.defaultParseOption
    ) as FastDecode
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// closures
// ---------------------------------------------------------------------------------------------

type Check = (input: unknown) => unknown

const isRecord = (input: unknown): input is Record<string, unknown> =>
  typeof input === "object" && input !== null && !Array.isArray(input)

/** What `{ [name]: value, ...input }[name]` reads: the input's own enumerable value, or `value`. */
const injectedValue = (input: Record<string, unknown>, injected: Injected): unknown =>
  injected.name in input && Object.prototype.propertyIsEnumerable.call(input, injected.name)
    ? input[injected.name]
    : injected.value

const interpret = (plan: Plan, injected: Injected | undefined): Check => {
  switch (plan._tag) {
    case "String":
      return (input) => (typeof input === "string" ? input : invalid)
    case "Number":
      return (input) => (typeof input === "number" ? input : invalid)
    case "Boolean":
      return (input) => (typeof input === "boolean" ? input : invalid)
    case "NotNullable":
      return (input) => (input === null || input === undefined ? invalid : input)
    case "Literal": {
      const literal = plan.literal
      return (input) => (input === literal ? input : invalid)
    }
    case "Literals": {
      const literals = plan.literals
      return (input) => (literals.has(input) ? input : invalid)
    }
    case "Refinement": {
      const from = interpret(plan.from, injected)
      const { ast } = plan
      const filter = ast.filter
      return (input) => {
        const value = from(input)
        return value === invalid || Option.isSome(filter(value, SchemaAST.defaultParseOption, ast)) ? invalid : value
      }
    }
    case "Struct":
      return interpretStruct(plan.properties, injected)
  }
}

const interpretStruct = (
  properties: ReadonlyArray<{ readonly name: string; readonly plan: Plan }>,
  injected: Injected | undefined
): Check => {
  // Parallel arrays and an indexed loop: this runs once per property of every event folded.
  const names = properties.map((property) => property.name)
  const checks = properties.map((property) => interpret(property.plan, undefined))
  const injectedAt = injected === undefined ? -1 : names.indexOf(injected.name)
  const count = names.length
  return (input) => {
    if (!isRecord(input)) return invalid
    const out: Record<string, unknown> = {}
    for (let index = 0; index < count; index++) {
      const name = names[index]
      const value = checks[index](
        injected !== undefined && index === injectedAt ? injectedValue(input, injected) : input[name]
      )
      if (value === invalid) return invalid
      out[name] = value
    }
    return out
  }
}
