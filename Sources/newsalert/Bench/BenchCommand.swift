import ArgumentParser

/// `newsalert bench ...`: benchmarks that print their figures.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure newsalert's throughput and latency; each benchmark prints its figures.",
        subcommands: [KafkaBench.self, IngestBench.self, DedupBench.self, MatchBench.self, WebhookBench.self, EmailBench.self, TickerBench.self, TickerBenchClients.self, TickerBareServer.self, E2EBench.self, IdleBench.self, AudienceBench.self, AllBench.self]
    )
}

/// Percentiles of a set of latency samples.
struct LatencySummary {
    let count: Int
    let p50: Double
    let p99: Double
    let max: Double

    /// - Parameter samples: durations in any one unit; the summary keeps that unit.
    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        func percentile(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            return sorted[Swift.min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.down)))]
        }
        p50 = percentile(0.50)
        p99 = percentile(0.99)
        max = sorted.last ?? .nan
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Formats a rate such as 1234567.8 as "1,234,568".
func formatRate(_ value: Double) -> String {
    guard value.isFinite else { return "n/a" }
    let whole = Int(value.rounded())
    let digits = String(whole)
    var result = ""
    for (index, character) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return result
}
