import Foundation
import NewsAlertCore
import Testing

/// Opt-in timing of the index against the linear scan:
/// `NEWSALERT_MATCH_BENCH_RULES=1000000 swift test --filter MatchingBenchmarkTests`
/// (`NEWSALERT_MATCH_BENCH_EVENTS`, default 10 000, and `NEWSALERT_MATCH_BENCH_LINEAR_EVENTS`, default 100, tune it).
@Suite struct MatchingBenchmarkTests {
    private static let environment = ProcessInfo.processInfo.environment

    @Test(.enabled(if: environment["NEWSALERT_MATCH_BENCH_RULES"] != nil))
    func indexAgainstLinearScan() {
        func setting(_ name: String, default value: Int) -> Int {
            Self.environment[name].flatMap { Int($0) } ?? value
        }
        let benchmark = MatchBenchmark(
            rules: setting("NEWSALERT_MATCH_BENCH_RULES", default: 100_000),
            events: setting("NEWSALERT_MATCH_BENCH_EVENTS", default: 10_000),
            linearEvents: setting("NEWSALERT_MATCH_BENCH_LINEAR_EVENTS", default: 100))
        let report = benchmark.run()
        print(report)
        #expect(report.disagreements == 0)
    }
}
