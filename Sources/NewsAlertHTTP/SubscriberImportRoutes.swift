import Foundation
import Hummingbird
import NewsAlertCore
import NewsAlertStore
import NIOCore

/// Admin bulk routes: `POST /v1/subscribers/import` (NDJSON, one subscriber a line, idempotent upsert keyed by the
/// newsroom's `external_id`, answered by a per-line report) and `GET /v1/subscribers/export` (the same line shape,
/// streamed).
///
/// Memory stays bounded whatever the size of the file: lines are read as they arrive and written in batches of
/// `batchSize` (one transaction each, with their changelog records), and the report is spooled to a temporary
/// file and streamed back once the whole body was read, so a client that sends its whole body before reading
/// never deadlocks against the answer.
public struct SubscriberImportRoutes: Sendable {
    let database: AppDatabase
    let webhooks: any WebhookEndpointPolicy
    var batchSize = 1_000
    /// Longest accepted line; a longer one is reported and skipped.
    static let maxLineBytes = 64 * 1024

    public init(database: AppDatabase, webhooks: any WebhookEndpointPolicy) {
        self.database = database
        self.webhooks = webhooks
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.post("/v1/subscribers/import") { request, context in
            _ = try context.require(.admin)
            if let contentType = request.headers[.contentType]?.lowercased(),
               !["application/x-ndjson", "application/jsonl", "application/json-lines", "text/plain"].contains(where: contentType.hasPrefix) {
                throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send one JSON subscriber a line as application/x-ndjson")
            }
            let report = try ImportReportSpool()
            do {
                try await importLines(of: request.body, into: report)
                return report.response()
            } catch {
                report.discard()
                if error is APIError { throw error }
                context.logger.warning("subscriber import interrupted", metadata: ["error": "\(error)", "lines.read": "\(report.summary.lines)"])
                throw APIError(.badRequest, code: "invalid_body", message: "the request body could not be read to its end; the batches imported before line \(report.summary.lines + 1) stay imported (importing the file again is safe)")
            }
        }
        router.get("/v1/subscribers/export") { _, context in
            _ = try context.require(.admin)
            let database = self.database
            var headers = HTTPFields()
            headers[.contentType] = "application/x-ndjson"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                var after: String?
                while true {
                    let page = try await database.subscriberExportPage(after: after, limit: 500)
                    guard let last = page.last else { break }
                    var buffer = ByteBuffer()
                    for subscriber in page {
                        buffer.writeBytes(try SubscriberLineShape.exportLine(subscriber))
                        buffer.writeInteger(UInt8(ascii: "\n"))
                    }
                    try await writer.write(buffer)
                    after = last.subscriber.id
                }
                try await writer.finish(nil)
            })
        }
    }

    /// Reads the body line by line, checks each line, imports the good ones in batches and reports every line.
    ///
    /// While one batch is written (on the database's writer), the next is read and checked.
    private func importLines(of body: RequestBody, into report: ImportReportSpool) async throws {
        let importID = EntityID.make("imp_")
        let database = database
        var checker = ImportLineChecker(webhooks: webhooks)
        var batch = ImportBatch()
        var splitter = LineSplitter(maxLineBytes: Self.maxLineBytes)

        try await withThrowingTaskGroup(of: (ImportBatch, [SubscriberImportOutcome]).self) { writes in
            var writing = false
            func finishWrite() async throws {
                guard writing, let (done, outcomes) = try await writes.next() else { return }
                writing = false
                try report.append(done, outcomes)
            }
            func flush() async throws {
                try await finishWrite()
                let ready = batch
                batch = ImportBatch()
                writes.addTask {
                    (ready, ready.imports.isEmpty ? [] : try await database.importSubscribers(ready.imports, importID: importID))
                }
                writing = true
            }
            func take(_ line: LineSplitter.Line) async throws {
                report.summary.lines = line.number
                switch line.content {
                case .blank: return
                case .tooLong:
                    batch.rejected[line.number] = SubscriberLineShape.rejection(
                        line: line.number, externalID: nil, [FieldProblem(field: "", problem: "the line is longer than \(Self.maxLineBytes) bytes")])
                case .text(let bytes):
                    switch await checker.check(bytes, line: line.number) {
                    case .success(let checked): batch.imports.append(checked)
                    case .failure(let failure): batch.rejected[line.number] = SubscriberLineShape.rejection(line: line.number, externalID: failure.externalID, failure.problems)
                    }
                }
                if batch.imports.count + batch.rejected.count >= batchSize { try await flush() }
            }

            for try await buffer in body {
                for line in splitter.split(buffer) { try await take(line) }
            }
            if let last = splitter.finish() { try await take(last) }
            try await flush()
            try await finishWrite()
        }
    }
}

