import ArgumentParser
import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Logging
import NewsAlertStore
import NIOConcurrencyHelpers
import NIOCore

/// `newsalert bench audience`: one FLASH to N subscribers imported through the bulk path, measured at receivers that
/// check every signature.
struct AudienceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audience",
        abstract: "Import N webhook subscribers (bulk path), post one FLASH, and time it until every receiver verified its alert.",
        discussion: """
            Starts `newsalert serve` as a child process and a receiver on 127.0.0.1 in this process. Each subscriber has
            its own webhook path and its own `whsec_` secret (brought in its import line); the receiver checks each
            request's Standard Webhooks signature with that secret (HMAC-SHA256, swift-crypto) and counts distinct
            webhook-ids. Prints the import time, POST → every alert queued from the channel topic (the event's progress),
            POST → first and last verified delivery, alerts/s, the server's RSS, and
            `delivered N/N first … ms last … s`.
            """)

    @Option(help: "Subscribers to import.") var subscribers: Int = 10_000
    @Option(help: "Channel kinds (only webhook is measured at a receiver).") var channels: String = "webhook"
    @Option(help: "Longest wait for the last delivery, in seconds.") var timeout: Double = 600

    func validate() throws {
        guard subscribers >= 1 else { throw ValidationError("--subscribers must be at least 1") }
        guard channels.split(separator: ",").allSatisfy({ $0 == "webhook" }) else {
            throw ValidationError("--channels: only webhook is measured so far")
        }
    }

    func run() async throws {
        CommandLogging.bootstrap()
        var logger = CommandLogging.logger("bench")
        logger.logLevel = .warning
        let receiver = VerifyingReceiver(subscribers: subscribers)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let base = try await receiver.start(in: &group, logger: logger)
            let server = try await ServeChild.start(extraArguments: ["--webhook-allow", "127.0.0.1/32", "--flash-approval", "off"])
            defer { server.stop() }
            guard let directory = server.directory else { throw ValidationError("the server has no data directory") }
            let admin = try AppDatabase.open(directory: directory).createAPIKey(role: .admin, label: "bench").secret
            printLine("bench audience: \(subscribers) webhook subscribers through \(server.baseURL), receiver \(base)")

            let file = directory + "/audience.jsonl"
            try receiver.writeImportFile(file, baseURL: base)
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let summary = try await SubscriberImportClient(http: http, baseURL: server.baseURL, apiKey: admin)
                .importFile(file, reportPath: directory + "/audience.report.jsonl", showProgress: false)
            printLine("import: \(summary.line) (\(formatRate(Double(summary.lines) / max(summary.seconds, 0.001))) subscribers/s), server RSS \(server.residentMegabytes()) MiB")
            guard summary.created + summary.unchanged == subscribers else { throw ValidationError("the import did not create every subscriber: \(summary.line)") }

            let client = IngestClient(baseURL: server.baseURL, apiKey: server.editorKey, http: http)
            let posted = Date()
            receiver.start(at: posted)
            let body = try JSONSerialization.data(withJSONObject: ["kind": "breaking", "urgency": 1, "headline": "FLASH: bench audience ceasefire announced"])
            let answer = try await client.post(path: "/v1/events", json: body, idempotencyKey: nil)
            guard answer.status == 202, let eventID = answer.json?["id"] as? String else { throw ValidationError("POST /v1/events answered \(answer.status): \(answer.problem)") }
            let accepted = Date().timeIntervalSince(posted)

            var queuedAt: Double?
            var peakRSS = server.residentMegabytes()
            let deadline = Date().addingTimeInterval(timeout)
            while receiver.verifiedCount < subscribers, Date() < deadline {
                try await Task.sleep(for: .milliseconds(100))
                peakRSS = max(peakRSS, server.residentMegabytes())
                if queuedAt == nil {
                    let progress = try await client.get(path: "/v1/events/\(eventID)").json?["progress"] as? [String: Any]
                    if (progress?["on_topics"] as? Int ?? 0) >= subscribers { queuedAt = Date().timeIntervalSince(posted) }
                }
            }
            let result = receiver.result
            try await http.shutdown()
            printLine("POST→202 \(Int(accepted * 1000)) ms; POST→all \(subscribers) alerts taken from alerts.webhook by the delivery worker: \(queuedAt.map { String(format: "%.1f s", $0) } ?? "not within the run")")
            printLine("verified \(result.verified) distinct alerts (\(result.repeats) repeats under the same webhook-id, \(result.badSignatures) bad signatures); \(formatRate(Double(result.verified) / max(result.last ?? 1, 0.001))) alerts/s from POST to the last; server RSS peak \(peakRSS) MiB")
            printLine("delivered \(result.verified)/\(subscribers) first \(Int((result.first ?? .nan) * 1000)) ms last \(String(format: "%.1f", result.last ?? .nan)) s")
            group.cancelAll()
            if result.verified < subscribers || result.badSignatures > 0 { throw ExitCode.failure }
        }
    }
}

