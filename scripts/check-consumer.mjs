#!/usr/bin/env node
/**
 * The consumer check: Facta as a user installs it. Builds every publishable package, packs each
 * into a tarball, checks what the tarball ships, then creates a scratch project outside the
 * workspace, installs the tarballs with the README's install lines, type-checks a small program
 * under strict options (skipLibCheck off), compiles it with tsc and runs it with plain node: once
 * on the in-memory layers, once on PostgreSQL (DATABASE_URL, or a throwaway embedded server).
 *
 * `npm run check:consumer` (CI runs it); `-- --keep` leaves the scratch project in place.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const keep = process.argv.includes("--keep")
const started = Date.now()
const npm = process.platform === "win32" ? "npm.cmd" : "npm"

const step = (title) => console.log(`\n== ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
const fail = (message) => {
  console.error(`\nconsumer check FAILED: ${message}`)
  process.exit(1)
}
const run = (command, args, options = {}) => {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options })
  } catch (error) {
    fail(`${command} ${args.join(" ")} exited with ${error.status}\n${error.stdout ?? ""}${error.stderr ?? ""}`)
  }
}

// The packages users install: every non-private workspace package under packages/.
const packages = readdirSync(join(root, "packages"))
  .map((name) => ({
    dir: join(root, "packages", name),
    manifest: JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8"))
  }))
  .filter(({ manifest }) => manifest.private !== true)

step("build")
run(npm, ["run", "build"], { cwd: root })

step("pack")
const packDir = mkdtempSync(join(tmpdir(), "facta-packs-"))
const packed = JSON.parse(
  run(npm, [
    "pack",
    "--json",
    "--pack-destination",
    packDir,
    ...packages.flatMap(({ dir }) => ["-w", relative(root, dir)])
  ], { cwd: root })
)
const tarballs = new Map()
for (const entry of packed) {
  const files = entry.files.map((file) => file.path)
  tarballs.set(entry.name, join(packDir, entry.filename))
  const problems = []
  for (const file of files) {
    if (/(^|\/)test(s)?\//.test(file) || /\.test\.[cm]?[jt]s$/.test(file)) problems.push(`ships a test: ${file}`)
    if (/(^|\/)tsconfig[^/]*\.json$/.test(file) || file.endsWith(".tsbuildinfo")) {
      problems.push(`ships a build config: ${file}`)
    }
  }
  for (const required of ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "dist/index.js", "dist/index.d.ts"]) {
    if (!files.includes(required)) problems.push(`lacks ${required}`)
  }
  const manifest = packages.find(({ manifest }) => manifest.name === entry.name).manifest
  problems.push(...exportProblems(manifest.exports, files))
  const byFolder = new Map()
  for (const file of files) {
    const folder = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "."
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), file.slice(folder === "." ? 0 : folder.length + 1)])
  }
  console.log(`${entry.filename}: ${files.length} files, ${(entry.size / 1024).toFixed(1)} kB packed`)
  for (const [folder, names] of [...byFolder].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`  ${folder}/ ${names.sort().join(" ")}`)
  }
  if (problems.length > 0) fail(`${entry.name}:\n  ${problems.join("\n  ")}`)
}

/** Every export a consumer resolves (without the repository's source condition) must be built JavaScript and declarations that the tarball ships. */
function exportProblems(exports, files) {
  const problems = []
  const matches = (target) =>
    target.includes("*")
      ? files.some((file) => new RegExp(`^${target.slice(2).replace(/[.]/g, "\\.").replace("*", ".+")}$`).test(file))
      : files.includes(target.slice(2))
  for (const [subpath, conditions] of Object.entries(exports ?? {})) {
    if (conditions === null || typeof conditions === "string") {
      if (typeof conditions === "string" && !matches(conditions)) {
        problems.push(`export ${subpath} points at missing ${conditions}`)
      }
      continue
    }
    const { types, default: main, ...rest } = conditions
    for (const condition of Object.keys(rest)) {
      if (condition !== "@facta/source") problems.push(`export ${subpath} has an unexpected condition ${condition}`)
    }
    if (typeof types !== "string" || !/\.d\.ts$/.test(types)) problems.push(`export ${subpath} has no .d.ts types`)
    else if (!matches(types)) problems.push(`export ${subpath}: ${types} is not in the tarball`)
    if (typeof main !== "string" || !/\.js$/.test(main) || !main.startsWith("./dist/")) {
      problems.push(`export ${subpath} does not point at dist/*.js`)
    } else if (!matches(main)) problems.push(`export ${subpath}: ${main} is not in the tarball`)
  }
  return problems
}

