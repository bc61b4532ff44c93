import Foundation

/// What `MatchBenchmark` measured.
public struct MatchBenchmarkReport: Sendable, CustomStringConvertible {
    /// Latency figures for one matcher over a run of events.
    public struct Timing: Sendable {
        public let events: Int
        public let total: Duration
        public let p50: Duration
        public let p99: Duration

        public init(_ latencies: [Duration]) {
            let sorted = latencies.sorted()
            events = sorted.count
            total = sorted.reduce(.zero, +)
            p50 = Self.percentile(sorted, 0.50)
            p99 = Self.percentile(sorted, 0.99)
        }

        /// Events matched per second of matching time.
        public var eventsPerSecond: Double {
            let seconds = MatchBenchmarkReport.seconds(total)
            return seconds > 0 ? Double(events) / seconds : 0
        }

        private static func percentile(_ sorted: [Duration], _ fraction: Double) -> Duration {
            guard !sorted.isEmpty else { return .zero }
            let rank = Int((Double(sorted.count) * fraction).rounded(.up)) - 1
            return sorted[min(max(rank, 0), sorted.count - 1)]
        }
    }

    public let rules: Int
    /// Time to insert every rule into an empty index.
    public let buildTime: Duration
    public let index: Timing
    public let linear: Timing
    /// Matches per event (the fan-out the index cannot avoid).
    public let meanMatches: Double
    /// Rules checked per event by the index (over the first 1 000 events).
    public let meanCandidates: Double
    /// Events for which the index and the linear scan disagreed; must be 0.
    public let disagreements: Int

    public var description: String {
        let build = Self.seconds(buildTime)
        var lines = [
            "rules: \(rules), index build: \(Self.format(build)) s (\(Self.format(build > 0 ? Double(rules) / build : 0, digits: 0)) rules/s)",
            "index: \(index.events) events, \(Self.format(index.eventsPerSecond, digits: 1)) events/s, p50 \(Self.milliseconds(index.p50)), p99 \(Self.milliseconds(index.p99))",
            "per event: \(Self.format(meanMatches, digits: 1)) matches, \(Self.format(meanCandidates, digits: 1)) candidates checked of \(rules) rules",
        ]
        if linear.events > 0 {
            lines.append("linear scan: \(linear.events) events, \(Self.format(linear.eventsPerSecond, digits: 1)) events/s, p50 \(Self.milliseconds(linear.p50)), p99 \(Self.milliseconds(linear.p99))")
            lines.append("index vs linear: \(Self.format(index.eventsPerSecond / max(linear.eventsPerSecond, .leastNonzeroMagnitude), digits: 1))x, disagreements: \(disagreements)")
        }
        return lines.joined(separator: "\n")
    }

    /// `duration` in seconds, as a floating-point number.
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func milliseconds(_ duration: Duration) -> String {
        format(seconds(duration) * 1_000) + " ms"
    }

    private static func format(_ value: Double, digits: Int = 3) -> String {
        String(format: "%.\(digits)f", value)
    }
}