/// Lines of one import transaction: the checked ones, and the reports of the rejected ones (written with the
/// batch's outcomes, in line order).
struct ImportBatch: @unchecked Sendable {
    var imports: [SubscriberImport] = []
    /// JSON objects of `SubscriberLineShape.rejection`; only strings, numbers, arrays and dictionaries of them.
    var rejected: [Int: [String: Any]] = [:]
}

/// Splits a byte stream into numbered lines (`\n` or `\r\n`), skipping the rest of any line over the limit.
struct LineSplitter {
    struct Line {
        enum Content { case blank, tooLong, text([UInt8]) }
        var number: Int
        var content: Content
    }

    let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var overflowed = false
    private var number = 0

    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    mutating func split(_ buffer: ByteBuffer) -> [Line] {
        var lines: [Line] = []
        buffer.withUnsafeReadableBytes { bytes in
            var start = 0
            while start < bytes.count {
                guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                    append(bytes[start...])
                    return
                }
                append(bytes[start..<newline])
                lines.append(endLine())
                start = newline + 1
            }
        }
        return lines
    }

    /// The last line when the stream did not end with a newline.
    mutating func finish() -> Line? {
        pending.isEmpty && !overflowed ? nil : endLine()
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer.SubSequence) {
        guard !overflowed else { return }
        if pending.count + bytes.count > maxLineBytes {
            overflowed = true
            pending.removeAll()
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    private mutating func endLine() -> Line {
        number += 1
        defer {
            pending.removeAll(keepingCapacity: true)
            overflowed = false
        }
        if overflowed { return Line(number: number, content: .tooLong) }
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        if pending.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return Line(number: number, content: .blank) }
        return Line(number: number, content: .text(pending))
    }
}

/// The import report, one JSON object a line, spooled to a temporary file and streamed back as the answer.
final class ImportReportSpool {
    struct Summary {
        var lines = 0
        var created = 0
        var updated = 0
        var unchanged = 0
        var rejected = 0

        mutating func count(_ status: SubscriberImportOutcome.Status) {
            switch status {
            case .created: created += 1
            case .updated: updated += 1
            case .unchanged: unchanged += 1
            case .duplicate: rejected += 1
            }
        }
    }

    var summary = Summary()
    private let url: URL
    private let handle: FileHandle
    private var buffer = Data()

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("newsalert-import-\(UUID().uuidString).ndjson")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw APIError(.serviceUnavailable, code: "no_spool", message: "the import report could not be spooled to the temporary directory")
        }
        handle = try FileHandle(forWritingTo: url)
    }

    /// Reports a written batch: its outcomes and its rejected lines, in line order.
    func append(_ batch: ImportBatch, _ outcomes: [SubscriberImportOutcome]) throws {
        var merged = outcomes.map { ($0.line, SubscriberLineShape.report($0)) } + batch.rejected.map { ($0.key, $0.value) }
        merged.sort { $0.0 < $1.0 }
        for (_, line) in merged { try append(line) }
        for outcome in outcomes { summary.count(outcome.status) }
        summary.rejected += batch.rejected.count
    }

    func append(_ line: [String: Any]) throws {
        buffer.append(try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]))
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 20 { try drain() }
    }

    private func drain() throws {
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// The answer: every line's report, then `{"summary": …}`; the file is removed once sent (or abandoned).
    func response() -> Response {
        let closing: [String: Any] = ["summary": [
            "lines": summary.lines, "created": summary.created, "updated": summary.updated,
            "unchanged": summary.unchanged, "rejected": summary.rejected,
        ]]
        do {
            try append(closing)
            try drain()
            try handle.close()
        } catch {
            discard()
            return Response(status: .serviceUnavailable)
        }
        let url = url
        let length = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        return Response(status: .ok, headers: headers, body: ResponseBody(contentLength: length) { writer in
            defer { try? FileManager.default.removeItem(at: url) }
            let reader = try FileHandle(forReadingFrom: url)
            defer { try? reader.close() }
            while let chunk = try reader.read(upToCount: 256 * 1024), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        })
    }

    func discard() {
        try? handle.close()
        try? FileManager.default.removeItem(at: url)
    }
}