/// A webhook receiver for `bench audience`: `/s/<n>` belongs to subscriber n, whose secret it knows; every request's
/// signature is checked, and the time of each subscriber's first verified alert is kept.
final class VerifyingReceiver: Sendable {
    struct Result {
        var verified = 0
        var repeats = 0
        var badSignatures = 0
        var first: Double?
        var last: Double?
    }

    private struct State {
        var started: Date?
        var seen: Set<String> = []
        var result = Result()
    }

    let secrets: [Data]
    let encodedSecrets: [String]
    private let state = NIOLockedValueBox(State())

    init(subscribers: Int) {
        let keys = (0..<subscribers).map { _ in SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } }
        secrets = keys
        encodedSecrets = keys.map { "whsec_" + $0.base64EncodedString() }
    }

    var verifiedCount: Int { state.withLockedValue { $0.result.verified } }
    var result: Result { state.withLockedValue { $0.result } }

    func start(at date: Date) { state.withLockedValue { $0.started = date } }

    /// One import line a subscriber: its own path and secret, one rule for every item.
    func writeImportFile(_ path: String, baseURL: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var buffer = Data()
        for (index, secret) in encodedSecrets.enumerated() {
            buffer.append(Data(#"{"external_id":"bench-\#(index)","name":"Bench reader \#(index)","time_zone":"UTC","channels":[{"kind":"webhook","url":"\#(baseURL)/s/\#(index)","secret":"\#(secret)"}],"subscriptions":[{"rule":{"all":true}}]}"#.utf8))
            buffer.append(0x0A)
            if buffer.count > 1 << 20 {
                try handle.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: buffer)
    }

    func start(in group: inout ThrowingTaskGroup<Void, any Error>, logger: Logger) async throws -> String {
        let router = Router()
        router.post("/s/{n}") { request, context -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let number = context.parameters.get("n", as: Int.self), self.secrets.indices.contains(number) else { return .notFound }
            self.record(subscriber: number, headers: request.headers, body: Data(buffer: body))
            return .noContent
        }
        let (urls, continuation) = AsyncStream.makeStream(of: String.self)
        var logger = logger
        logger.logLevel = .critical  // its cancellation at the end of the run is not news
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "bench-audience-receiver", backlog: 4096),
            onServerRunning: { channel in continuation.yield("http://127.0.0.1:\(channel.localAddress?.port ?? 0)") }, logger: logger)
        group.addTask { try await app.runService() }
        var iterator = urls.makeAsyncIterator()
        guard let url = await iterator.next() else { throw CancellationError() }
        return url
    }

    /// Checks `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` against the subscriber's secret.
    private func record(subscriber: Int, headers: HTTPFields, body: Data) {
        let id = headers[.init("webhook-id")!] ?? ""
        let timestamp = headers[.init("webhook-timestamp")!] ?? ""
        let signatures = (headers[.init("webhook-signature")!] ?? "").split(separator: " ")
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).".utf8) + body, using: SymmetricKey(data: secrets[subscriber]))
        let expected = "v1," + Data(mac).base64EncodedString()
        let valid = !id.isEmpty && signatures.contains { $0 == expected }
        let now = Date()
        state.withLockedValue { state in
            guard valid else { state.result.badSignatures += 1; return }
            guard state.seen.insert(id).inserted else { state.result.repeats += 1; return }
            state.result.verified += 1
            let elapsed = state.started.map { now.timeIntervalSince($0) } ?? 0
            if state.result.first == nil { state.result.first = elapsed }
            state.result.last = elapsed
        }
    }
}