step("scratch project")
const scratch = mkdtempSync(join(tmpdir(), "facta-consumer-"))
if (!relative(root, scratch).startsWith("..")) fail(`the scratch project ${scratch} is inside the workspace`)
writeFileSync(
  join(scratch, "package.json"),
  JSON.stringify({ name: "facta-consumer", private: true, type: "module" }, null, 2)
)

// The README's install lines, with the tarballs standing in for the @facta packages.
const readme = readFileSync(join(root, "README.md"), "utf8")
const installLines = readme.split("\n").filter((line) => /^npm install (--save-dev )?@facta\//.test(line.trim()))
if (installLines.length === 0) fail("the README has no `npm install @facta/…` line")
for (const line of installLines) {
  const args = line.trim().split(/\s+/).slice(2).map((arg) => {
    if (!arg.startsWith("@facta/")) return arg
    const tarball = tarballs.get(arg)
    if (tarball === undefined) fail(`the README installs ${arg}, which is not a package of this workspace`)
    return tarball
  })
  console.log(
    `npm install ${args.map((arg) => (arg.startsWith(packDir) ? `<${arg.slice(packDir.length + 1)}>` : arg)).join(" ")}`
  )
  run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", ...args], { cwd: scratch })
}
// The compiler and Node's types, as any TypeScript application has them.
run(
  npm,
  ["install", "--no-audit", "--no-fund", "--prefer-offline", "--save-dev", "typescript@5.9", "@types/node@^20"],
  { cwd: scratch }
)

writeFileSync(
  join(scratch, "tsconfig.json"),
  JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        types: ["node"],
        outDir: "dist",
        rootDir: "src"
      },
      include: ["src"]
    },
    null,
    2
  )
)
mkdirSync(join(scratch, "src"))
writeFileSync(join(scratch, "src", "main.ts"), readFileSync(join(root, "scripts", "consumer", "main.ts"), "utf8"))
writeFileSync(
  join(scratch, "src", "testing-types.ts"),
  readFileSync(join(root, "scripts", "consumer", "testing-types.ts"), "utf8")
)
writeFileSync(join(scratch, "no-vitest.mjs"), readFileSync(join(root, "scripts", "consumer", "no-vitest.mjs"), "utf8"))
const nodeArgs = ["--import", "./no-vitest.mjs", join(scratch, "dist", "main.js")]

step("tsc (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, skipLibCheck: false)")
run(process.execPath, [join(scratch, "node_modules", "typescript", "bin", "tsc"), "-p", scratch], { cwd: scratch })

step("node, in memory")
const memory = run(process.execPath, [...nodeArgs, "memory"], { cwd: scratch })
process.stdout.write(memory)

step("node, on PostgreSQL")
const { start } = await import(pathToFileURL(join(root, "packages", "testing", "dist", "TestDatabase.js")).href)
const server = await start()
let postgres
try {
  postgres = run(process.execPath, [...nodeArgs, "postgres"], {
    cwd: scratch,
    env: { ...process.env, DATABASE_URL: server.url }
  })
} finally {
  await server.stop()
}
process.stdout.write(postgres)

for (const [name, output] of [["memory", memory], ["postgres", postgres]]) {
  if (!output.includes(`consumer ok (${name})`)) fail(`the ${name} run did not finish`)
}
if (keep) console.log(`\nscratch project kept at ${scratch}`)
else rmSync(scratch, { recursive: true, force: true })
rmSync(packDir, { recursive: true, force: true })
console.log(`\nconsumer check passed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
