/// The ticker's retained window: the latest items by position, for clients that reconnect and resume.
///
/// Positions are `alerts.ticker` offsets, so every ticker process numbers items alike and a client may resume on
/// any of them. The epoch names the log the positions belong to (the Kafka cluster); a client whose epoch differs,
/// or whose position is older than the window, is told so with a gap instead of silently missing items.
public struct TickerWindow: Sendable {
    public struct Entry: Sendable {
        public let position: Int64
        public let item: TickerItem
    }

    /// What a resuming client gets: a gap to report first (if any), then the retained items after its position.
    public struct Replay: Sendable {
        /// Positions the client missed that the window no longer holds (`from...to`), or nil.
        public var gap: (from: Int64, to: Int64?, reason: String)?
        public var entries: [Entry]
    }

    public let capacity: Int
    public let epoch: String
    private var entries: [Entry] = []
    private var start = 0

    public init(capacity: Int, epoch: String) {
        self.capacity = max(1, capacity)
        self.epoch = epoch
    }

    public var latestPosition: Int64? { entries.last?.position }
    public var count: Int { entries.count - start }

    public mutating func append(position: Int64, item: TickerItem) {
        if let latest = latestPosition, position <= latest { return }
        entries.append(Entry(position: position, item: item))
        if entries.count - start > capacity { start += 1 }
        if start > capacity {
            entries.removeFirst(start)
            start = 0
        }
    }

    /// The items a client should get: after `position` in `epoch` (a resume), or the last `backlog` items (a new client).
    public func replay(after position: Int64?, epoch clientEpoch: String?, backlog: Int) -> Replay {
        let retained = entries[start...]
        guard let position else {
            return Replay(gap: nil, entries: Array(retained.suffix(max(0, backlog))))
        }
        if let clientEpoch, clientEpoch != epoch {
            return Replay(gap: (0, latestPosition, "the ticker log changed (epoch \(clientEpoch) is not \(epoch)); positions start over"), entries: Array(retained))
        }
        guard let first = retained.first else {
            return Replay(gap: nil, entries: [])
        }
        if position + 1 < first.position {
            return Replay(gap: (position + 1, first.position - 1, "items \(position + 1)–\(first.position - 1) are older than the retained window"), entries: Array(retained))
        }
        return Replay(gap: nil, entries: retained.filter { $0.position > position })
    }
}
