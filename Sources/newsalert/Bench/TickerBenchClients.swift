import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// `newsalert bench ticker-clients` (hidden): one client process of `bench ticker`. Opens `--count` bare ticker
/// connections (WebSocket handshake or event-stream request written by hand, one small NIO handler each: no task per
/// client) from `--source`, prints `connected N FAILED`, waits for `arm` on stdin, then prints `times T…` (wall-clock
/// seconds at which each client's first item arrived) once every client has one or 30 s have passed.
struct TickerBenchClients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticker-clients", abstract: "One client process of `bench ticker` (used by it).", shouldDisplay: false)

    @Option(help: "Comma-separated host:port of the servers; clients are spread over them.") var targets: String
    @Option(help: "Request path, with its query.") var path: String
    @Option(help: "ws or sse.") var transport: String
    @Option(help: "Connections to open.") var count: Int
    @Option(help: "Local address to connect from.") var source: String
    @Option(help: "Connections being set up at once.") var connectConcurrency: Int = 200

    func run() async throws {
        let tally = BenchClientTally()
        let group = MultiThreadedEventLoopGroup.singleton
        let servers = targets.split(separator: ",").map { target -> (String, Int) in
            let parts = target.split(separator: ":")
            return (String(parts[0]), Int(parts[1]) ?? 80)
        }
        var started = 0
        while started < count {
            var wave: [EventLoopFuture<Void>] = []
            for _ in 0..<min(connectConcurrency, count - started) {
                let (host, port) = servers[started % servers.count]
                started += 1
                let request = Self.request(host: host, port: port, path: path, transport: transport)
                let marker = transport == "sse" ? "event: item" : "\"headline\""
                let loop = group.next()
                let ready = loop.makePromise(of: Void.self)
                let connected = ClientBootstrap(group: loop)
                    .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                BenchClientHandler(request: request, marker: marker, ready: ready, tally: tally))
                        }
                    }
                    .bind(to: try SocketAddress(ipAddress: source, port: 0))
                    .connect(host: host, port: port)
                connected.whenFailure { error in loop.execute { ready.fail(error) } }
                wave.append(ready.futureResult)
            }
            for result in try await EventLoopFuture.whenAllComplete(wave, on: group.next()).get() {
                if case .failure = result { tally.failed() }
            }
        }
        let (connected, failed) = tally.connections
        print("connected \(connected) \(failed)")
        fflush(nil)
        guard readLine() == "arm" else { return }
        tally.arm()
        let deadline = Date().addingTimeInterval(30)
        while tally.receivedCount < connected, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        print("times " + tally.times.map { String(format: "%.6f", $0) }.joined(separator: " "))
        fflush(nil)
    }

    static func request(host: String, port: Int, path: String, transport: String) -> String {
        if transport == "sse" {
            return "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: text/event-stream\r\n\r\n"
        }
        return "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    }
}

/// Counts of one client process.
final class BenchClientTally: Sendable {
    private struct State {
        var connected = 0
        var failed = 0
        var armed = false
        var times: [Double] = []
    }

    private let state = NIOLockedValueBox(State())

    var connections: (Int, Int) { state.withLockedValue { ($0.connected, $0.failed) } }
    var receivedCount: Int { state.withLockedValue { $0.times.count } }
    var times: [Double] { state.withLockedValue { $0.times } }
    var isArmed: Bool { state.withLockedValue { $0.armed } }

    func connected() { state.withLockedValue { $0.connected += 1 } }
    func failed() { state.withLockedValue { $0.failed += 1 } }
    func arm() { state.withLockedValue { $0.armed = true } }
    func received(at time: Double) { state.withLockedValue { $0.times.append(time) } }
}

/// One bench connection: writes its request, waits for the response head (101 or 200), then notes the time the
/// first item arrives after the process was armed.
final class BenchClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let request: String
    private let marker: String
    private let ready: EventLoopPromise<Void>
    private let tally: BenchClientTally
    private var head = ""
    private var upgraded = false
    private var got = false
    private var settled = false

    init(request: String, marker: String, ready: EventLoopPromise<Void>, tally: BenchClientTally) {
        self.request = request
        self.marker = marker
        self.ready = ready
        self.tally = tally
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(ByteBuffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let text = buffer.readString(length: buffer.readableBytes) ?? ""
        if !upgraded {
            head += text
            guard let end = head.range(of: "\r\n\r\n") else { return }
            guard head.hasPrefix("HTTP/1.1 101") || head.hasPrefix("HTTP/1.1 200") else {
                settle(ChannelError.inappropriateOperationForState)
                context.close(promise: nil)
                return
            }
            upgraded = true
            tally.connected()
            settle(nil)
            look(at: String(head[end.upperBound...]))
            head = ""
            return
        }
        look(at: text)
    }

    private func settle(_ error: (any Error)?) {
        guard !settled else { return }
        settled = true
        if let error { ready.fail(error) } else { ready.succeed() }
    }

    private func look(at text: String) {
        guard !got, text.contains(marker), tally.isArmed else { return }
        got = true
        tally.received(at: Date().timeIntervalSince1970)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !upgraded { settle(ChannelError.eof) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !upgraded { settle(error) }
        context.close(promise: nil)
    }
}
