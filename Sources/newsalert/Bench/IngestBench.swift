import ArgumentParser
import AsyncHTTPClient
import Foundation
import NewsAlertServices
import NewsAlertStore

/// `newsalert bench ingest`: POST /v1/events at a fixed concurrency against an in-process service.
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Post events at a fixed concurrency; print accepted events/s and p50/p99 POST latency.",
        discussion: """
            Starts newsalert (embedded broker, temporary data directory, a free port) in this process and posts
            breaking items with --concurrency requests in flight. Every 202 means the broker acknowledged the event.
            """)

    @Option(help: "Requests to send.") var requests: Int = 5_000
    @Option(help: "Requests in flight at once.") var concurrency: Int = 16

    func run() async throws {
        CommandLogging.bootstrap()
        let logger = CommandLogging.logger("bench")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("newsalert-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = NewsAlertNode.Options()
        options.port = 0
        options.dataDirectory = directory
        let listening = AsyncStream.makeStream(of: String.self)
        let node = try await NewsAlertNode(options: options, logger: logger) { listening.continuation.yield($0) }
        let key = try node.database.createAPIKey(role: .editor, label: "bench")

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await node.run(logger: logger) }
            var urls = listening.stream.makeAsyncIterator()
            guard let baseURL = await urls.next() else { throw ValidationError("the server did not start") }
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let client = IngestClient(baseURL: baseURL, apiKey: key.secret, http: http)
            printLine("bench ingest: \(requests) POST /v1/events at concurrency \(concurrency), embedded 3-broker cluster, acks=all")
            let result = try await post(client: client)
            try await http.shutdown()
            let latency = LatencySummary(result.latencies)
            printLine("accepted: \(result.accepted) of \(requests) (\(formatRate(Double(result.accepted) / result.seconds)) events/s over \(String(format: "%.2f", result.seconds)) s)")
            printLine("latency:  POST→202 p50 \(String(format: "%.2f", latency.p50)) ms, p99 \(String(format: "%.2f", latency.p99)) ms, max \(String(format: "%.2f", latency.max)) ms")
            printLine("summary: ingest \(formatRate(Double(result.accepted) / result.seconds)) events/s, POST→202 p50 \(String(format: "%.1f", latency.p50)) ms p99 \(String(format: "%.1f", latency.p99)) ms")
            if result.accepted != requests { printLine("failures: \(result.failures.prefix(5).joined(separator: "; "))") }
            group.cancelAll()
        }
    }

    private struct Result {
        var accepted = 0
        var failures: [String] = []
        var latencies: [Double] = []
        var seconds = 0.0
    }

    private func post(client: IngestClient) async throws -> Result {
        let clock = ContinuousClock()
        let started = clock.now
        var result = Result()
        try await withThrowingTaskGroup(of: (Double, IngestClient.Answer).self) { group in
            var next = 0
            func startNext() {
                guard next < requests else { return }
                let index = next
                next += 1
                group.addTask {
                    let body = Data(#"{"kind":"breaking","headline":"Bench item \#(index): Israeli drone strike targets a car in South Lebanon","regions":["MENA"],"urgency":2}"#.utf8)
                    let sent = clock.now
                    let answer = try await client.post(path: "/v1/events", json: body, idempotencyKey: nil)
                    return ((clock.now - sent).seconds * 1000, answer)
                }
            }
            for _ in 0..<concurrency { startNext() }
            while let (milliseconds, answer) = try await group.next() {
                result.latencies.append(milliseconds)
                if answer.status == 202 { result.accepted += 1 } else { result.failures.append(answer.problem) }
                startNext()
            }
        }
        result.seconds = (clock.now - started).seconds
        return result
    }
}
