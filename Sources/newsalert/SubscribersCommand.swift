import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// `newsalert subscribers import FILE.jsonl`: bulk subscribers through `POST /v1/subscribers/import`.
struct SubscribersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribers",
        abstract: "Import subscribers in bulk through the HTTP API.",
        subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import (create or update) one subscriber a line of a JSON Lines file, keyed by external_id.",
            discussion: """
                Each line: {"external_id", "name", "time_zone", "budget"?, "channels": [{"kind": "webhook", "url", "secret"?} |
                {"kind": "email", "address"}], "subscriptions": [{"rule": {...}}]}. Importing the same file again changes nothing.
                The per-line report (with the webhook secrets generated for new channels) goes to --report.
                """)

        @Argument(help: "The JSON Lines file.") var file: String
        @Option(help: "Base URL of newsalert. Env: NEWSALERT_URL.") var url: String?
        @Option(help: "Admin API key. Env: NEWSALERT_API_KEY.") var apiKey: String?
        @Option(help: "Where to write the per-line report (default: FILE.report.jsonl).") var report: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let key = apiKey ?? environment["NEWSALERT_API_KEY"], !key.isEmpty else {
                throw ValidationError("an admin API key is needed: --api-key or NEWSALERT_API_KEY (create one with `newsalert keys create --role admin`)")
            }
            let base = (url ?? environment["NEWSALERT_URL"] ?? "http://127.0.0.1:8080").trimmingSuffix("/")
            let reportPath = report ?? (file.hasSuffix(".jsonl") ? String(file.dropLast(6)) : file) + ".report.jsonl"
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let summary = try await SubscriberImportClient(http: http, baseURL: base, apiKey: key).importFile(file, reportPath: reportPath, showProgress: true)
                try await http.shutdown()
                printLine(summary.line)
                printLine("report: \(reportPath)")
                if summary.rejected > 0 { throw ExitCode(2) }
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
    }
}

/// Streams a JSON Lines file to `POST /v1/subscribers/import` and reads the per-line report back.
struct SubscriberImportClient: Sendable {
    let http: HTTPClient
    let baseURL: String
    let apiKey: String

    struct Summary: Sendable {
        var lines = 0, created = 0, updated = 0, unchanged = 0, rejected = 0
        var seconds = 0.0

        var line: String {
            "imported \(lines) lines in \(String(format: "%.1f", seconds)) s: \(created) created, \(updated) updated, \(unchanged) unchanged, \(rejected) rejected"
        }
    }

    /// Sends the file (its upload progress on standard error when `showProgress` and a terminal), writes the report
    /// to `reportPath` and prints up to 20 rejected lines on standard error.
    func importFile(_ path: String, reportPath: String, showProgress: Bool) async throws -> Summary {
        let size = try (FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        let started = Date()
        var request = HTTPClientRequest(url: baseURL + "/v1/subscribers/import")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Content-Type", value: "application/x-ndjson")
        let progress = UploadProgress(total: size, enabled: showProgress)
        request.body = .stream(FileChunks(path: path, progress: progress), length: .known(size))
        let response = try await http.execute(request, timeout: .hours(6))
        progress.finish()
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            throw ValidationError("the import was refused: HTTP \(response.status.code) \(String(buffer: body))")
        }
        guard FileManager.default.createFile(atPath: reportPath, contents: nil), let output = FileHandle(forWritingAtPath: reportPath) else {
            throw ValidationError("cannot write the report to \(reportPath)")
        }
        defer { try? output.close() }
        var summary = Summary()
        var pending = Data()
        var shownRejections = 0
        for try await chunk in response.body {
            let bytes = Data(buffer: chunk)
            try output.write(contentsOf: bytes)
            pending.append(bytes)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else { continue }
                if let totals = object["summary"] as? [String: Int] {
                    summary.lines = totals["lines"] ?? 0
                    summary.created = totals["created"] ?? 0
                    summary.updated = totals["updated"] ?? 0
                    summary.unchanged = totals["unchanged"] ?? 0
                    summary.rejected = totals["rejected"] ?? 0
                } else if object["status"] as? String == "rejected", shownRejections < 20 {
                    shownRejections += 1
                    let problems = (object["errors"] as? [[String: Any]] ?? []).map { "\($0["field"] ?? ""): \($0["problem"] ?? "")" }
                    FileHandle.standardError.write(Data("line \(object["line"] ?? ""): \(problems.joined(separator: "; "))\n".utf8))
                }
            }
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }
}

/// A file as an async sequence of 256 KiB buffers, counting what was handed to the upload.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let progress: UploadProgress

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        let progress: UploadProgress

        mutating func next() async throws -> ByteBuffer? {
            guard let handle, let chunk = try handle.read(upToCount: 256 * 1024), !chunk.isEmpty else {
                try? handle?.close()
                return nil
            }
            progress.advance(by: chunk.count)
            return ByteBuffer(bytes: chunk)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: FileHandle(forReadingAtPath: path), progress: progress)
    }
}

/// A progress bar of bytes uploaded, redrawn at most ten times a second.
final class UploadProgress: @unchecked Sendable {
    private let total: Int64
    private let enabled: Bool
    private let lock = NSLock()
    private var sent: Int64 = 0
    private var drawn = Date.distantPast
    private let started = Date()

    init(total: Int64, enabled: Bool) {
        self.total = total
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    func advance(by count: Int) {
        lock.lock()
        defer { lock.unlock() }
        sent += Int64(count)
        guard enabled, Date().timeIntervalSince(drawn) > 0.1 || sent == total else { return }
        drawn = Date()
        let width = 30
        let filled = total == 0 ? width : Int(sent * Int64(width) / total)
        let rate = Double(sent) / max(0.001, Date().timeIntervalSince(started)) / 1_048_576
        FileHandle.standardError.write(Data(
            "\r[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(sent * 100 / max(1, total))% \(String(format: "%.1f", rate)) MiB/s".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
