import Foundation
import NewsAlertCore
@testable import NewsAlertHTTP
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

/// The hub's broadcast path on test channels (each on an event loop of its own): what each connection's channel is
/// given, decoded with NIO's own WebSocket frame decoder.
@Suite("Ticker broadcast", .timeLimit(.minutes(1)))
struct TickerBroadcastTests {
    static let epoch = "cluster-b"

    static func item(_ position: Int64, section: String = "Politics", summary: String? = nil) throws -> TickerItem {
        try TickerEventStreamTests.item(position, section: section, summary: summary)
    }

    static func channel() async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9))
        return channel
    }

    static func connect(_ hub: TickerHub, _ channel: NIOAsyncTestingChannel, filter: TickerFilter = TickerFilter(), backlog: Int = 0) async throws -> TickerConnection {
        try await hub.connect(filter: filter, after: nil, epoch: nil, backlog: backlog, channel: channel, transport: .webSocket, heartbeat: .seconds(3_600))
    }

    /// The next buffer written to `channel` (waits for it).
    static func nextWrite(_ channel: NIOAsyncTestingChannel) async throws -> ByteBuffer {
        try await channel.waitForOutboundWrite(as: ByteBuffer.self)
    }

    /// `bytes` as NIO's WebSocket decoder reads them: every complete frame.
    static func decode(_ bytes: ByteBuffer) async throws -> [WebSocketFrame] {
        let decoder = NIOAsyncTestingChannel()
        try await decoder.pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        try await decoder.writeInbound(bytes)
        var frames: [WebSocketFrame] = []
        while let frame = try await decoder.readInbound(as: WebSocketFrame.self) { frames.append(frame) }
        return frames
    }

    static func text(_ frame: WebSocketFrame) -> String {
        var data = frame.unmaskedData
        return data.readString(length: data.readableBytes) ?? ""
    }

    @Test("an item is encoded once: every admitting connection is given the same bytes; filters are counted once each")
    func oneEncodingForAll() async throws {
        let hub = TickerHub(windowCapacity: 10, epoch: Self.epoch)
        let first = try await Self.channel(), second = try await Self.channel(), sports = try await Self.channel()
        _ = try await Self.connect(hub, first)
        _ = try await Self.connect(hub, second)
        _ = try await Self.connect(hub, sports, filter: TickerFilter(sections: [.sports]))
        #expect(hub.clientCount == 3)
        #expect(hub.distinctFilterCount == 2)

        let politics = try Self.item(0)
        hub.publish(position: 0, item: politics)
        let a = try await Self.nextWrite(first), b = try await Self.nextWrite(second)
        // The same storage: one encoding, shared.
        let sameStorage = a.withUnsafeReadableBytes { x in b.withUnsafeReadableBytes { y in x.baseAddress == y.baseAddress } }
        #expect(sameStorage)
        let frames = try await Self.decode(a)
        #expect(frames.count == 1 && frames[0].opcode == .text && frames[0].fin && frames[0].maskKey == nil)
        #expect(Self.text(frames[0]) == TickerFrame.item(position: 0, epoch: Self.epoch, politics).json)

        // The sports connection got nothing for the politics item: its first write is the next sports item.
        let sportsItem = try Self.item(1, section: "Sports")
        hub.publish(position: 1, item: sportsItem)
        let forSports = try await Self.decode(try await Self.nextWrite(sports))
        #expect(forSports.map(Self.text) == [TickerFrame.item(position: 1, epoch: Self.epoch, sportsItem).json])
        for channel in [first, second, sports] { try await channel.close() }
        try await Self.eventually { hub.clientCount == 0 }
    }

    /// Polls (bounded) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }

    @Test("frame lengths in 7, 16 and 64 bits decode as NIO's WebSocket decoder reads them")
    func payloadLengths() async throws {
        let hub = TickerHub(windowCapacity: 10, epoch: Self.epoch)
        let channel = try await Self.channel()
        _ = try await Self.connect(hub, channel)
        for (position, size) in [(Int64(0), 0), (1, 200), (2, 70_000)] {
            let item = try Self.item(position, summary: size == 0 ? nil : String(repeating: "s", count: size))
            hub.publish(position: position, item: item)
            let frames = try await Self.decode(try await Self.nextWrite(channel))
            #expect(frames.map(Self.text) == [TickerFrame.item(position: position, epoch: Self.epoch, item).json])
        }
        let close = try await Self.decode(TickerWireFrame.webSocketClose(code: 1008, reason: "too slow"))
        #expect(close.count == 1 && close[0].opcode == .connectionClose)
        var payload = close[0].unmaskedData
        #expect(payload.readInteger(as: UInt16.self) == 1008 && payload.readString(length: payload.readableBytes) == "too slow")
        try await channel.close()
    }

    @Test("a new connection gets its replay before any live item")
    func replayThenLive() async throws {
        let hub = TickerHub(windowCapacity: 10, epoch: Self.epoch)
        for position in Int64(0)...2 { hub.publish(position: position, item: try Self.item(position)) }
        let channel = try await Self.channel()
        _ = try await Self.connect(hub, channel, backlog: 2)
        hub.publish(position: 3, item: try Self.item(3))
        var positions: [Int64] = []
        while positions.count < 3 {
            for frame in try await Self.decode(try await Self.nextWrite(channel)) {
                let object = try JSONSerialization.jsonObject(with: Data(Self.text(frame).utf8)) as? [String: Any]
                positions.append(try #require((object?["position"] as? NSNumber)?.int64Value))
            }
        }
        #expect(positions == [1, 2, 3])
        try await channel.close()
    }

    @Test("a connection more than the backlog behind is closed with 1008 and counted; the others get everything")
    func slowClientIsClosedWith1008() async throws {
        let hub = TickerHub(windowCapacity: 10, clientBufferLimit: 3, epoch: Self.epoch, slowClientGrace: .seconds(60))
        let slow = try await Self.channel(), reading = try await Self.channel()
        let slowConnection = try await Self.connect(hub, slow)
        _ = try await Self.connect(hub, reading)
        // NIO's buffer for the slow client is past its high-water mark: every frame from now on counts as backlog.
        try await slow.testingEventLoop.executeInContext {
            slow.isWritable = false
            slow.pipeline.fireChannelWritabilityChanged()
        }
        for position in Int64(0)..<6 { hub.publish(position: position, item: try Self.item(position)) }
        #expect(try await slowConnection.ended.futureResult.get() == .tooSlow)

        var written: [WebSocketFrame] = []
        while written.last?.opcode != .connectionClose {
            written += try await Self.decode(try await Self.nextWrite(slow))
        }
        // Frames up to the limit were still queued, then the close.
        #expect(written.filter { $0.opcode == .text }.count == 3)
        var payload = try #require(written.last).unmaskedData
        #expect(payload.readInteger(as: UInt16.self) == 1008)
        #expect(hub.slowClientCount == 1)
        #expect(hub.clientCount == 1)

        var readingPositions = 0
        while readingPositions < 6 { readingPositions += try await Self.decode(try await Self.nextWrite(reading)).count }
        #expect(readingPositions == 6)
        try await slow.close()
        try await reading.close()
        try await Self.eventually { hub.clientCount == 0 }
    }
}
