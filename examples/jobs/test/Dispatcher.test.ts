import { describe, expect, it } from "@effect/vitest"
import { EventStore } from "@facta/core"
import { Chunk, Effect, Option, Schema, Stream } from "effect"
import * as Dispatcher from "../src/Dispatcher.js"
import * as JobApi from "../src/JobApi.js"

const Ping = Schema.TaggedStruct("Ping", { times: Schema.Int.pipe(Schema.positive()) })
const Echo = Schema.TaggedStruct("Echo", { text: Schema.String, loud: Schema.optional(Schema.Boolean) })
const Message = Schema.Union(Ping, Echo)

const dispatcher = Dispatcher.make(Message, {
  Ping: (ping) => Effect.succeed("pong".repeat(ping.times)),
  Echo: (
    echo
  ) => (echo.text === ""
    ? Effect.fail("nothing to echo" as const)
    : Effect.succeed(echo.loud ? echo.text.toUpperCase() : echo.text))
})

describe("Dispatcher", () => {
  it("knows the schema's message types", () => {
    expect(dispatcher.tags).toEqual(["Ping", "Echo"])
  })

  it.effect("decodes JSON input and runs the handler of its _tag", () =>
    Effect.gen(function*() {
      expect(yield* dispatcher.dispatch(JSON.parse(`{"_tag":"Ping","times":2}`))).toBe("pongpong")
      expect(yield* dispatcher.dispatch({ _tag: "Echo", text: "hi", loud: true })).toBe("HI")
    }))

  it.effect("passes a handler's own error through", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(dispatcher.dispatch({ _tag: "Echo", text: "" }))).toBe("nothing to echo")
    }))

  it.effect("runs typed messages without decoding", () =>
    Effect.gen(function*() {
      expect(yield* dispatcher.run({ _tag: "Ping", times: 1 })).toBe("pong")
    }))

  it.effect("an unknown _tag is UnknownTag, naming the known ones", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(dispatcher.decode({ _tag: "Pong" }))
      expect(error).toEqual(new Dispatcher.UnknownTag({ tag: "Pong", known: ["Ping", "Echo"] }))
      expect(error.message).toBe(`Unknown message type "Pong"; expected one of Ping, Echo`)
    }))

  it.effect("input without a string _tag is MalformedInput", () =>
    Effect.gen(function*() {
      for (const input of [null, 42, "Ping", [], { times: 1 }, { _tag: 7 }]) {
        const error = yield* Effect.flip(dispatcher.dispatch(input))
        expect(error).toEqual(
          new Dispatcher.MalformedInput({
            tag: undefined,
            issues: [{ path: "_tag", message: "a message needs a string _tag" }]
          })
        )
      }
    }))

  it.effect("a known message with bad fields is MalformedInput, with each issue's path", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(dispatcher.decode({ _tag: "Ping", times: 0 }))
      expect(error._tag).toBe("MalformedInput")
      if (error._tag !== "MalformedInput") return
      expect(error.tag).toBe("Ping")
      expect(error.issues.map((issue) => issue.path)).toEqual(["times"])
      expect(error.message).toMatch(/^The Ping message is malformed: times: /)
    }))

  it.effect("reports every issue, and refuses fields the message does not have", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(dispatcher.decode({ _tag: "Echo", text: 3, loud: "yes", colour: "red" }))
      expect(error._tag).toBe("MalformedInput")
      if (error._tag !== "MalformedInput") return
      expect(new Set(error.issues.map((issue) => issue.path))).toEqual(new Set(["colour", "loud", "text"]))
    }))

  it("the handler map must cover every _tag (a type error, and a TypeError if the types are defeated)", () => {
    expect(() =>
      // @ts-expect-error Echo has no handler
      Dispatcher.make(Message, { Ping: () => Effect.succeed("pong") })
    ).toThrow("Dispatcher.make: no handler for Echo")
  })

  it("the handler map cannot name a _tag the schema does not have", () => {
    const make = () =>
      Dispatcher.make(Message, {
        Ping: () => Effect.void,
        Echo: () => Effect.void,
        // @ts-expect-error Shout is not a message of the schema
        Shout: () => Effect.void
      })
    expect(make().tags).toEqual(["Ping", "Echo"])
  })
})

describe("JobApi.commands", () => {
  it.effect("creates a job from JSON, filling the optional metadata, and records who asked", () =>
    Effect.gen(function*() {
      const commands = JobApi.commands({ userId: "ops-1", correlationId: "req-9" })
      const outcome = yield* commands.dispatch(
        JSON.parse(`{"_tag":"CreateJob","tenantId":"acme","jobId":"j-1","name":"export","maxRetries":1}`)
      )
      expect(outcome).toEqual({ jobId: "j-1", version: 1, status: "pending", events: ["JobCreated"] })
      const [recorded] = yield* EventStore.readStream("job-j-1").pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      expect(recorded?.data).toEqual({ tenantId: "acme", name: "export", maxRetries: 1, metadata: {} })
      expect(recorded?.metadata).toMatchObject({ userId: "ops-1", correlationId: "req-9" })
    }).pipe(Effect.provide(EventStore.layerMemory)))

  it.effect("a domain error comes back as it is, a malformed command never reaches the store", () =>
    Effect.gen(function*() {
      const commands = JobApi.commands()
      const error = yield* Effect.flip(commands.dispatch({ _tag: "StartJob", tenantId: "acme", jobId: "nope" }))
      expect(error._tag).toBe("JobNotFound")
      const malformed = yield* Effect.flip(
        commands.dispatch({ _tag: "CreateJob", tenantId: "", jobId: "j-2", name: "x", maxRetries: -1 })
      )
      expect(malformed._tag).toBe("MalformedInput")
      expect(yield* EventStore.streamVersion("job-j-2")).toEqual(Option.none())
    }).pipe(Effect.provide(EventStore.layerMemory)))
})
