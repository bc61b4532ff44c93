import ArgumentParser
import Foundation
import NewsAlertCore

/// `newsalert bench match`: the subscription index against a linear scan over the same generated rules.
struct MatchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Match generated events against N generated rules: index build time, RSS, events/s, p50/p99, and a linear scan as baseline.",
        discussion: """
            Rules follow a realistic mix: mostly single-section or single-region rules, some country, entity,
            tag and keyword rules, a few broad ones. The linear scan runs on fewer events (it is slow); both
            must return identical matches.
            """)

    @Option(help: "Rules to generate.") var rules: Int = 1_000_000
    @Option(help: "Events to match through the index.") var events: Int = 10_000
    @Option(help: "Events to match by linear scan (the baseline).") var linearEvents: Int = 100
    @Option(help: "Random seed.") var seed: UInt64 = 1

    func run() async throws {
        let before = Self.residentMegabytes()
        let report = MatchBenchmark(rules: rules, events: events, linearEvents: linearEvents, seed: seed).run()
        printLine(report.description)
        printLine("RSS: \(Self.residentMegabytes()) MiB after the run (\(before) MiB before)")
        let ratio = report.index.eventsPerSecond / max(report.linear.eventsPerSecond, .leastNonzeroMagnitude)
        printLine("summary: match \(rules) rules: index \(String(format: "%.1f", report.index.eventsPerSecond)) events/s vs linear \(String(format: "%.1f", report.linear.eventsPerSecond)) (\(String(format: "%.1f", ratio))x), RSS \(Self.residentMegabytes()) MiB")
        if report.disagreements > 0 { throw ExitCode.failure }
    }

    /// The process's resident set size, from /proc (Linux).
    static func residentMegabytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").compactMap({ Int($0) }).first else { return -1 }
        return kilobytes / 1024
    }
}
