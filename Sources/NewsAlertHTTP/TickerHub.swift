import Foundation
import NewsAlertCore
import NIOConcurrencyHelpers

/// A frame the ticker sends: an item with its position, a gap, or a heartbeat, encoded as JSON text.
public enum TickerFrame: Sendable {
    case item(position: Int64, epoch: String, TickerItem)
    case gap(from: Int64, to: Int64?, epoch: String, reason: String)
    case heartbeat(position: Int64?, epoch: String)
    /// A frame already encoded (an item encoded once for all clients).
    case encoded(String)

    public var json: String {
        var object: [String: Any]
        switch self {
        case .encoded(let text):
            return text
        case .item(let position, let epoch, let item):
            let encoded = (try? JSONEncoder.newsAlert.encode(item)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
            object = encoded.filter { $0.key != "audience" }
            object["position"] = position
            object["epoch"] = epoch
        case .gap(let from, let to, let epoch, let reason):
            object = ["type": "gap", "from": from, "to": to.map { $0 as Any } ?? NSNull(), "epoch": epoch, "reason": reason]
        case .heartbeat(let position, let epoch):
            object = ["type": "heartbeat", "position": position.map { $0 as Any } ?? NSNull(), "epoch": epoch]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The live ticker's fan-out to WebSocket clients: the retained window plus every connected client's queue.
///
/// Each client has a bounded queue; a client that falls further behind than `clientBufferLimit` frames is
/// disconnected (and told why) instead of slowing the others or growing memory without bound.
public final class TickerHub: Sendable {
    public struct Connection: Sendable {
        public let id: UUID
        /// Frames to send before the live ones (gap first, then the replayed items).
        public let initial: [TickerFrame]
        public let live: AsyncStream<TickerFrame>
    }

    private struct Client {
        let filter: TickerFilter
        let continuation: AsyncStream<TickerFrame>.Continuation
    }

    private struct State {
        var window: TickerWindow
        var clients: [UUID: Client] = [:]
        var slow: Set<UUID> = []
    }

    public let clientBufferLimit: Int
    private let state: NIOLockedValueBox<State>

    public init(windowCapacity: Int = 10_000, clientBufferLimit: Int = 1_000, epoch: String = "unset") {
        self.clientBufferLimit = clientBufferLimit
        state = NIOLockedValueBox(State(window: TickerWindow(capacity: windowCapacity, epoch: epoch)))
    }

    public var epoch: String { state.withLockedValue { $0.window.epoch } }
    public var clientCount: Int { state.withLockedValue { $0.clients.count } }
    public var latestPosition: Int64? { state.withLockedValue { $0.window.latestPosition } }

    /// Starts a new log (the feed found a different cluster); retained items are dropped.
    public func reset(epoch: String) {
        state.withLockedValue { $0.window = TickerWindow(capacity: $0.window.capacity, epoch: epoch) }
    }

    /// Adds an item at `position` and queues it for every client whose filter admits it.
    public func publish(position: Int64, item: TickerItem) {
        state.withLockedValue { state in
            state.window.append(position: position, item: item)
            // Encoded once here, not once per client.
            let frame = TickerFrame.encoded(TickerFrame.item(position: position, epoch: state.window.epoch, item).json)
            for (id, client) in state.clients where client.filter.admits(item) {
                if case .dropped = client.continuation.yield(frame) {
                    state.slow.insert(id)
                    state.clients[id] = nil
                    client.continuation.finish()
                }
            }
        }
    }

    /// Registers a client; the replay and the registration happen atomically, so no item falls between them.
    public func connect(filter: TickerFilter, after position: Int64?, epoch: String?, backlog: Int) -> Connection {
        let id = UUID()
        let (stream, continuation) = AsyncStream<TickerFrame>.makeStream(bufferingPolicy: .bufferingOldest(clientBufferLimit))
        let initial = state.withLockedValue { state -> [TickerFrame] in
            state.clients[id] = Client(filter: filter, continuation: continuation)
            let replay = state.window.replay(after: position, epoch: epoch, backlog: backlog)
            var frames: [TickerFrame] = []
            if let gap = replay.gap { frames.append(.gap(from: gap.from, to: gap.to, epoch: state.window.epoch, reason: gap.reason)) }
            frames += replay.entries.filter { filter.admits($0.item) }.map { .item(position: $0.position, epoch: state.window.epoch, $0.item) }
            return frames
        }
        return Connection(id: id, initial: initial, live: stream)
    }

    /// Forgets a client and ends its live stream.
    public func disconnect(_ id: UUID) {
        state.withLockedValue { state in
            state.clients.removeValue(forKey: id)?.continuation.finish()
        }
    }

    /// Whether the client was dropped for being too slow (answered once: the flag is cleared).
    public func wasDroppedAsSlow(_ id: UUID) -> Bool {
        state.withLockedValue { $0.slow.remove(id) != nil }
    }
}
