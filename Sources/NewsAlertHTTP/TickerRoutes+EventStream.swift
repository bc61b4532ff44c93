import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NewsAlertCore
import ServiceLifecycle

/// `GET /v1/ticker/stream`: the live ticker as Server-Sent Events (`text/event-stream`), for browsers, proxies and
/// CDNs that do not pass WebSocket. Same hub, query, filters, tokens and frames as `GET /v1/ticker`.
///
/// The stream:
/// - starts with `retry: 2000` (EventSource waits 2 s before it reconnects);
/// - every ticker item is `id: <epoch>:<position>`, `event: item`, `data: <the WebSocket item frame>` (a named event, so
///   `gap` and `error` can never be mistaken for items; EventSource clients listen with `addEventListener("item", …)`);
/// - a gap is `event: gap` with the WebSocket gap frame; its id is `<server epoch>:<from - 1>`, the point the client
///   still has everything up to (after a new epoch that is `<epoch>:-1`), so a reconnection that got nothing after
///   the gap is told about it again instead of skipping it;
/// - heartbeats are comment lines, `: heartbeat {"type":"heartbeat",…}`, every heartbeat interval (EventSource
///   ignores them; they keep proxies from closing a quiet stream);
/// - a client the hub dropped for falling too far behind gets `event: error` with `{"type":"error","status":503,
///   "code":"too_slow",…}`, then the stream ends (EventSource reconnects by itself and resumes from its last id).
///
/// Resume with the `Last-Event-ID` header (what EventSource sends when it reconnects; it replaces `since` and `epoch`
/// in the query, which EventSource keeps from the first connection) or with `?since=&epoch=`.
///
/// Refused before the stream starts, with the API's JSON error body: a request that does not accept
/// `text/event-stream` (406 `event_stream_required`: a client that did not ask for an endless stream does not get
/// one), a foreign browser `Origin` (403), an unknown `?token=` (401), a malformed `Last-Event-ID` or an invalid query
/// parameter (422 `invalid_fields`, naming each).
///
/// When the client goes away (the connection's input closes) or the server shuts down, the hub connection is released
/// at once, not at the next write.
extension TickerRoutes {
    /// The reconnection delay announced with `retry:` at the start of every stream.
    static let eventStreamRetry: Duration = .seconds(2)

