/**
 * Shared benchmark tooling: timing (warm-up, repeated runs, median), figures compared with a
 * baseline measured in the same run, and an aligned table for the console.
 */
import { mkdir, writeFile } from "node:fs/promises"
import * as os from "node:os"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"

// ---------------------------------------------------------------------------------------------
// timing
// ---------------------------------------------------------------------------------------------

/** How many untimed warm-up runs precede how many timed runs. */
export interface Repetitions {
  readonly warmup: number
  readonly runs: number
}

/**
 * Something to time: `run`, after `setup` (untimed) gives it fresh input for every run, such as
 * a new store or a new stream.
 */
export interface Subject<T> {
  readonly setup?: () => T | Promise<T>
  readonly run: (input: T) => unknown
}

/** The wall-clock times of the timed runs, in milliseconds. */
export interface Timing {
  readonly samples: ReadonlyArray<number>
  readonly median: number
  readonly min: number
  readonly max: number
}

/** The median of a non-empty list of numbers. */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) throw new RangeError("median of no values")
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

const timingOf = (samples: ReadonlyArray<number>): Timing => ({
  samples,
  median: median(samples),
  min: Math.min(...samples),
  max: Math.max(...samples)
})

/**
 * How long the machine rests before a timed run: a run leaves work to background threads (V8
 * sweeping and compiling concurrently) and to the database server, and on 2 cores that work fell
 * into the next timed run. Measured on the Postgres loads: Facta and pg each took 15–20 % longer
 * right after one of Emmett's runs than after each other's; with a 50 ms rest the difference
 * was gone.
 *
 * There is no forced garbage collection before a run. One evened out the garbage contenders
 * leave each other, but a full collection also throws away optimized code that embedded objects
 * it freed, and the next run then pays for compiling it again: Facta's catch-up read (Effect's
 * runtime) took 23 % longer than the same pages read with `pool.query` and converted by hand
 * when each run followed a forced collection, 5 % longer when none did. A service does not
 * collect before every request. Each contender now follows each other equally often (see
 * `compareAll`), so the garbage they leave each other falls evenly.
 */
const restMillis = 100

const timeOnce = async <T>(subject: Subject<T>): Promise<number> => {
  const input = subject.setup === undefined ? (undefined as T) : await subject.setup()
  await new Promise((resolve) => setTimeout(resolve, restMillis))
  const start = performance.now()
  await subject.run(input)
  return performance.now() - start
}

/** Times `subject` after untimed warm-up runs. */
export const measure = async <T>(repetitions: Repetitions, subject: Subject<T>): Promise<Timing> => {
  const samples: Array<number> = []
  for (let index = 0; index < repetitions.warmup + repetitions.runs; index++) {
    const elapsed = await timeOnce(subject)
    if (index >= repetitions.warmup) samples.push(elapsed)
  }
  return timingOf(samples)
}

/**
 * Times two subjects with their runs interleaved (alternating which goes first), so a change
 * of machine load during the benchmark affects both sides alike and the ratio stays fair.
 */
export const compare = async <A, B>(
  repetitions: Repetitions,
  facta: Subject<A>,
  baseline: Subject<B>
): Promise<{ readonly facta: Timing; readonly baseline: Timing }> => {
  const factaSamples: Array<number> = []
  const baselineSamples: Array<number> = []
  for (let index = 0; index < repetitions.warmup + repetitions.runs; index++) {
    const factaFirst = index % 2 === 0
    let factaTime: number
    let baselineTime: number
    if (factaFirst) {
      factaTime = await timeOnce(facta)
      baselineTime = await timeOnce(baseline)
    } else {
      baselineTime = await timeOnce(baseline)
      factaTime = await timeOnce(facta)
    }
    if (index >= repetitions.warmup) {
      factaSamples.push(factaTime)
      baselineSamples.push(baselineTime)
    }
  }
  return { facta: timingOf(factaSamples), baseline: timingOf(baselineSamples) }
}

/** How many `count`s per second a run of `milliseconds` achieved. */
export const perSecond = (count: number, milliseconds: number): number => (count * 1000) / milliseconds

// ---------------------------------------------------------------------------------------------
// figures
// ---------------------------------------------------------------------------------------------

/**
 * One measured figure next to its baseline. `ratio` is always Facta's speed over the
 * baseline's: above 1 Facta is faster, below 1 slower, whatever the unit.
 */
export interface Figure {
  readonly name: string
  readonly unit: string
  readonly facta: number
  readonly baseline: number
  readonly ratio: number
}

/** A figure plus what its baseline is, for the table (the JSON keeps the five fields). */
export interface Row extends Figure {
  readonly against: string
}

/** A throughput figure (higher is better): the ratio is facta / baseline. */
export const rate = (name: string, unit: string, facta: number, baseline: number, against: string): Row => ({
  name,
  unit,
  facta,
  baseline,
  ratio: facta / baseline,
  against
})

