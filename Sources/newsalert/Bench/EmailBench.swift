import ArgumentParser
import Foundation
import NewsAlertDelivery

/// `newsalert bench email`: messages/s into an SMTP relay through the pooled SMTP client.
struct EmailBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "email",
        abstract: "Messages/s into an SMTP relay (Postfix's smtp-sink unless --relay is given) through newsalert's SMTP pool.",
        discussion: "Compare with Postfix's own client: smtp-source -s 8 -l SIZE -m COUNT -c HOST:PORT into the same sink.")

    @Option(help: "Relay HOST:PORT; without it a local smtp-sink is started on a free port.") var relay: String?
    @Option(help: "Messages to send.") var messages: Int = 20_000
    @Option(help: "Approximate message body size in bytes.") var size: Int = 2048
    @Option(help: "Connections in the pool.") var connections: Int = 4

    func run() async throws {
        CommandLogging.bootstrap()
        var sink: Process?
        let address: String
        if let relay {
            address = relay
        } else {
            let port = try freeTCPPort()
            sink = try Self.startSink(port: port)
            address = "127.0.0.1:\(port)"
            try await Task.sleep(for: .milliseconds(300))
        }
        defer { sink?.terminate() }
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--relay must be HOST:PORT") }
        let pool = try SMTPRelayPool(
            configuration: SMTPRelayConfiguration(host: String(parts[0]), port: port, tls: .startTLSIfAvailable, heloName: "bench.newsalert.invalid", maximumMessagesPerConnection: 1_000_000),
            maximumConnections: connections)
        let from = try EmailAddress("alerts@newsalert.invalid", displayName: "newsalert")
        let to = try EmailAddress("desk@example.com")
        let body = String(repeating: "Breaking news line for the benchmark, with enough words to fill a paragraph.\n", count: max(1, size / 78))
        printLine("bench email: \(messages) messages of ~\(size) bytes via \(address), \(connections) connections\(relay == nil ? " (smtp-sink started here)" : "")")
        let result = try await WebhookBench.loop(count: messages, concurrency: connections * 2) { index in
            let message = MailMessage(from: from, to: [to], subject: "[BREAKING] Benchmark alert \(index)", textBody: body, htmlBody: nil)
            _ = try await pool.send(message)
            return true
        }
        await pool.shutdown()
        printLine("sent: \(result.succeeded) of \(messages), \(formatRate(result.rate)) messages/s, p50 \(String(format: "%.2f", result.latency.p50)) ms, p99 \(String(format: "%.2f", result.latency.p99)) ms")
        printLine("summary: email \(formatRate(result.rate)) messages/s (\(size) B, \(connections) connections)")
    }

    static func startSink(port: Int) throws -> Process {
        let path = "/usr/sbin/smtp-sink"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ValidationError("\(path) not found (Debian package postfix); pass --relay HOST:PORT instead")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-u", "root", "127.0.0.1:\(port)", "256"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// A TCP port that was free a moment ago on 127.0.0.1.
func freeTCPPort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw ValidationError("cannot create a socket") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw ValidationError("cannot bind a socket") }
    return Int(UInt16(bigEndian: address.sin_port))
}
