import NewsAlertCore
import NIOCore
import NIOHTTP1

/// One ticker client: a handler in its channel's pipeline that writes the hub's pre-encoded frames straight into
/// the channel, on the channel's event loop. No task or stream is woken per frame; the connection's own request
/// handler only waits for `ended`.
///
/// Where it sits: for a WebSocket, first in the pipeline (next to the socket), because its frames are complete
/// WebSocket frames; for an event stream, just after NIO's HTTP/1 response encoder, which adds the chunk framing
/// around the shared event bytes. Everything the framework writes (close handshakes, the stream's end) passes
/// through untouched, and both writers only ever write whole frames on the same event loop, so they never interleave
/// inside a frame.
///
/// Backlog: frames written while the channel is not writable (NIO's buffer is past its high-water mark) are counted;
/// past `backlogLimit` the client is dropped as too slow: a WebSocket gets close 1008 after what it was sent, an event
/// stream ends with an error event (written by its route). A client that never reads is closed after `slowClientGrace`.
///
/// Thread safety: the mutable state is touched on `eventLoop` only; `phase` is guarded by the hub's lock.
public final class TickerConnection: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    public typealias InboundIn = ByteBuffer

    public enum Transport: Sendable {
        case webSocket
        case eventStream
    }

    /// Why a connection ended.
    public enum Ending: Sendable, Equatable {
        /// The channel closed (the client left).
        case clientGone
        /// It fell more than the backlog limit behind and was dropped.
        case tooSlow
        /// The route let go of it (the client's input closed, or the server is shutting down).
        case released
    }

    /// Where the connection stands with its hub (guarded by the hub's lock).
    enum Phase {
        case installing, registered, released
    }

    public let filter: TickerFilter
    public let transport: Transport
    public let eventLoop: any EventLoop
    /// Completed once, on the event loop, when the connection stops getting frames.
    public let ended: EventLoopPromise<Ending>
    var phase = Phase.installing

    private let hub: TickerHub
    private let backlogLimit: Int
    private let heartbeat: TimeAmount
    private let slowClientGrace: TimeAmount
    private var context: ChannelHandlerContext?
    private var open = true
    private var behind = 0
    private var heartbeatTask: RepeatedTask?

    init(hub: TickerHub, filter: TickerFilter, transport: Transport, eventLoop: any EventLoop, heartbeat: Duration) {
        self.hub = hub
        self.filter = filter
        self.transport = transport
        self.eventLoop = eventLoop
        self.backlogLimit = hub.clientBufferLimit
        self.heartbeat = TimeAmount(heartbeat)
        self.slowClientGrace = TimeAmount(hub.slowClientGrace)
        ended = eventLoop.makePromise()
    }

    /// Adds the handler to `channel`'s pipeline (on its event loop).
    func install(in channel: any Channel) throws {
        eventLoop.preconditionInEventLoop()
        let pipeline = channel.pipeline.syncOperations
        switch transport {
        case .webSocket:
            try pipeline.addHandler(self, position: .first)
        case .eventStream:
            let encoder = try pipeline.context(handlerType: HTTPResponseEncoder.self)
            try pipeline.addHandler(self, position: .after(encoder.handler))
        }
    }

    // MARK: - Channel events

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if !context.channel.isActive { end(.clientGone) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        end(.released)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        end(.clientGone)
        context.fireChannelInactive()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { behind = 0 }
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Writing (on the event loop)

    /// Writes what a new connection gets before the live frames (the replay, or an event stream's `retry:`), then
    /// starts the heartbeats.
    func start(with frames: [TickerWireFrame]) {
        guard open, context != nil else { return }
        for frame in frames { write(frame, flush: false) }
        context?.flush()
        heartbeatTask = eventLoop.scheduleRepeatedTask(initialDelay: heartbeat, delay: heartbeat) { [self] _ in
            send(hub.heartbeatFrame)
        }
    }

    /// Writes one live frame, or drops the client if it is too far behind.
    func send(_ frame: TickerWireFrame) {
        guard open, let context else { return }
        if !context.channel.isWritable {
            behind += 1
            if behind > backlogLimit {
                dropAsSlow()
                return
            }
        }
        write(frame, flush: true)
    }

    private func write(_ frame: TickerWireFrame, flush: Bool) {
        guard let context else { return }
        let data: NIOAny
        switch transport {
        case .webSocket: data = NIOAny(frame.webSocket)
        case .eventStream: data = NIOAny(HTTPServerResponsePart.body(.byteBuffer(frame.eventStream)))
        }
        if flush { context.writeAndFlush(data, promise: nil) } else { context.write(data, promise: nil) }
    }

    private func dropAsSlow() {
        hub.countSlowClient()
        if transport == .webSocket, let context {
            let reason = "too slow: more than \(backlogLimit) frames behind; reconnect with since"
            context.writeAndFlush(NIOAny(TickerWireFrame.webSocketClose(code: 1008, reason: reason)), promise: nil)
        }
        // Queued behind what it was already sent: a client that never reads would hold the socket for ever.
        let channel = context?.channel
        eventLoop.scheduleTask(in: slowClientGrace) { channel?.close(promise: nil) }
        end(.tooSlow)
    }

    /// Stops the connection (any thread): no more frames, heartbeats cancelled, the hub forgets it, `ended` completes.
    func end(_ ending: Ending) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.end(ending) }
            return
        }
        guard open else { return }
        open = false
        heartbeatTask?.cancel()
        heartbeatTask = nil
        hub.release(self)
        ended.succeed(ending)
    }

    /// Takes the handler out of the pipeline (an event stream's connection may carry further requests).
    func remove() {
        eventLoop.execute {
            guard let context = self.context else { return }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}
