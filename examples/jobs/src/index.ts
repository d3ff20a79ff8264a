/**
 * The jobs example: the job aggregate, its Postgres job view, the job history query and a
 * typed command/query dispatcher.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * from "./Job.js"

/** @since 0.1.0 */
export * as Dispatcher from "./Dispatcher.js"

/** @since 0.1.0 */
export * as JobApi from "./JobApi.js"

/** @since 0.1.0 */
export * as JobHistory from "./JobHistory.js"

/** @since 0.1.0 */
export * as JobViews from "./JobViews.js"
