import ArgumentParser
import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import NewsAlertStore
import NIOConcurrencyHelpers
import NIOCore

/// `newsalert bench ticker`: one breaking item to N WebSocket clients of a `newsalert serve` child process.
struct TickerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticker",
        abstract: "One alert to N ticker clients: p50/p99 time to delivery, time to the last client, frames/s, server RSS.",
        discussion: """
            Starts `newsalert serve` (embedded broker) as a child process, so its RSS is the server's alone, connects
            --clients WebSocket clients to /v1/ticker, posts one breaking item, and times each client's frame from the POST.
            """)

    @Option(help: "WebSocket clients.") var clients: Int = 10_000
    @Option(help: "Clients connecting at once.") var connectConcurrency: Int = 200
    @Option(help: "Use this running server (its base URL, started with --ticker-origins ws://127.0.0.1) instead of starting one; needs --api-key.")
    var server: String?
    @Option(help: "Editor API key for --server.") var apiKey: String?

    func run() async throws {
        CommandLogging.bootstrap()
        var quiet = CommandLogging.logger("bench")
        quiet.logLevel = .error
        let logger = quiet
        let server: ServeChild
        if let url = self.server, let apiKey {
            server = ServeChild(process: nil, baseURL: url, editorKey: apiKey, directory: nil)
        } else {
            // The Swift WebSocket client announces itself with `Origin: ws://HOST`; allow it like a browser page.
            server = try await ServeChild.start(extraArguments: ["--ticker-origins", "ws://127.0.0.1"])
        }
        defer { server.stop() }
        // One item through the whole pipeline first, so the measured one finds every stage warm.
        try await server.postBreaking("Bench warm-up item about the Beirut port")
        try await Task.sleep(for: .seconds(2))
        printLine("bench ticker: \(clients) clients on \(server.baseURL)/v1/ticker (server pid \(server.pid))")

        let received = NIOLockedValueBox<[ContinuousClock.Instant]>([])
        let connected = NIOLockedValueBox(0)
        let failures = NIOLockedValueBox<[String]>([])
        let wsURL = server.baseURL.replacingOccurrences(of: "http://", with: "ws://") + "/v1/ticker?backlog=0"
        let clock = ContinuousClock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var started = 0
            func startClient() {
                started += 1
                group.addTask {
                    do {
                    try await WebSocketClient.connect(url: wsURL, logger: logger) { inbound, _, _ in
                        connected.withLockedValue { $0 += 1 }
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            if case .text(let text) = message, text.contains("\"position\""), !text.contains("\"heartbeat\"") {
                                let now = clock.now
                                received.withLockedValue { $0.append(now) }
                                return
                            }
                        }
                    }
                    } catch {
                        failures.withLockedValue { $0.append("\(error)") }
                    }
                }
            }
            // Connect in waves so the server's accept queue is not flooded.
            while started < clients {
                let wave = min(connectConcurrency, clients - started)
                for _ in 0..<wave { startClient() }
                let target = started
                while connected.withLockedValue({ $0 }) + failures.withLockedValue({ $0.count }) < target - wave / 10 { try await Task.sleep(for: .milliseconds(20)) }
                if let failure = failures.withLockedValue({ $0.first }) { throw ValidationError("a client could not connect: \(failure)") }
            }
            let deadline = clock.now + .seconds(60)
            while connected.withLockedValue({ $0 }) < clients, clock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            let connectedCount = connected.withLockedValue { $0 }
            let rssBefore = server.residentMegabytes()
            printLine("connected: \(connectedCount) of \(clients); server RSS \(rssBefore) MiB")

            let posted = clock.now
            try await server.postBreaking("Bench ticker item: Israeli drone strike targets a car in Kawnin, South Lebanon")
            let waitUntil = clock.now + .seconds(60)
            while received.withLockedValue({ $0.count }) < connectedCount, clock.now < waitUntil { try await Task.sleep(for: .milliseconds(20)) }
            let times = received.withLockedValue { $0 }.map { ($0 - posted).seconds * 1000 }
            let summary = LatencySummary(times)
            let first = times.min() ?? .nan
            let spread = (summary.max - first) / 1000
            printLine("delivered: \(times.count) of \(connectedCount) clients")
            printLine("POST→frame: p50 \(String(format: "%.1f", summary.p50)) ms, p99 \(String(format: "%.1f", summary.p99)) ms, last \(String(format: "%.1f", summary.max)) ms (first \(String(format: "%.1f", first)) ms)")
            printLine("fan-out: \(formatRate(Double(times.count) / max(spread, 1e-6))) frames/s from first to last client; server RSS \(server.residentMegabytes()) MiB")
            printLine("summary: ticker \(times.count) clients, POST→frame p50 \(String(format: "%.0f", summary.p50)) ms p99 \(String(format: "%.0f", summary.p99)) ms, server RSS \(server.residentMegabytes()) MiB")
            group.cancelAll()
        }
    }
}

/// A `newsalert serve` child process on a free port with a temporary data directory, and an editor key.
struct ServeChild: Sendable {
    let process: Process?
    let baseURL: String
    let editorKey: String
    let directory: String?
    var bootstrapServers = ""
    var pid: Int32 { process?.processIdentifier ?? -1 }

    static func start(extraArguments: [String] = [], environment: [String: String] = [:]) async throws -> ServeChild {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("newsalert-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try freeTCPPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = ["serve", "--port", "\(port)", "--data-dir", directory] + extraArguments
        process.environment = ProcessInfo.processInfo.environment.merging(["NEWSALERT_LOG_LEVEL": "error"].merging(environment) { _, new in new }) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line names the embedded broker: `bootstrap.servers=host:port,...`.
        var firstLine = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), let value = byte.first, value != 0x0A { firstLine.append(value) }
        let bootstrap = String(decoding: firstLine, as: UTF8.self).replacingOccurrences(of: "bootstrap.servers=", with: "")
        let baseURL = "http://127.0.0.1:\(port)"
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        for _ in 0..<300 {
            if let response = try? await http.execute(HTTPClientRequest(url: baseURL + "/readyz"), timeout: .seconds(2)), response.status == .ok { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let key = try AppDatabase.open(directory: directory).createAPIKey(role: .editor, label: "bench").secret
        // The consumer groups need a few seconds to be assigned their partitions.
        try await Task.sleep(for: .seconds(5))
        return ServeChild(process: process, baseURL: baseURL, editorKey: key, directory: directory, bootstrapServers: bootstrap)
    }

    func postBreaking(_ headline: String) async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        let client = IngestClient(baseURL: baseURL, apiKey: editorKey, http: http)
        let body = try JSONSerialization.data(withJSONObject: ["kind": "breaking", "headline": headline])
        let answer = try await client.post(path: "/v1/events", json: body, idempotencyKey: nil)
        guard answer.status == 202 else { throw ValidationError("POST /v1/events answered \(answer.status): \(answer.problem)") }
    }

    func residentMegabytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").compactMap({ Int($0) }).first else { return -1 }
        return kilobytes / 1024
    }

    func stop() {
        process?.terminate()
        process?.waitUntilExit()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}