/** A duration figure (lower is better): the ratio is baseline / facta, so it still reads as speed. */
export const duration = (name: string, unit: string, facta: number, baseline: number, against: string): Row => ({
  name,
  unit,
  facta,
  baseline,
  ratio: baseline / facta,
  against
})

// ---------------------------------------------------------------------------------------------
// formatting
// ---------------------------------------------------------------------------------------------

/** A number with thousands separators and as many decimals as its size deserves. */
export const formatNumber = (value: number): string => {
  const magnitude = Math.abs(value)
  const decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
}

/** A ratio as `0.62×`. */
export const formatRatio = (ratio: number): string => `${ratio.toFixed(ratio >= 10 ? 1 : 2)}×`

/** A column of a table; numbers read best right-aligned. */
export interface Column {
  readonly title: string
  readonly align: "left" | "right"
}

/** Renders rows of cells as a table with aligned columns and a rule under the titles. */
export const formatTable = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = columns.map((column, index) =>
    Math.max(column.title.length, ...rows.map((row) => (row[index] ?? "").length))
  )
  const line = (cells: ReadonlyArray<string>) =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? ""
        return column.align === "right" ? cell.padStart(widths[index]) : cell.padEnd(widths[index])
      })
      .join("  ")
      .trimEnd()
  const rule = widths.map((width) => "-".repeat(width)).join("  ")
  return [line(columns.map((column) => column.title)), rule, ...rows.map(line)].join("\n")
}

/** The figures as a table: name, unit, Facta, baseline, ratio and what the baseline is. */
export const formatFigures = (rows: ReadonlyArray<Row>): string =>
  formatTable(
    [
      { title: "figure", align: "left" },
      { title: "unit", align: "left" },
      { title: "Facta", align: "right" },
      { title: "baseline", align: "right" },
      { title: "ratio", align: "right" },
      { title: "baseline is", align: "left" }
    ],
    rows.map((row) => [
      row.name,
      row.unit,
      formatNumber(row.facta),
      formatNumber(row.baseline),
      formatRatio(row.ratio),
      row.against
    ])
  )

/** One line saying whether a ratio reached its target, e.g. `load: 0.62× baseline rate — target ≥ 0.5× met`. */
export const verdict = (label: string, ratio: number, target: number): string =>
  `${label}: ${formatRatio(ratio)} baseline rate — target ≥ ${target}× ${ratio >= target ? "met" : "NOT met"}`

/** The machine and runtime the figures come from. */
export const environment = (): string => {
  const cpus = os.cpus()
  const model = cpus[0]?.model.trim() ?? "unknown CPU"
  const load = os.loadavg()[0].toFixed(2)
  return `Node ${process.version} on ${model} (${cpus.length} cores), ${os.platform()} ${os.arch()}, load average ${load} at start`
}

/** Writes the figures (name, unit, facta, baseline, ratio) as JSON, creating the folder. */
export const writeFigures = async (file: URL, rows: ReadonlyArray<Figure>): Promise<void> => {
  const path = fileURLToPath(file)
  await mkdir(dirname(path), { recursive: true })
  const figures = rows.map(({ baseline, facta, name, ratio, unit }) => ({ name, unit, facta, baseline, ratio }))
  await writeFile(path, `${JSON.stringify(figures, null, 2)}\n`)
}

// ---------------------------------------------------------------------------------------------
// several contenders side by side (added for bench/postgres.ts)
// ---------------------------------------------------------------------------------------------

/** Every order of `0 … count - 1`, in lexicographic order. */
const orders = (count: number): ReadonlyArray<ReadonlyArray<number>> => {
  if (count === 0) return [[]]
  const all: Array<ReadonlyArray<number>> = []
  for (let first = 0; first < count; first++) {
    for (const rest of orders(count - 1)) {
      all.push([first, ...rest.map((index) => (index >= first ? index + 1 : index))])
    }
  }
  return all
}

/**
 * Times several subjects with their runs interleaved, so that a change of machine load during
 * the benchmark affects them all alike. Round after round takes the next of every order of the
 * subjects: over as many rounds as there are orders (6 for three subjects), each subject runs in
 * each place, and right after each other subject, equally often. (Rotating the same order would
 * put each subject after the same one every time.) The timings come back in the order of
 * `subjects`.
 */
export const compareAll = async <T extends ReadonlyArray<unknown>>(
  repetitions: Repetitions,
  subjects: { readonly [K in keyof T]: Subject<T[K]> }
): Promise<ReadonlyArray<Timing>> => {
  const all: ReadonlyArray<Subject<unknown>> = subjects
  const rounds = orders(all.length)
  const samples = all.map((): Array<number> => [])
  for (let index = 0; index < repetitions.warmup + repetitions.runs; index++) {
    for (const which of rounds[index % rounds.length]) {
      const elapsed = await timeOnce(all[which])
      if (index >= repetitions.warmup) samples[which].push(elapsed)
    }
  }
  return samples.map(timingOf)
}

/** Writes any JSON-serializable value to `file` (pretty-printed), creating the folder. */
export const writeJson = async (file: URL, value: unknown): Promise<void> => {
  const path = fileURLToPath(file)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`)
}
