import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NewsAlertCore
@testable import NewsAlertHTTP
import NIOCore
import Testing

/// `GET /v1/ticker/stream` (Server-Sent Events) on a live Hummingbird server, fed by a `TickerHub` the test publishes
/// to directly (no broker). The stream is read with AsyncHTTPClient, chunk by chunk, and split into SSE blocks here.
@Suite("Ticker event stream", .timeLimit(.minutes(1)))
struct TickerEventStreamTests {
    static let epoch = "cluster-a"

    /// A ticker item at `position` (only `section`, `summary` and `audience` vary).
    static func item(_ position: Int64, section: String = "Politics", summary: String? = nil, audience: [String] = []) throws -> TickerItem {
        var event: [String: Any] = [
            "id": "evt_\(position)", "kind": "breaking", "headline": "Line \(position)", "section": section, "regions": ["MENA"],
            "countries": ["LB"], "urgency": 3, "published_at": "2026-11-29T10:00:00Z", "status": "usable",
        ]
        if let summary { event["summary"] = summary }
        let object: [String: Any] = ["type": "alert", "story": ["story_id": "story-evt_\(position)", "sequence": 1], "event": event, "audience": audience]
        return try JSONDecoder.newsAlert.decode(TickerItem.self, from: JSONSerialization.data(withJSONObject: object))
    }

    static func hub(window: Int = 100, clientBuffer: Int = 1_000, positions: ClosedRange<Int64>? = nil) throws -> TickerHub {
        let hub = TickerHub(windowCapacity: window, clientBufferLimit: clientBuffer, epoch: epoch)
        for position in positions.map(Array.init) ?? [] { hub.publish(position: position, item: try item(position)) }
        return hub
    }

