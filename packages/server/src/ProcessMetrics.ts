/**
 * The process's own health in `/metrics`, as a Prometheus user expects of a Node service:
 * resident memory, heap, memory outside the heap, CPU time, event-loop delay and open handles,
 * under the names `prom-client`'s default metrics use, so existing dashboards and alerts work.
 * They are Effect `Metric` gauges, set from Node's counters when `/metrics` is scraped, so they
 * go out through the same exporter as every other metric and cost nothing between scrapes.
 */
import { Effect, Metric, type Scope } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"

const gauge = (name: string, description: string) => Metric.gauge(name, { description })

const residentMemory = gauge("process_resident_memory_bytes", "Resident memory size in bytes")
const heapUsed = gauge("nodejs_heap_size_used_bytes", "V8 heap in use, in bytes")
const heapTotal = gauge("nodejs_heap_size_total_bytes", "V8 heap reserved, in bytes")
const external = gauge("nodejs_external_memory_bytes", "Memory held outside the V8 heap (buffers), in bytes")
const cpuUser = gauge("process_cpu_user_seconds_total", "User CPU time spent, in seconds")
const cpuSystem = gauge("process_cpu_system_seconds_total", "System CPU time spent, in seconds")
const lagP50 = gauge("nodejs_eventloop_lag_p50_seconds", "Event-loop delay since the last scrape, median, in seconds")
const lagP99 = gauge("nodejs_eventloop_lag_p99_seconds", "Event-loop delay since the last scrape, 99th percentile, in seconds")
const lagMax = gauge("nodejs_eventloop_lag_max_seconds", "Event-loop delay since the last scrape, largest, in seconds")
const activeHandles = gauge("nodejs_active_handles_total", "Open handles and requests keeping the event loop alive (sockets, timers, …)")

/**
 * Samples the event-loop delay while its scope is open; the effect it gives sets every gauge
 * (run it before formatting the metrics). Delay figures cover the time since the last scrape.
 */
export const make: Effect.Effect<Effect.Effect<void>, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => {
      const delay = monitorEventLoopDelay({ resolution: 10 })
      delay.enable()
      return delay
    }),
    (delay) => Effect.sync(() => delay.disable())
  ),
  (delay) =>
    Effect.suspend(() => {
      const memory = process.memoryUsage()
      const cpu = process.cpuUsage()
      // The histogram counts nanoseconds; an empty one reports its bounds, so read nothing from it.
      const sampled = delay.count > 0
      const seconds = (ns: number) => (sampled ? ns / 1e9 : 0)
      const updates = Effect.all([
        Metric.update(residentMemory, memory.rss),
        Metric.update(heapUsed, memory.heapUsed),
        Metric.update(heapTotal, memory.heapTotal),
        Metric.update(external, memory.external),
        Metric.update(cpuUser, cpu.user / 1e6),
        Metric.update(cpuSystem, cpu.system / 1e6),
        Metric.update(lagP50, seconds(delay.percentile(50))),
        Metric.update(lagP99, seconds(delay.percentile(99))),
        Metric.update(lagMax, seconds(delay.max)),
        Metric.update(activeHandles, process.getActiveResourcesInfo().length)
      ], { discard: true })
      delay.reset()
      return updates
    })
)
