import NIOConcurrencyHelpers

/// What `/readyz` reports besides Kafka's reachability: records this node's consumers will never read, and
/// reasons that keep the node out of service (a replica whose log lost its beginning would serve a partial copy).
public final class NodeHealth: Sendable {
    public struct Snapshot: Sendable {
        /// Records lost since start, over every topic.
        public var recordsLost: Int64
        /// The latest losses, newest last (at most `keptLosses`), each naming topic, partition and offsets.
        public var losses: [String]
        /// Why the node is not ready, by component.
        public var blockers: [String: String]
    }

    static let keptLosses = 20
    private let state = NIOLockedValueBox(Snapshot(recordsLost: 0, losses: [], blockers: [:]))

    public init() {}

    public var snapshot: Snapshot { state.withLockedValue { $0 } }

    /// Notes `count` records lost (`summary` says where); with `blocking`, the node stays not ready for `component`.
    public func recordLoss(_ summary: String, count: Int64, blockingComponent component: String? = nil) {
        state.withLockedValue {
            $0.recordsLost += count
            $0.losses.append(summary)
            if $0.losses.count > Self.keptLosses { $0.losses.removeFirst($0.losses.count - Self.keptLosses) }
            if let component { $0.blockers[component] = summary }
        }
    }
}