    func addEventStream(to router: Router<NewsAlertRequestContext>) {
        router.get("/v1/ticker/stream") { request, context -> Response in
            try Self.requireEventStream(request)
            try checkOrigin(request, what: "event streams")
            let subscription = try await self.subscription(request, context, lastEventID: request.headers[Self.lastEventID])
            if try isGripProxied(request) { return try gripEventStream(subscription) }
            var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache", Self.accelBuffering: "no"]
            if let origin = request.headers[.origin], allowedOrigins.contains(origin) {
                // Another origin's page (`--ticker-origins`) reads the stream through CORS.
                headers[.accessControlAllowOrigin] = origin
                headers[.vary] = "Origin"
            }
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await streamEvents(subscription, request: request, channel: context.channel, writer: &writer)
            })
        }
    }

    private static let lastEventID = HTTPField.Name("Last-Event-ID")!
    private static let accelBuffering = HTTPField.Name("X-Accel-Buffering")!

    /// 406 unless the client asked for `text/event-stream` (EventSource always does).
    static func requireEventStream(_ request: Request) throws {
        let accepted = request.headers[values: .accept]
            .flatMap { $0.split(separator: ",") }
            .map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? "" }
        guard accepted.contains("text/event-stream") else {
            throw APIError(.notAcceptable, code: "event_stream_required",
                           message: "GET /v1/ticker/stream is an event stream: send Accept: text/event-stream (EventSource does)")
        }
    }

    private func streamEvents(_ subscription: Subscription, request: Request, channel: any Channel, writer: inout any ResponseBodyWriter) async throws {
        // From here on the hub writes the stream's bytes straight into the channel (`TickerConnection`); this task only
        // waits for the connection to end, then writes the error event if it was dropped and ends the response.
        let connection = try await hub.connect(
            filter: subscription.filter, after: subscription.since, epoch: subscription.epoch, backlog: subscription.backlog,
            channel: channel, transport: .eventStream, heartbeat: heartbeat, prelude: [.eventStreamPrelude(retry: Self.eventStreamRetry)])
        // The connection ends on the client's close (the connection's input ends), on graceful shutdown (EventSource
        // then reconnects, to this server or another), or when the hub drops it as too slow.
        // (`consumeWithInboundCloseHandler` needs the request body as the server made it: no middleware replaces it.)
        let ending = try await request.body.consumeWithInboundCloseHandler { _ in
            try await withGracefulShutdownHandler {
                try await connection.ended.futureResult.get()
            } onGracefulShutdown: {
                connection.end(.released)
            }
        } onInboundClosed: {
            connection.end(.released)
        }
        connection.remove()
        if ending == .tooSlow {
            let error = APIError(
                .serviceUnavailable, code: "too_slow",
                message: "too slow: more than \(hub.clientBufferLimit) frames behind; reconnect with Last-Event-ID")
            try await writer.write(ByteBuffer(string: Self.event("error", id: nil, data: String(decoding: error.frameData, as: UTF8.self))))
        }
        try await writer.finish(nil)
    }

    // MARK: - Event encoding

    /// One SSE event (a `data:` line per line of `data`; ticker frames are one line of JSON).
    static func event(_ type: String, id: String?, data: String) -> String {
        var text = ""
        if let id { text += "id: \(id)\n" }
        text += "event: \(type)\n"
        for line in data.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            text += "data: \(line)\n"
        }
        return text + "\n"
    }

    /// The SSE event of a hub frame (heartbeats are written as comments instead).
    static func event(for frame: TickerFrame) -> String {
        switch frame {
        case .item(let position, let epoch, _):
            return event("item", id: eventID(epoch: epoch, position: position), data: frame.json)
        case .encoded(let json):
            // Items the hub encoded once for every client: the id comes from the JSON's own position and epoch.
            let fields = Self.positionAndEpoch(ofItemJSON: json)
            return event("item", id: fields.flatMap { eventID(epoch: $0.epoch, position: $0.position) }, data: json)
        case .gap(let from, _, let epoch, _):
            return event("gap", id: eventID(epoch: epoch, position: from - 1), data: frame.json)
        case .heartbeat:
            return ": heartbeat \(frame.json)\n\n"
        }
    }

    /// `<epoch>:<position>`, or nil when the epoch cannot be an SSE id (a line break or NUL in it).
    static func eventID(epoch: String, position: Int64) -> String? {
        guard !epoch.isEmpty, !epoch.contains(where: { $0.isNewline || $0 == "\0" }) else { return nil }
        return "\(epoch):\(position)"
    }

    /// Parses a `Last-Event-ID`: `<epoch>:<position>` (the epoch is everything before the last colon), or nil.
    static func eventStreamPosition(_ text: String) -> (epoch: String, position: Int64)? {
        guard text.utf8.count <= 300, let colon = text.lastIndex(of: ":") else { return nil }
        let epoch = String(text[..<colon]), digits = text[text.index(after: colon)...]
        guard !epoch.isEmpty, !epoch.contains(where: { $0.isNewline || $0 == "\0" }),
              digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }), let position = Int64(digits), position >= -1
        else { return nil }
        return (epoch, position)
    }

    /// The top-level `position` and `epoch` of an item frame's JSON, read with a scan of its bytes instead of a
    /// decode (it runs once per client per item).
    static func positionAndEpoch(ofItemJSON json: String) -> (position: Int64, epoch: String)? {
        let bytes = Array(json.utf8)
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), colon = UInt8(ascii: ":")
        var position: Int64?, epoch: String?
        var depth = 0, index = 0
        func skipSpaces() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
        /// Reads the string starting at `index` (its opening quote); returns its raw contents.
        func readString() -> ArraySlice<UInt8>? {
            let start = index + 1
            index = start
            while index < bytes.count {
                if bytes[index] == backslash { index += 2; continue }
                if bytes[index] == quote { defer { index += 1 }; return bytes[start..<index] }
                index += 1
            }
            return nil
        }
        while index < bytes.count {
            switch bytes[index] {
            case quote:
                guard let string = readString() else { return nil }
                guard depth == 1 else { continue }
                skipSpaces()
                guard index < bytes.count, bytes[index] == colon else { continue }
                index += 1
                skipSpaces()
                if string.elementsEqual("position".utf8) {
                    let start = index
                    while index < bytes.count, bytes[index] == UInt8(ascii: "-") || (0x30...0x39).contains(bytes[index]) { index += 1 }
                    position = Int64(String(decoding: bytes[start..<index], as: UTF8.self))
                } else if string.elementsEqual("epoch".utf8), index < bytes.count, bytes[index] == quote {
                    guard let raw = readString() else { return nil }
                    if raw.contains(backslash) {
                        // An escaped character (JSONSerialization writes `/` as `\/`): let JSON decode it.
                        epoch = try? JSONSerialization.jsonObject(with: Data([quote] + raw + [quote]), options: .fragmentsAllowed) as? String
                    } else {
                        epoch = String(decoding: raw, as: UTF8.self)
                    }
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                index += 1
            default:
                index += 1
            }
        }
        guard let position, let epoch else { return nil }
        return (position, epoch)
    }
}
