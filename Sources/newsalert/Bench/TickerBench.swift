import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NewsAlertStore
import NIOConcurrencyHelpers
import NIOCore

/// `newsalert bench ticker`: one breaking item to N ticker clients, and the same harness against a bare broadcast server.
struct TickerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticker",
        abstract: "One alert to N ticker clients: p50/p99/last time from the POST, frames/s, server RSS per connection; then a bare broadcast server with the same clients.",
        discussion: """
            Starts `newsalert serve` (embedded broker) and --servers - 1 more `newsalert ticker` processes reading its
            alerts.ticker (each with a hub of its own, on a port of its own; clients are spread over them), connects
            --clients clients from --client-processes processes (each on a loopback source address of its own, so no
            process needs more than 20,000 open files and no address runs out of ephemeral ports), posts one breaking
            item and times each client's frame from the POST (wall clock, same machine). RSS per connection is the
            servers' RSS growth from before the clients connected, divided by the connections. Then the same clients
            against `bench ticker-bare` (a minimal Hummingbird WebSocket route writing one pre-encoded frame to every
            connection): the limit of this machine with this harness.
            --via URL connects the clients through a proxy (Pushpin in front of the serve process, which must then have
            been started with --grip-key and --grip-publish: use --server); the bare round is skipped.
            """)

    enum Transport: String, ExpressibleByArgument, Sendable {
        case ws, sse
    }

    @Option(help: "Clients.") var clients: Int = 10_000
    @Option(help: "ws (GET /v1/ticker) or sse (GET /v1/ticker/stream).") var transport: Transport = .ws
    @Option(help: "Ticker processes (the serve process and this many - 1 `newsalert ticker`).") var servers: Int = 1
    @Option(help: "Client processes (default: one per 5,000 clients).") var clientProcesses: Int?
    @Option(help: "Connections one client process sets up at once.") var connectConcurrency: Int = 200
    @Option(help: "Connect the clients through this proxy base URL (http://host:port) instead of to the ticker processes.") var via: String?
    @Option(help: "Use this running server (its base URL) instead of starting one; needs --api-key.") var server: String?
    @Option(help: "Editor API key for --server.") var apiKey: String?
    @Flag(help: "Skip the bare broadcast round.") var skipBare = false

    func run() async throws {
        CommandLogging.bootstrap()
        let serve: ServeChild
        if let url = self.server, let apiKey {
            serve = ServeChild(process: nil, baseURL: url, editorKey: apiKey, directory: nil)
        } else {
            serve = try await ServeChild.start()
        }
        defer { serve.stop() }
        var tickers: [ServeChild] = []
        defer { tickers.forEach { $0.stop() } }
        for _ in 1..<max(1, servers) {
            tickers.append(try await ServeChild.startTicker(bootstrapServers: serve.bootstrapServers))
        }
        // One item through the whole pipeline first, so the measured one finds every stage warm.
        // Words of their own each run, so a reused server (--server) takes neither item for a repeat of an earlier one.
        func words() -> String { (0..<8).map { _ in String(UUID().uuidString.prefix(6)).lowercased() }.joined(separator: " ") }
        try await serve.postBreaking("Bench warm-up item in Beirut: \(words())")
        try await Task.sleep(for: .seconds(3))

        let path = transport == .sse ? "/v1/ticker/stream?backlog=0" : "/v1/ticker?backlog=0"
        let targets = via.map { [Self.hostPort($0)] } ?? ([serve] + tickers).map { Self.hostPort($0.baseURL) }
        printLine("bench ticker: \(clients) \(transport.rawValue) clients on \(targets.joined(separator: ","))\(via.map { " (through \($0))" } ?? ""), \(1 + tickers.count) ticker process(es)")
        let round = try await measure(targets: targets, path: path, serverPIDs: ([serve] + tickers).map(\.pid)) {
            try await serve.postBreaking("Bench ticker item in Kawnin: \(words())")
        }
        round.print(label: "newsalert")

        guard via == nil, !skipBare else { return }
        let barePort = try freeTCPPort()
        let bare = try Self.spawn(["bench", "ticker-bare", "--port", "\(barePort)"])
        defer { bare.terminate(); bare.waitUntilExit() }
        try await Self.waitForPort(barePort)
        printLine("bare broadcast server: same harness, \(clients) ws clients on 127.0.0.1:\(barePort)")
        let baseline = try await measure(targets: ["127.0.0.1:\(barePort)"], path: "/v1/ticker", serverPIDs: [bare.processIdentifier]) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(barePort)/fire")
            request.method = .POST
            _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        }
        baseline.print(label: "bare")
        printLine("summary: ticker \(round.delivered) \(transport.rawValue) clients, p99 \(String(format: "%.0f", round.summary.p99)) ms (bare \(String(format: "%.0f", baseline.summary.p99)) ms), frames/s ratio to bare \(String(format: "%.2f", round.framesPerSecond / baseline.framesPerSecond))")
    }

    struct Round {
        let connected: Int
        let failed: Int
        let delivered: Int
        let summary: LatencySummary
        let framesPerSecond: Double
        let rssBeforeKiB: Int
        let rssAfterKiB: Int

        func print(label: String) {
            let perConnection = connected > 0 ? Double(rssAfterKiB - rssBeforeKiB) * 1024 / Double(connected) : .nan
            printLine("\(label): connected \(connected) (\(failed) failed), delivered \(delivered)")
            printLine("\(label): POST→frame p50 \(String(format: "%.1f", summary.p50)) ms, p99 \(String(format: "%.1f", summary.p99)) ms, last \(String(format: "%.1f", summary.max)) ms")
            printLine("\(label): \(formatRate(framesPerSecond)) frames/s (first to last client); server RSS \(rssBeforeKiB / 1024) → \(rssAfterKiB / 1024) MiB, \(formatRate(perConnection)) bytes per connection")
        }
    }

    /// Connects the clients (child processes), arms them, runs `post`, collects the arrival times.
    func measure(targets: [String], path: String, serverPIDs: [Int32], post: () async throws -> Void) async throws -> Round {
        let processes = max(1, clientProcesses ?? (clients + 4_999) / 5_000)
        let rssBefore = serverPIDs.map(Self.residentKiB).reduce(0, +)
        var children: [(Process, Pipe, FileHandle)] = []
        defer { for (process, _, _) in children where process.isRunning { process.terminate() } }
        for index in 0..<processes {
            let count = clients / processes + (index < clients % processes ? 1 : 0)
            let input = Pipe(), output = Pipe()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            process.arguments = ["bench", "ticker-clients", "--targets", targets.joined(separator: ","), "--path", path, "--transport", transport.rawValue,
                                 "--count", "\(count)", "--source", "127.0.0.\(2 + index % 250)", "--connect-concurrency", "\(connectConcurrency)"]
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            children.append((process, input, output.fileHandleForReading))
        }
        var connected = 0, failed = 0
        for (_, _, output) in children {
            let parts = Self.readLine(output).split(separator: " ")
            guard parts.first == "connected", parts.count == 3 else { throw ValidationError("a client process did not connect: \(parts)") }
            connected += Int(parts[1]) ?? 0
            failed += Int(parts[2]) ?? 0
        }
        // A proxy answers before it has subscribed the connection to its channel: give it time to catch up.
        try await Task.sleep(for: .seconds(via == nil ? 1 : 5))
        let rssAfter = serverPIDs.map(Self.residentKiB).reduce(0, +)
        for (_, input, _) in children { input.fileHandleForWriting.write(Data("arm\n".utf8)) }
        let posted = Date().timeIntervalSince1970
        try await post()
        var times: [Double] = []
        for (_, _, output) in children {
            times += Self.readLine(output).split(separator: " ").dropFirst().compactMap { Double($0) }.map { ($0 - posted) * 1000 }
        }
        let summary = LatencySummary(times)
        let spread = ((times.max() ?? 0) - (times.min() ?? 0)) / 1000
        return Round(connected: connected, failed: failed, delivered: times.count, summary: summary,
                     framesPerSecond: Double(times.count) / max(spread, 1e-6), rssBeforeKiB: rssBefore, rssAfterKiB: rssAfter)
    }

    static func readLine(_ handle: FileHandle) -> String {
        var line = Data()
        while let byte = try? handle.read(upToCount: 1), let value = byte.first, value != 0x0A { line.append(value) }
        return String(decoding: line, as: UTF8.self)
    }

    static func hostPort(_ url: String) -> String {
        url.replacingOccurrences(of: "http://", with: "").split(separator: "/").first.map(String.init) ?? url
    }

    static func spawn(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitForPort(_ port: Int) async throws {
        for _ in 0..<300 {
            if (try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/"), timeout: .seconds(2))) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("nothing listens on \(port)")
    }

    static func residentKiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").compactMap({ Int($0) }).first else { return 0 }
        return kilobytes
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

    /// A `newsalert ticker` process reading `bootstrapServers`, on a free port with a data directory of its own.
    static func startTicker(bootstrapServers: String) async throws -> ServeChild {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("newsalert-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try freeTCPPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = ["ticker", "--bootstrap-servers", bootstrapServers, "--port", "\(port)", "--data-dir", directory]
        process.environment = ProcessInfo.processInfo.environment.merging(["NEWSALERT_LOG_LEVEL": "error"]) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let baseURL = "http://127.0.0.1:\(port)"
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        for _ in 0..<300 {
            if let response = try? await http.execute(HTTPClientRequest(url: baseURL + "/readyz"), timeout: .seconds(2)), response.status == .ok { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return ServeChild(process: process, baseURL: baseURL, editorKey: "", directory: directory, bootstrapServers: bootstrapServers)
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
