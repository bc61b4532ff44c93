import ArgumentParser
import AsyncHTTPClient
import Crypto
import Foundation

/// `newsalert publish`: post one item, or a JSON Lines file of items, to the ingest API.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish a breaking item or article (or a .jsonl file of them) through the HTTP API.",
        discussion: """
            Each item gets an Idempotency-Key (for a file: derived from the file name, line number and content),
            so running the same command again publishes nothing twice.
            """)

    @Option(help: "Base URL of newsalert. Env: NEWSALERT_URL.") var url: String?
    @Option(help: "Editor or admin API key. Env: NEWSALERT_API_KEY.") var apiKey: String?
    @Option(help: "A JSON Lines file, one event per line (fields as in schemas/news-event-input.schema.json).") var file: String?
    @Option(help: "Parallel requests when publishing a file.") var concurrency: Int = 8

    @Option(help: "Headline.") var headline: String?
    @Option(help: "breaking, article, opinion, analysis, blog or feature.") var kind: String = "breaking"
    @Option(help: "Section, e.g. Politics.") var section: String?
    @Option(name: .customLong("region"), help: "Region, e.g. MENA; repeatable.") var regions: [String] = []
    @Option(name: .customLong("tag"), help: "Tag; repeatable.") var tags: [String] = []
    @Option(help: "1 (flash) … 9 (routine).") var urgency: Int?
    @Option(help: "Summary.") var summary: String?
    @Option(help: "Body text.") var body: String?
    @Option(help: "Byline.") var byline: String?
    @Option(help: "Idempotency-Key for a single item (default: random).") var idempotencyKey: String?

    func validate() throws {
        guard (file == nil) != (headline == nil) else { throw ValidationError("give either --headline or --file") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let key = apiKey ?? environment["NEWSALERT_API_KEY"], !key.isEmpty else {
            throw ValidationError("an API key is needed: --api-key or NEWSALERT_API_KEY (create one with `newsalert keys create --role editor`)")
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = IngestClient(baseURL: (url ?? environment["NEWSALERT_URL"] ?? "http://127.0.0.1:8080").trimmingSuffix("/"), apiKey: key, http: http)
        do {
            if let file { try await publishFile(file, client: client) } else { try await publishOne(client: client) }
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func publishOne(client: IngestClient) async throws {
        var event: [String: Any] = ["kind": kind, "headline": headline ?? ""]
        event["section"] = section
        if !regions.isEmpty { event["regions"] = regions }
        if !tags.isEmpty { event["tags"] = tags }
        event["urgency"] = urgency
        event["summary"] = summary
        event["body"] = body
        event["byline"] = byline
        let answer = try await client.post(path: "/v1/events", json: try JSONSerialization.data(withJSONObject: event), idempotencyKey: idempotencyKey ?? UUID().uuidString)
        guard answer.status == 202, let json = answer.json else {
            FileHandle.standardError.write(Data("rejected: \(answer.problem)\n".utf8))
            throw ExitCode.failure
        }
        printLine("accepted \(json["id"] ?? "") topic=\(json["topic"] ?? "") partition=\(json["partition"] ?? "") offset=\(json["offset"] ?? "")")
    }

    private func publishFile(_ path: String, client: IngestClient) async throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { (number: $0.offset + 1, text: String($0.element)) }
            .filter { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty }
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        let progress = ProgressBar(total: lines.count)
        var accepted = 0
        var rejected: [(line: Int, reason: String)] = []
        try await withThrowingTaskGroup(of: (Int, IngestClient.Answer?).self) { group in
            var pending = lines.makeIterator()
            func startNext() {
                guard let line = pending.next() else { return }
                group.addTask {
                    let key = "publish-" + SHA256.hash(data: Data("\(fileName)\n\(line.number)\n\(line.text)".utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
                    return (line.number, try await client.post(path: "/v1/events", json: Data(line.text.utf8), idempotencyKey: key))
                }
            }
            for _ in 0..<concurrency { startNext() }
            while let (lineNumber, answer) = try await group.next() {
                if let answer, answer.status == 202 { accepted += 1 } else { rejected.append((lineNumber, answer?.problem ?? "no answer")) }
                progress.advance()
                startNext()
            }
        }
        progress.finish()
        printLine("accepted \(accepted), rejected \(rejected.count) of \(lines.count) items in \(fileName)")
        for item in rejected.sorted(by: { $0.line < $1.line }) {
            printLine("  line \(item.line): \(item.reason)")
        }
        if !rejected.isEmpty { throw ExitCode(2) }
    }
}

/// A one-line progress bar on standard error (only when it is a terminal).
final class ProgressBar: @unchecked Sendable {
    private let total: Int
    private var done = 0
    private let isTerminal = isatty(STDERR_FILENO) == 1

    init(total: Int) { self.total = total }

    func advance() {
        done += 1
        guard isTerminal else { return }
        let width = 30
        let filled = total == 0 ? width : done * width / total
        FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(done)/\(total)".utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
