import Foundation
import Metrics
import NewsAlertCore
import NIOConcurrencyHelpers
import NIOCore

/// The live ticker's fan-out: the retained window, the distinct filters in use, and every connection, grouped by
/// the event loop its channel runs on.
///
/// A published item is encoded once (`TickerWireFrame`: WebSocket and event-stream bytes), each distinct filter is
/// evaluated once, and each event loop gets one task that writes the shared bytes to its connections that admit the
/// item. A connection that falls more than `clientBufferLimit` frames behind is dropped (see `TickerConnection`),
/// instead of slowing the others or growing memory without bound.
public final class TickerHub: Sendable {
    private struct State {
        var window: TickerWindow
        /// Each filter in use and how many connections use it.
        var filters: [TickerFilter: Int] = [:]
        var shards: [ObjectIdentifier: TickerLoopShard] = [:]
        var clients = 0
        var slowClients = 0
        var heartbeat: TickerWireFrame
        /// Filters GRIP-proxied clients asked for, with the proxy channel of each (see TickerRoutes+Grip.swift).
        var gripChannels: [TickerFilter: String] = [:]
    }

    public let clientBufferLimit: Int
    /// How long a client dropped as too slow may take to read what it was sent before its socket is closed.
    public let slowClientGrace: Duration
    private let state: NIOLockedValueBox<State>

    public init(windowCapacity: Int = 10_000, clientBufferLimit: Int = 1_000, epoch: String = "unset", slowClientGrace: Duration = .seconds(30)) {
        self.clientBufferLimit = clientBufferLimit
        self.slowClientGrace = slowClientGrace
        state = NIOLockedValueBox(State(
            window: TickerWindow(capacity: windowCapacity, epoch: epoch),
            heartbeat: TickerWireFrame(.heartbeat(position: nil, epoch: epoch))))
    }

    public var epoch: String { state.withLockedValue { $0.window.epoch } }
    public var clientCount: Int { state.withLockedValue { $0.clients } }
    public var latestPosition: Int64? { state.withLockedValue { $0.window.latestPosition } }
    /// Connections dropped for falling too far behind, since start.
    public var slowClientCount: Int { state.withLockedValue { $0.slowClients } }
    /// How many distinct filters the connected clients use (each is evaluated once per item).
    public var distinctFilterCount: Int { state.withLockedValue { $0.filters.count } }
    /// The current heartbeat, encoded once for everyone (it changes with each item).
    var heartbeatFrame: TickerWireFrame { state.withLockedValue { $0.heartbeat } }

    /// Starts a new log (the feed found a different cluster); retained items are dropped.
    public func reset(epoch: String) {
        state.withLockedValue {
            $0.window = TickerWindow(capacity: $0.window.capacity, epoch: epoch)
            $0.heartbeat = TickerWireFrame(.heartbeat(position: nil, epoch: epoch))
        }
    }

    /// Adds an item at `position` and writes it to every connection whose filter admits it.
    public func publish(position: Int64, item: TickerItem) {
        state.withLockedValue { state in
            if let latest = state.window.latestPosition, position <= latest { return }
            state.window.append(position: position, item: item)
            let epoch = state.window.epoch
            state.heartbeat = TickerWireFrame(.heartbeat(position: position, epoch: epoch))
            let admitted = Set(state.filters.keys.filter { $0.admits(item) })
            guard !admitted.isEmpty else { return }
            let frame = TickerWireFrame(.item(position: position, epoch: epoch, item))
            // Enqueued under the lock, so on each loop the frames keep their order and follow every earlier start.
            for shard in state.shards.values {
                shard.loop.execute { shard.broadcast(frame, to: admitted) }
            }
        }
    }