    static func app(_ hub: TickerHub, heartbeat: Duration = .seconds(60)) -> some ApplicationProtocol {
        let router = Router(context: NewsAlertRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        TickerRoutes(hub: hub, heartbeat: heartbeat).add(to: router)
        return Application(router: router)
    }

    /// One SSE block: the lines up to a blank line (an event, a `retry:` line, or comments).
    struct Block {
        var id: String?
        var event: String?
        var data: [String] = []
        var retry: String?
        var comments: [String] = []

        var isEvent: Bool { !data.isEmpty }

        func json() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(data.joined(separator: "\n").utf8)) as? [String: Any])
        }
    }

    /// Reads an event stream response and splits it into blocks (RFC-style parsing of the SSE wire format).
    struct EventStream {
        let response: HTTPClientResponse
        var chunks: HTTPClientResponse.Body.AsyncIterator
        var text = ""

        init(port: Int, path: String, headers: [(String, String)] = []) async throws {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.headers.add(name: "Accept", value: "text/event-stream")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            chunks = response.body.makeAsyncIterator()
        }

        /// The next block, or nil when the server ended the stream.
        mutating func next() async throws -> Block? {
            while true {
                if let end = text.range(of: "\n\n") {
                    let lines = text[..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
                    text.removeSubrange(..<end.upperBound)
                    var block = Block()
                    for line in lines {
                        if line.hasPrefix(":") { block.comments.append(String(line.dropFirst()).trimmingCharacters(in: .whitespaces)); continue }
                        let (field, value) = line.firstIndex(of: ":").map { (line[..<$0], line[line.index(after: $0)...]) } ?? (line[...], "")
                        let trimmed = value.hasPrefix(" ") ? String(value.dropFirst()) : String(value)
                        switch field {
                        case "id": block.id = trimmed
                        case "event": block.event = trimmed
                        case "data": block.data.append(trimmed)
                        case "retry": block.retry = trimmed
                        default: Issue.record("unknown SSE field in \(line)")
                        }
                    }
                    return block
                }
                guard let chunk = try await chunks.next() else {
                    #expect(text.isEmpty, "the stream ended inside a block: \(text.prefix(200))")
                    return nil
                }
                text += String(buffer: chunk)
            }
        }

        /// The next event (skipping `retry:` and comment blocks).
        mutating func nextEvent() async throws -> Block {
            while let block = try await next() {
                if block.isEvent { return block }
            }
            throw EndOfStream()
        }

        struct EndOfStream: Error {}
    }

    /// Waits (bounded) until `condition` holds; polls, never sleeps a fixed time to prove anything.
    static func eventually(_ what: Comment, within: Duration = .seconds(20), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + within
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for: \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test("items arrive as `event: item` with `id: <epoch>:<position>` and the WebSocket frame as data; the stream starts with retry:")
    func itemsArriveWithIDEventAndData() async throws {
        let hub = try Self.hub(positions: 0...1)
        try await Self.app(hub).test(.live) { client in
            var stream = try await EventStream(port: try #require(client.port), path: "/v1/ticker/stream?backlog=1")
            #expect(stream.response.status == .ok)
            #expect(stream.response.headers["Content-Type"] == ["text/event-stream"])
            #expect(stream.response.headers["Cache-Control"] == ["no-cache"])
            let first = try #require(try await stream.next())
            #expect(first.retry == "2000" && !first.isEvent, "the stream does not start with a retry: line")

            // The backlog: the latest retained item, encoded for this client.
            let backlog = try await stream.nextEvent()
            #expect((backlog.event, backlog.id) == ("item", "cluster-a:1"))
            #expect(try backlog.json()["position"] as? Int == 1)

            // A live item: encoded once by the hub for every client; its id is read from that JSON.
            hub.publish(position: 2, item: try Self.item(2, audience: ["sbr_secret"]))
            let live = try await stream.nextEvent()
            #expect((live.event, live.id) == ("item", "cluster-a:2"))
            let frame = try live.json()
            #expect(frame["position"] as? Int == 2 && frame["epoch"] as? String == Self.epoch && frame["type"] as? String == "alert")
            #expect((frame["event"] as? [String: Any])?["headline"] as? String == "Line 2")
            #expect(frame["audience"] == nil, "an item shows its audience")
            #expect(live.data.count == 1, "a frame spread over several data: lines")
        }
    }

    @Test("heartbeats are comment lines carrying the heartbeat frame")
    func heartbeatsAreComments() async throws {
        let hub = try Self.hub(positions: 0...3)
        try await Self.app(hub, heartbeat: .milliseconds(50)).test(.live) { client in
            var stream = try await EventStream(port: try #require(client.port), path: "/v1/ticker/stream?backlog=0")
            while let block = try await stream.next() {
                #expect(!block.isEvent, "an event with backlog=0 and nothing published: \(block)")
                guard let comment = block.comments.first(where: { $0.hasPrefix("heartbeat ") }) else { continue }
                #expect(block.id == nil && block.event == nil)
                let beat = try #require(try JSONSerialization.jsonObject(with: Data(comment.dropFirst("heartbeat ".count).utf8)) as? [String: Any])
                #expect(beat["type"] as? String == "heartbeat" && beat["position"] as? Int == 3 && beat["epoch"] as? String == Self.epoch)
                return
            }
            Issue.record("the stream ended without a heartbeat")
        }
    }

    @Test("a resume with Last-Event-ID gets exactly the later items; the header wins over ?since=")
    func resumeWithLastEventID() async throws {
        let hub = try Self.hub(positions: 0...4)
        try await Self.app(hub).test(.live) { client in
            // EventSource keeps the URL it was opened with (here since=0) and sends its last id in the header.
            var stream = try await EventStream(
                port: try #require(client.port), path: "/v1/ticker/stream?since=0&epoch=cluster-a", headers: [("Last-Event-ID", "cluster-a:2")])
            hub.publish(position: 5, item: try Self.item(5))
            var ids: [String?] = []
            while ids.last != "cluster-a:5" {
                let event = try await stream.nextEvent()
                #expect(event.event == "item", "not an item: \(event)")
                ids.append(event.id)
            }
            #expect(ids == ["cluster-a:3", "cluster-a:4", "cluster-a:5"])
        }
    }

    @Test("a gap is an event: another epoch gets a gap (id <epoch>:-1), then the retained items")
    func gapWhenTheEpochDiffers() async throws {
        let hub = try Self.hub(positions: 0...2)
        try await Self.app(hub).test(.live) { client in
            var stream = try await EventStream(port: try #require(client.port), path: "/v1/ticker/stream", headers: [("Last-Event-ID", "cluster-old:7")])
            let gap = try await stream.nextEvent()
            #expect((gap.event, gap.id) == ("gap", "cluster-a:-1"))
            let frame = try gap.json()
            #expect(frame["type"] as? String == "gap" && frame["from"] as? Int == 0 && frame["to"] as? Int == 2 && frame["epoch"] as? String == Self.epoch)
            #expect((frame["reason"] as? String)?.contains("cluster-old") == true)
            var ids: [String?] = []
            for _ in 0..<3 { ids.append(try await stream.nextEvent().id) }
            #expect(ids == ["cluster-a:0", "cluster-a:1", "cluster-a:2"])
        }
    }

    @Test("a position older than the window: a gap naming the missing range, its id the position the client had")
    func gapWhenTheWindowNoLongerHoldsIt() async throws {
        let hub = try Self.hub(window: 2, positions: 0...5)
        try await Self.app(hub).test(.live) { client in
            var stream = try await EventStream(port: try #require(client.port), path: "/v1/ticker/stream?since=1&epoch=cluster-a")
            let gap = try await stream.nextEvent()
            #expect((gap.event, gap.id) == ("gap", "cluster-a:1"))
            let frame = try gap.json()
            #expect(frame["from"] as? Int == 2 && frame["to"] as? Int == 3)
            #expect(try await stream.nextEvent().id == "cluster-a:4")
            #expect(try await stream.nextEvent().id == "cluster-a:5")
        }
    }

    @Test("the hub connection is released as soon as the client goes away")
    func disconnectReleasesTheHubConnection() async throws {
        let hub = try Self.hub(positions: 0...0)
        try await Self.app(hub).test(.live) { client in
            do {
                var stream = try await EventStream(port: try #require(client.port), path: "/v1/ticker/stream?backlog=1")
                _ = try await stream.nextEvent()
                #expect(hub.clientCount == 1)
            }
            // The response and its body iterator are gone: AsyncHTTPClient closes the connection. The heartbeat is a
            // minute away, so only the server noticing the closed input can release the hub connection in time.
            try await Self.eventually("the hub to forget the client") { hub.clientCount == 0 }
        }
    }

    @Test("a client that stops reading is dropped by the hub; it then gets what was queued, an error event, and the end")
    func slowClientGetsAnErrorEvent() async throws {
        let hub = try Self.hub(window: 4, clientBuffer: 4)
        let summary = String(repeating: "x", count: 64 * 1024)
        try await Self.app(hub).test(.live) { client in
            var stream = try await EventStream(port: try #require(client.port), path: "/v1/ticker/stream?backlog=0")
            _ = try await stream.next()  // retry: the connection is registered with the hub
            #expect(hub.clientCount == 1)
            // Not reading: AsyncHTTPClient stops reading the socket, the kernel buffers fill, the server's writes wait
            // and the hub's queue for this client overflows. Items are published until the hub has dropped it.
            var published: Int64 = 0
            while hub.clientCount == 1, published < 3_000 {
                hub.publish(position: published, item: try Self.item(published, summary: summary))
                published += 1
                await Task.yield()
            }
            #expect(hub.clientCount == 0, "the hub still holds the client after \(published) items of 64 KiB")

            var positions: [Int64] = []
            var last: Block?
            while let block = try await stream.next() {
                guard block.isEvent else { continue }
                if block.event == "item" { positions.append(try #require(block.id?.split(separator: ":").last.flatMap { Int64($0) })) }
                last = block
            }
            #expect(!positions.isEmpty && positions.count < Int(published))
            #expect(positions == Array(0..<Int64(positions.count)), "what the slow client got is not the start of the log, in order")
            let error = try #require(last)
            #expect(error.event == "error" && error.id == nil)
            let frame = try error.json()
            #expect(frame["type"] as? String == "error" && frame["code"] as? String == "too_slow" && frame["status"] as? Int == 503)
            #expect((frame["message"] as? String)?.contains("Last-Event-ID") == true)
        }
    }

    @Test("bad input is refused with a JSON error before any stream: 422 for a malformed Last-Event-ID or an unknown filter value")
    func badInputIsRefusedBeforeTheStream() async throws {
        let hub = try Self.hub(positions: 0...0)
        try await Self.app(hub).test(.router) { client in
            let stream: HTTPFields = [.accept: "text/event-stream"]
            func refusal(_ uri: String, _ headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, [String: Any], Set<String>) {
                let response = try await client.execute(uri: uri, method: .get, headers: headers.isEmpty ? stream : headers)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                let error = try #require(EventRoutesTests.object(response.body)["error"] as? [String: Any])
                let fields = Set((error["fields"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
                return (response.status, error, fields)
            }
            for malformed in ["12", "cluster-a:", ":5", "cluster-a:x", "cluster-a:-5", "cluster-a:1.5", String(repeating: "a", count: 400) + ":1"] {
                var headers = stream
                headers[HTTPField.Name("Last-Event-ID")!] = malformed
                let (status, error, fields) = try await refusal("/v1/ticker/stream", headers)
                #expect(status == .unprocessableContent && error["code"] as? String == "invalid_fields" && fields == ["Last-Event-ID"], "Last-Event-ID \(malformed)")
            }
            for query in ["regions=Atlantis", "sections=Gossip", "kinds=rumour", "backlog=501", "since=abc"] {
                let (status, error, fields) = try await refusal("/v1/ticker/stream?\(query)")
                #expect(status == .unprocessableContent && error["code"] as? String == "invalid_fields", "\(query)")
                #expect(fields == [String(query.prefix { $0 != "=" })], "\(query)")
            }
            // Every problem at once.
            var both = stream
            both[HTTPField.Name("Last-Event-ID")!] = "nonsense"
            #expect(try await refusal("/v1/ticker/stream?regions=Atlantis", both).2 == ["regions", "Last-Event-ID"])
            // An unknown ?token= (browsers cannot set headers on EventSource either).
            let (status, error, _) = try await refusal("/v1/ticker/stream?token=nst_not-a-token")
            #expect(status == .unauthorized && error["code"] as? String == "unauthenticated")
            // A client that did not ask for an event stream does not get an endless one.
            let (notAcceptable, notStream, _) = try await refusal("/v1/ticker/stream", [.accept: "application/json"])
            #expect(notAcceptable == .notAcceptable && notStream["code"] as? String == "event_stream_required")
            // A foreign browser origin.
            let (forbidden, foreign, _) = try await refusal("/v1/ticker/stream", [.accept: "text/event-stream", .origin: "http://evil.example"])
            #expect(forbidden == .forbidden && foreign["code"] as? String == "origin_not_allowed")
        }
        #expect(hub.clientCount == 0)
    }

    @Test("Last-Event-ID parsing and item ids read from the hub's encoded JSON")
    func eventIDs() throws {
        let plain = try #require(TickerRoutes.eventStreamPosition("cluster-a:12"))
        #expect(plain.epoch == "cluster-a" && plain.position == 12)
        let colons = try #require(TickerRoutes.eventStreamPosition("a:b:-1"))
        #expect(colons.epoch == "a:b" && colons.position == -1)
        for bad in ["", "12", ":3", "x:", "x:+3", "x: 3", "x:-2", "x:99999999999999999999"] {
            #expect(TickerRoutes.eventStreamPosition(bad) == nil, "\(bad)")
        }
        let json = TickerFrame.item(position: 41, epoch: "ab/c\"d", try Self.item(41, summary: #"{"position": 7, "epoch": "no"}"#)).json
        let fields = try #require(TickerRoutes.positionAndEpoch(ofItemJSON: json))
        #expect(fields.position == 41 && fields.epoch == "ab/c\"d")
    }
}
