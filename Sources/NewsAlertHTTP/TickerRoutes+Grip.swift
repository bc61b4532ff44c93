import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NewsAlertCore
import NIOCore

/// The ticker behind a GRIP proxy (Pushpin, Fastly Fanout): the proxy holds the client connections, newsalert holds
/// none. A request the proxy forwards carries `Grip-Sig` (checked with `GripSignature`); instead of streaming, the
/// ticker answers with what the client gets first and a hold instruction naming the proxy channel of the client's
/// filter, and `GripPublisher` publishes every later item to the channels whose filter admits it.
///
/// - `GET /v1/ticker/stream` (Server-Sent Events) → `Grip-Hold: stream`, `Grip-Channel`, `Grip-Keep-Alive` (the
///   heartbeat comment), body: `retry:` and the replay (gap, items). Resume (`Last-Event-ID`, `?since=&epoch=`) and
///   gaps work as without the proxy: the proxy forwards the headers of every reconnection.
/// - WebSocket through the proxy's WebSocket-over-HTTP (Pushpin route option `over_http`): `POST /v1/ticker` with
///   `Content-Type: application/websocket-events`; the answer accepts the connection, subscribes it to the channel
///   (`c:` control message) and carries the replay as TEXT events. Errors are an error frame and close 4000 + status,
///   as on a direct WebSocket.
extension TickerRoutes {
    static let gripSig = HTTPField.Name("Grip-Sig")!
    static let gripHold = HTTPField.Name("Grip-Hold")!
    static let gripChannel = HTTPField.Name("Grip-Channel")!
    static let gripKeepAlive = HTTPField.Name("Grip-Keep-Alive")!
    static let webSocketExtensions = HTTPField.Name("Sec-WebSocket-Extensions")!
    static let webSocketEvents = "application/websocket-events"

    /// True when the request came through a GRIP proxy this server trusts; throws 401 for a `Grip-Sig` that does not
    /// verify. Without a configured key the header is ignored (the request is served directly).
    func isGripProxied(_ request: Request) throws -> Bool {
        guard let grip, let token = request.headers[Self.gripSig] else { return false }
        do {
            try grip.verify(token)
            return true
        } catch {
            let why = switch error {
            case .expired: "has expired"
            case .badSignature: "is not signed with this server's GRIP key"
            case .malformed: "is not a GRIP signature (a JWT signed with HS256, with exp)"
            }
            throw APIError(.unauthorized, code: "grip_signature_invalid", message: "Grip-Sig \(why)",
                           fields: [FieldProblem(field: "Grip-Sig", problem: "\(why)")])
        }
    }