    /// Adds a client on `channel`: installs its handler, then registers it and writes its replay (gap first, then the
    /// retained items it asked for) in one step under the lock, so no item falls between replay and live frames.
    /// `prelude` goes first (an event stream's `retry:`).
    public func connect(
        filter: TickerFilter, after position: Int64?, epoch: String?, backlog: Int, channel: any Channel,
        transport: TickerConnection.Transport, heartbeat: Duration, prelude: [TickerWireFrame] = []
    ) async throws -> TickerConnection {
        let connection = TickerConnection(hub: self, filter: filter, transport: transport, eventLoop: channel.eventLoop, heartbeat: heartbeat)
        do {
            try await channel.eventLoop.submit { try connection.install(in: channel) }.get()
        } catch {
            connection.end(.clientGone)
            throw error
        }
        state.withLockedValue { state in
            guard connection.phase == .installing else { return }  // the channel closed meanwhile
            connection.phase = .registered
            state.clients += 1
            state.filters[filter, default: 0] += 1
            let loop = channel.eventLoop
            let shard = state.shards[ObjectIdentifier(loop)] ?? TickerLoopShard(loop: loop)
            state.shards[ObjectIdentifier(loop)] = shard

            let frames = prelude + Self.replay(state.window, filter: filter, after: position, epoch: epoch, backlog: backlog)
            loop.execute {
                shard.add(connection)
                connection.start(with: frames)
            }
        }
        return connection
    }

    /// What a client gets before the live frames: a gap first (if any), then the retained items it asked for.
    public func replay(filter: TickerFilter, after position: Int64?, epoch: String?, backlog: Int) -> [TickerWireFrame] {
        state.withLockedValue { Self.replay($0.window, filter: filter, after: position, epoch: epoch, backlog: backlog) }
    }

    private static func replay(_ window: TickerWindow, filter: TickerFilter, after position: Int64?, epoch: String?, backlog: Int) -> [TickerWireFrame] {
        let replay = window.replay(after: position, epoch: epoch, backlog: backlog)
        var frames: [TickerWireFrame] = []
        if let gap = replay.gap {
            frames.append(TickerWireFrame(.gap(from: gap.from, to: gap.to, epoch: window.epoch, reason: gap.reason)))
        }
        for entry in replay.entries where filter.admits(entry.item) {
            frames.append(TickerWireFrame(.item(position: entry.position, epoch: window.epoch, entry.item)))
        }
        return frames
    }

    /// The proxy channel of `filter`, remembered so that every later item it admits is published to it; nil when
    /// `gripChannelLimit` distinct filters are already known.
    func gripChannel(for filter: TickerFilter) -> String? {
        state.withLockedValue { state in
            if let channel = state.gripChannels[filter] { return channel }
            guard state.gripChannels.count < Self.gripChannelLimit else { return nil }
            let channel = filter.gripChannel
            state.gripChannels[filter] = channel
            return channel
        }
    }

    /// The proxy channels whose filter admits `item` (each distinct filter evaluated once).
    public func gripChannels(admitting item: TickerItem) -> [String] {
        state.withLockedValue { $0.gripChannels.filter { $0.key.admits(item) }.map(\.value).sorted() }
    }

    /// Distinct filters the GRIP proxy may hold clients for (each is one proxy channel).
    static let gripChannelLimit = 100_000

    /// Forgets a connection (called once by the connection when it ends).
    func release(_ connection: TickerConnection) {
        state.withLockedValue { state in
            let wasRegistered = connection.phase == .registered
            connection.phase = .released
            guard wasRegistered else { return }
            state.clients -= 1
            if let count = state.filters[connection.filter], count > 1 {
                state.filters[connection.filter] = count - 1
            } else {
                state.filters[connection.filter] = nil
            }
            if let shard = state.shards[ObjectIdentifier(connection.eventLoop)] {
                shard.loop.execute { shard.remove(connection) }
            }
        }
    }

    func countSlowClient() {
        state.withLockedValue { $0.slowClients += 1 }
        Counter(label: "newsalert_ticker_slow_clients_total").increment()
    }
}

/// The connections of one event loop, by filter. Touched only on `loop` (hence `@unchecked Sendable`).
final class TickerLoopShard: @unchecked Sendable {
    let loop: any EventLoop
    private var members: [TickerFilter: [ObjectIdentifier: TickerConnection]] = [:]

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func add(_ connection: TickerConnection) {
        members[connection.filter, default: [:]][ObjectIdentifier(connection)] = connection
    }

    func remove(_ connection: TickerConnection) {
        members[connection.filter]?[ObjectIdentifier(connection)] = nil
        if members[connection.filter]?.isEmpty == true { members[connection.filter] = nil }
    }

    /// Writes `frame` to every connection here whose filter is in `admitted`.
    func broadcast(_ frame: TickerWireFrame, to admitted: Set<TickerFilter>) {
        for filter in admitted {
            guard let group = members[filter] else { continue }
            for connection in group.values { connection.send(frame) }
        }
    }
}
