import Foundation
import NewsAlertCore
@testable import NewsAlertHTTP
import NIOCore
import Testing

/// The GRIP pieces without a proxy: `Grip-Sig` checks, the WebSocket-over-HTTP event format, and the publish body.
/// (A real Pushpin reads them in Tests/peers/test_ticker_grip.py.)
@Suite("Ticker GRIP")
struct TickerGripTests {
    @Test("Grip-Sig: a signature under the key verifies; another key, an expired one or a malformed one do not")
    func signatures() throws {
        let grip = GripSignature(key: "proxy-key")
        let now = Date()
        try grip.verify(grip.sign(expires: now + 60), now: now)
        #expect(throws: GripSignature.Problem.badSignature) { try grip.verify(GripSignature(key: "other").sign(expires: now + 60), now: now) }
        #expect(throws: GripSignature.Problem.expired) { try grip.verify(grip.sign(expires: now - 1), now: now) }
        for token in ["", "a.b", "not.a.jwt", String(repeating: "x", count: 5_000)] {
            #expect(throws: GripSignature.Problem.malformed) { try grip.verify(token, now: now) }
        }
    }

    @Test("WebSocket-over-HTTP events: parsed with their content (binary kept), malformed bodies are a 400 naming the body")
    func webSocketEvents() throws {
        let close = TickerRoutes.webSocketClose(code: 1000, reason: "bye")
        var body = ByteBuffer(string: "OPEN\r\nTEXT 5\r\nhello\r\nPING\r\n")
        body.writeBytes(close)
        let events = try TickerRoutes.webSocketEventsDecoded(body)
        #expect(events.map(\.type) == ["OPEN", "TEXT", "PING", "CLOSE"])
        #expect(events[1].content == Array("hello".utf8))
        #expect(events[3].content == [0x03, 0xE8] + Array("bye".utf8))
        for bad in ["OPEN", "TEXT 9\r\nhello\r\n", "text\r\n", "TEXT zz\r\nhello\r\n"] {
            #expect(throws: APIError.self) { try TickerRoutes.webSocketEventsDecoded(ByteBuffer(string: bad)) }
        }
    }

    @Test("an item is published to the channel of every filter a proxied client asked for that admits it, and no other")
    func publishBody() throws {
        let hub = TickerHub(windowCapacity: 10, epoch: "cluster-g")
        let item = try TickerEventStreamTests.item(7, section: "Politics")
        #expect(hub.gripPublishBody(position: 7, item: item) == nil)
        let everything = try #require(hub.gripChannel(for: TickerFilter()))
        let politics = try #require(hub.gripChannel(for: TickerFilter(sections: [.politics])))
        _ = hub.gripChannel(for: TickerFilter(sections: [.sports]))
        #expect(everything == "ticker-all" && politics.hasPrefix("ticker-") && politics != everything)
        let body = try #require(hub.gripPublishBody(position: 7, item: item))
        let items = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["items"] as? [[String: Any]])
        #expect(Set(items.compactMap { $0["channel"] as? String }) == [everything, politics])
        let formats = try #require(items.first?["formats"] as? [String: [String: String]])
        #expect(formats["ws-message"]?["content"] == TickerFrame.item(position: 7, epoch: "cluster-g", item).json)
        #expect(formats["http-stream"]?["content"]?.hasPrefix("id: cluster-g:7\nevent: item\ndata: ") == true)
    }
}
