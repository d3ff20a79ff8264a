/**
 * `npm run bench`: builds the benchmarks and the Facta packages they use into one ES module,
 * `bench/run.bundle.mjs`, and runs it (the arguments are `bench/run.ts`'s).
 *
 * Why not run `bench/run.ts` with tsx: tsx compiles with esbuild's `keepNames`, which wraps every
 * function Facta's TypeScript creates in a `__name(fn, "name")` call (an `Object.defineProperty`),
 * a cost Emmett's and pg's compiled JavaScript never pays. A published Facta is compiled code, so
 * the benchmark measures Facta compiled: bundled without `keepNames`, every other package loaded
 * from node_modules as usual.
 */
import { build } from "esbuild"
import { fileURLToPath, pathToFileURL } from "node:url"

const bundle = fileURLToPath(new URL("./run.bundle.mjs", import.meta.url))

await build({
  entryPoints: [fileURLToPath(new URL("./run.ts", import.meta.url))],
  outfile: bundle,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // The workspace packages resolve to their sources (the export condition the repository runs on).
  conditions: ["@facta/source"],
  plugins: [
    {
      name: "facta-sources-only",
      setup: (builder) => {
        // Bare specifiers other than the workspace's own packages stay imports of node_modules.
        builder.onResolve(
          { filter: /^[^./]/ },
          (args) => (args.path.startsWith("@facta/") ? undefined : { external: true })
        )
      }
    }
  ]
})

await import(pathToFileURL(bundle).href)
