import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")

describe("README", () => {
  it("shows exactly the example in test/readme-example.ts (which tsc type-checks)", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8")
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(block).toBe(readFileSync(join(root, "test", "readme-example.ts"), "utf8"))
  })

  it("its 30-second example runs and prints the state it promises", () => {
    const output = execFileSync(process.execPath, [
      "--conditions=@facta/source",
      "--import",
      "tsx",
      join(root, "test", "readme-example.ts")
    ], {
      cwd: root,
      encoding: "utf8"
    })
    expect(output).toContain("state: { open: true, balance: 500 }")
    expect(output).toContain("version: 2")
  })

  it("names the two commands, npm start and npm test", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8")
    expect(readme).toContain("npm start")
    expect(readme).toContain("npm test")
  })
})
