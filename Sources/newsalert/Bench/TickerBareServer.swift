import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NewsAlertHTTP
import NIOConcurrencyHelpers
import NIOCore

/// `newsalert bench ticker-bare` (hidden): the baseline of `bench ticker`, a minimal Hummingbird WebSocket server.
/// `GET /v1/ticker` holds WebSocket connections; `POST /fire` encodes one text frame once and writes it to every
/// connection on its event loop. No Kafka, no window, no filters: the limit of this machine with the same harness.
struct TickerBareServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticker-bare", abstract: "The bare broadcast server of `bench ticker` (used by it).", shouldDisplay: false)

    @Option(help: "Port to listen on.") var port: Int

    func run() async throws {
        let sinks = BareSinks()
        let router = Router(context: NewsAlertRequestContext.self)
        router.post("/fire") { _, _ -> HTTPResponse.Status in
            sinks.broadcast(TickerWireFrame.webSocketText(#"{"type":"alert","headline":"Bare broadcast frame","position":1}"#))
            return .accepted
        }
        router.ws("/v1/ticker") { _, _ in .upgrade([:]) } onUpgrade: { inbound, _, context in
            let sink = BareSink()
            let channel = context.requestContext.channel
            try await channel.eventLoop.submit { try channel.pipeline.syncOperations.addHandler(sink, position: .first) }.get()
            sinks.add(sink, loop: channel.eventLoop)
            defer { sinks.remove(sink, loop: channel.eventLoop) }
            for try await _ in inbound {}
        }
        let app = Application(
            router: router, server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(autoPing: .disabled))),
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "bare"))
        try await app.runService()
    }
}

/// Where a bare connection's frames enter its pipeline (next to the socket).
final class BareSink: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }
}

/// The bare server's connections by event loop.
final class BareSinks: Sendable {
    private let sinks = NIOLockedValueBox<[ObjectIdentifier: (any EventLoop, [ObjectIdentifier: BareSink])]>([:])

    func add(_ sink: BareSink, loop: any EventLoop) {
        sinks.withLockedValue { $0[ObjectIdentifier(loop), default: (loop, [:])].1[ObjectIdentifier(sink)] = sink }
    }

    func remove(_ sink: BareSink, loop: any EventLoop) {
        sinks.withLockedValue { $0[ObjectIdentifier(loop)]?.1[ObjectIdentifier(sink)] = nil }
    }

    func broadcast(_ frame: ByteBuffer) {
        for (loop, members) in sinks.withLockedValue({ Array($0.values) }) {
            let members = Array(members.values)
            loop.execute {
                for sink in members { sink.context?.writeAndFlush(NIOAny(frame), promise: nil) }
            }
        }
    }
}