    /// The hold answer to a proxied `GET /v1/ticker/stream`.
    func gripEventStream(_ subscription: Subscription) throws -> Response {
        guard let channel = hub.gripChannel(for: subscription.filter) else {
            throw APIError(.serviceUnavailable, code: "too_many_filters", message: "the proxy already holds clients for \(TickerHub.gripChannelLimit) distinct filters")
        }
        var body = TickerWireFrame.eventStreamPrelude(retry: Self.eventStreamRetry).eventStream
        for var frame in hub.replay(filter: subscription.filter, after: subscription.since, epoch: subscription.epoch, backlog: subscription.backlog)
            .map(\.eventStream) {
            body.writeBuffer(&frame)
        }
        let seconds = max(1, heartbeat.components.seconds)
        let headers: HTTPFields = [
            .contentType: "text/event-stream", .cacheControl: "no-cache",
            Self.gripHold: "stream", Self.gripChannel: channel,
            Self.gripKeepAlive: #": heartbeat\n\n; format=cstring; timeout=\#(seconds)"#,
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    /// `POST /v1/ticker`: one WebSocket-over-HTTP request of the proxy (events of one client's WebSocket).
    func addGripWebSocket(to router: Router<NewsAlertRequestContext>) {
        router.post("/v1/ticker") { request, context -> Response in
            guard request.headers[.contentType]?.lowercased().hasPrefix(Self.webSocketEvents) == true else {
                throw APIError(.unsupportedMediaType, code: "websocket_events_required",
                               message: "POST /v1/ticker is the WebSocket-over-HTTP endpoint of a GRIP proxy: send Content-Type: application/websocket-events")
            }
            guard try isGripProxied(request) else {
                throw APIError(.forbidden, code: "grip_required", message: "POST /v1/ticker answers a GRIP proxy only: send a valid Grip-Sig")
            }
            try checkOrigin(request)
            let events = try Self.webSocketEventsDecoded(try await request.body.collect(upTo: 64 * 1024))
            var answer = ByteBuffer()
            for event in events {
                switch event.type {
                case "OPEN":
                    answer.writeBytes(Self.webSocketEvent("OPEN"))
                    do {
                        let subscription = try await self.subscription(request, context)
                        guard let channel = hub.gripChannel(for: subscription.filter) else {
                            throw APIError(.serviceUnavailable, code: "too_many_filters", message: "the proxy already holds clients for \(TickerHub.gripChannelLimit) distinct filters")
                        }
                        let subscribe = try JSONSerialization.data(withJSONObject: ["type": "subscribe", "channel": channel])
                        answer.writeBytes(Self.webSocketEvent("TEXT", Array("c:".utf8) + subscribe))
                        for frame in hub.replay(filter: subscription.filter, after: subscription.since, epoch: subscription.epoch, backlog: subscription.backlog) {
                            answer.writeBytes(Self.webSocketEvent("TEXT", Array(frame.json.utf8)))
                        }
                    } catch let error as APIError {
                        answer.writeBytes(Self.webSocketEvent("TEXT", Array(error.frameData)))
                        answer.writeBytes(Self.webSocketClose(code: UInt16(4000 + error.status.code), reason: error.code))
                    }
                case "PING":
                    answer.writeBytes(Self.webSocketEvent("PONG", event.content))
                case "CLOSE":
                    answer.writeBytes(Self.webSocketEvent("CLOSE", event.content))
                default:
                    break  // TEXT/BINARY from the client, PONG, DISCONNECT: nothing to answer
                }
            }
            return Response(status: .ok, headers: [.contentType: Self.webSocketEvents, Self.webSocketExtensions: "grip"],
                             body: ResponseBody(byteBuffer: answer))
        }
    }

    // MARK: - WebSocket-over-HTTP events

    struct WebSocketEvent: Equatable {
        var type: String
        var content: [UInt8]?
    }

    /// Parses `TYPE[ <hex length>]\r\n[<content>\r\n]…`; 400 naming the body for anything else.
    static func webSocketEventsDecoded(_ body: ByteBuffer) throws -> [WebSocketEvent] {
        let bytes = Array(body.readableBytesView)
        var events: [WebSocketEvent] = []
        var index = 0
        func malformed(_ why: String) -> APIError {
            APIError(.badRequest, code: "invalid_websocket_events", message: "the WebSocket-over-HTTP body is malformed: \(why)",
                     fields: [FieldProblem(field: "body", problem: why)])
        }
        while index < bytes.count {
            guard let lineEnd = bytes[index...].firstIndex(of: 0x0D), lineEnd + 1 < bytes.count, bytes[lineEnd + 1] == 0x0A else {
                throw malformed("an event line does not end with CRLF")
            }
            let line = String(decoding: bytes[index..<lineEnd], as: UTF8.self)
            index = lineEnd + 2
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let type = parts.first, !type.isEmpty, type.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
                throw malformed("'\(line.prefix(40))' is not an event")
            }
            var content: [UInt8]?
            if parts.count == 2 {
                guard let length = Int(parts[1], radix: 16), length >= 0, index + length + 2 <= bytes.count,
                      bytes[index + length] == 0x0D, bytes[index + length + 1] == 0x0A
                else { throw malformed("the content of \(type) does not match its length") }
                content = Array(bytes[index..<(index + length)])
                index += length + 2
            }
            events.append(WebSocketEvent(type: String(type), content: content))
        }
        return events
    }

    static func webSocketEvent(_ type: String, _ content: [UInt8]? = nil) -> [UInt8] {
        guard let content else { return Array("\(type)\r\n".utf8) }
        return Array("\(type) \(String(content.count, radix: 16))\r\n".utf8) + content + [0x0D, 0x0A]
    }

    /// A CLOSE event: the status code in two bytes, then the reason.
    static func webSocketClose(code: UInt16, reason: String) -> [UInt8] {
        webSocketEvent("CLOSE", [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8.prefix(123)))
    }
}

extension TickerFilter {
    /// The GRIP proxy channel of this filter: `ticker-` and a digest of the filter (channel names must avoid the
    /// separators of the `Grip-Channel` header).
    var gripChannel: String {
        let key = [
            sections.map(\.rawValue).sorted().joined(separator: ","), regions.map(\.rawValue).sorted().joined(separator: ","),
            kinds.map(\.rawValue).sorted().joined(separator: ","), subscriberID ?? "",
        ].joined(separator: "|")
        if key == "|||" { return "ticker-all" }
        return "ticker-" + SHA256.hash(data: Data(key.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }
}

extension TickerHub {
    /// The body of a GRIP publish request (Pushpin's `POST /publish/`) for an item: one entry per channel whose filter
    /// admits it, each with the event-stream event and the WebSocket message. Nil when no proxied client could want it.
    public func gripPublishBody(position: Int64, item: TickerItem) -> Data? {
        let channels = gripChannels(admitting: item)
        guard !channels.isEmpty else { return nil }
        let frame = TickerWireFrame(.item(position: position, epoch: epoch, item))
        let id = TickerRoutes.eventID(epoch: epoch, position: position) ?? "\(position)"
        let formats: [String: Any] = [
            "http-stream": ["content": String(buffer: frame.eventStream)],
            "ws-message": ["content": frame.json],
        ]
        let items = channels.map { ["channel": $0, "id": "\(id):\($0)", "formats": formats] as [String: Any] }
        return try? JSONSerialization.data(withJSONObject: ["items": items])
    }
}
