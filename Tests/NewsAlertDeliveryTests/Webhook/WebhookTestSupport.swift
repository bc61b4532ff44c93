import Foundation
import NIOConcurrencyHelpers
import Testing

import NewsAlertDelivery

/// A deterministic random number generator (SplitMix64) for jitter tests.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A resolver with fixed answers that counts its lookups; answers may change per call.
final class StubResolver: WebhookHostResolver {
    private let answers: [String: [[IPAddress]]]
    private let calls = NIOLockedValueBox<[String: Int]>([:])

    /// `answers[host]` lists the answer for the first, second, … lookup; the last one repeats.
    init(_ answers: [String: [[String]]]) {
        self.answers = answers.mapValues { $0.map { $0.map { IPAddress($0)! } } }
    }

    convenience init(_ fixed: [String: [String]]) {
        self.init(fixed.mapValues { [$0] })
    }

    func resolve(host: String) async throws -> [IPAddress] {
        let index = calls.withLockedValue { calls in
            defer { calls[host, default: 0] += 1 }
            return calls[host, default: 0]
        }
        guard let list = answers[host.lowercased()] else {
            throw HostResolutionError(host: host, reason: "Name or service not known")
        }
        return list[min(index, list.count - 1)]
    }

    func lookups(of host: String) -> Int {
        calls.withLockedValue { $0[host, default: 0] }
    }
}

/// Where the repository keeps its Python peers.
enum RepositoryPaths {
    /// This folder (symbolic links resolved), which holds the receiver script.
    static let testsFolder: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()

    /// The nearest ancestor holding a `.venv`: the repository root.
    static var repositoryRoot: URL? {
        var folder = testsFolder
        while folder.path != "/" {
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(".venv/bin/python").path) {
                return folder
            }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }

    static var python: URL? {
        if let override = ProcessInfo.processInfo.environment["NEWSALERT_PYTHON"] {
            return URL(fileURLWithPath: override)
        }
        return repositoryRoot?.appendingPathComponent(".venv/bin/python")
    }

    static var receiverScript: URL { testsFolder.appendingPathComponent("webhook_receiver.py") }
}

/// One request as the Python receiver saw it.
struct ReceivedWebhook: Decodable, Sendable {
    var index: Int
    var path: String
    var host: String?
    var webhookID: String?
    var webhookTimestamp: String?
    var signatureCount: Int
    var contentType: String?
    var body: String
    /// Per receiver secret, in the order given: whether `standardwebhooks` verified the request.
    var verified: [Bool]
    var verifyErrors: [String?]
    /// Per receiver secret: whether the body with one byte appended verified (it must not).
    var tamperedVerified: [Bool]
    var status: Int

    enum CodingKeys: String, CodingKey {
        case index, path, host, body, verified, status
        case webhookID = "webhook_id"
        case webhookTimestamp = "webhook_timestamp"
        case signatureCount = "signature_count"
        case contentType = "content_type"
        case verifyErrors = "verify_errors"
        case tamperedVerified = "tampered_verified"
    }
}

struct ReceiverError: Error, CustomStringConvertible {
    var description: String
}

/// The Python webhook receiver (`webhook_receiver.py`, Standard Webhooks reference library),
/// run as a child process on 127.0.0.1.
final class WebhookReceiver: @unchecked Sendable {
    let port: Int
    private let process: Process
    private let folder: URL

    var url: URL { URL(string: "http://127.0.0.1:\(port)/hook")! }
    private var logURL: URL { folder.appendingPathComponent("requests.jsonl") }

    private init(process: Process, port: Int, folder: URL) {
        self.process = process
        self.port = port
        self.folder = folder
    }

    /// The PEM certificate of the CA that issued the receiver's certificate, when it speaks HTTPS.
    var caCertificatePEM: [UInt8]? {
        (try? Data(contentsOf: folder.appendingPathComponent("ca.pem"))).map { Array($0) }
    }

    /// Starts a receiver that verifies with `secrets` and answers with `responses` in turn;
    /// with `tlsName` it speaks HTTPS with a certificate for that name only.
    static func start(secrets: [WebhookSecret], responses: [String] = ["200"], tlsName: String? = nil) async throws -> WebhookReceiver {
        guard let python = RepositoryPaths.python, FileManager.default.isExecutableFile(atPath: python.path) else {
            throw ReceiverError(description: "no Python virtual environment with standardwebhooks (.venv/bin/python) above \(RepositoryPaths.testsFolder.path)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("newsalert-webhook-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let readyFile = folder.appendingPathComponent("port")
        let stderrFile = folder.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)

        let process = Process()
        process.executableURL = python
        var arguments = [RepositoryPaths.receiverScript.path, "--log", folder.appendingPathComponent("requests.jsonl").path, "--ready-file", readyFile.path, "--max-seconds", "120"]
        for secret in secrets { arguments += ["--secret", secret.encoded] }
        for response in responses { arguments += ["--respond", response] }
        if let tlsName { arguments += ["--tls-name", tlsName, "--ca-file", folder.appendingPathComponent("ca.pem").path] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        try process.run()

        for _ in 0..<400 {  // up to 20 s for Python to start
            if let text = try? String(contentsOf: readyFile, encoding: .utf8), let port = Int(text) {
                return WebhookReceiver(process: process, port: port, folder: folder)
            }
            if !process.isRunning {
                let stderr = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
                throw ReceiverError(description: "webhook receiver exited: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw ReceiverError(description: "webhook receiver did not start")
    }

    /// Every request received so far, in order.
    func requests() throws -> [ReceivedWebhook] {
        guard let data = try? Data(contentsOf: logURL) else { return [] }
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(ReceivedWebhook.self, from: Data($0)) }
            .sorted { $0.index < $1.index }
    }

    /// Stops the receiver (SIGTERM, then SIGKILL after 5 s) and removes its files.
    func stop() async {
        if process.isRunning {
            process.terminate()
            for _ in 0..<100 where process.isRunning {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
            }
        }
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Runs `body` with a receiver, stopping it afterwards whatever happens.
func withReceiver<T>(
    secrets: [WebhookSecret],
    responses: [String] = ["200"],
    tlsName: String? = nil,
    _ body: (WebhookReceiver) async throws -> T
) async throws -> T {
    let receiver = try await WebhookReceiver.start(secrets: secrets, responses: responses, tlsName: tlsName)
    do {
        let result = try await body(receiver)
        await receiver.stop()
        return result
    } catch {
        await receiver.stop()
        throw error
    }
}

/// Runs `body` with a sender, shutting it down afterwards whatever happens.
func withSender<T>(
    policy: WebhookAddressPolicy,
    configuration: WebhookSender.Configuration = .init(timeout: .seconds(10)),
    _ body: (WebhookSender) async throws -> T
) async throws -> T {
    let sender = WebhookSender(policy: policy, configuration: configuration)
    do {
        let result = try await body(sender)
        await sender.shutdown()
        return result
    } catch {
        await sender.shutdown()
        throw error
    }
}

/// The policy the local receiver tests use: loopback 127.0.0.1 only.
let localReceiverPolicy = WebhookAddressPolicy(allowlist: ["127.0.0.1/32"])

func makeRequest(
    to url: URL,
    signer: WebhookSigner,
    endpointID: String = "endpoint-1",
    messageID: String = WebhookSigner.newMessageID(),
    body: String = #"{"type":"story.breaking","data":{"headline":"Test headline","score":0.93}}"#
) -> WebhookRequest {
    WebhookRequest(endpointID: endpointID, url: url, messageID: messageID, body: Data(body.utf8), signer: signer)
}
