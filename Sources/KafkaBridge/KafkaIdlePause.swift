import NIOConcurrencyHelpers

/// Lets consumers sleep while nothing happens, on a cluster whose records come (nearly) all from producers in the same
/// process: the embedded broker inside `serve`.
///
/// librdkafka's mock cluster holds an empty fetch for the whole `fetch.wait.max.ms` and does not answer early when a
/// record arrives, so an idle consumer there either asks often (a steady CPU cost) or waits long (latency on every hop).
/// With an idle pause, a consumer that got nothing for `pauseAfter` pauses its partitions and sends no fetch at all; every
/// producer made from the same configuration rings `wakeups` when the broker acknowledges a record, and a paused consumer
/// of that topic resumes at once. Records written by producers in other processes still arrive: a paused consumer looks
/// again every `probeEvery`, for `probeWindow`.
public struct KafkaIdlePause: Sendable {
    public var wakeups: KafkaLocalWakeups
    /// How long a consumer fetches with nothing arriving before it pauses.
    public var pauseAfter: Duration
    /// How often a paused consumer resumes to look for records from producers outside this process.
    public var probeEvery: Duration
    /// How long such a look lasts when it finds nothing (a few fetch waits).
    public var probeWindow: Duration

    public init(
        wakeups: KafkaLocalWakeups = KafkaLocalWakeups(),
        pauseAfter: Duration = .seconds(1),
        probeEvery: Duration = .seconds(5),
        probeWindow: Duration = .milliseconds(150)
    ) {
        self.wakeups = wakeups
        self.pauseAfter = pauseAfter
        self.probeEvery = probeEvery
        self.probeWindow = probeWindow
    }
}

/// The doorbell between the producers and the consumers of one process: producers ring it per acknowledged record,
/// consumers listen for their topics.
public final class KafkaLocalWakeups: Sendable {
    private struct Listeners {
        var nextID = 0
        var byTopic: [String: [Int: @Sendable (String) -> Void]] = [:]
    }

    private let listeners = NIOLockedValueBox(Listeners())

    public init() {}

    /// Tells every listener of `topic` that the broker acknowledged a record there.
    func recordStored(onTopic topic: String) {
        guard let wakes = listeners.withLockedValue({ $0.byTopic[topic] }) else { return }
        for wake in wakes.values { wake(topic) }
    }

    /// Calls `wake` with the topic of every record stored on one of `topics`, until `stopListening` with the returned id.
    func listen(to topics: [String], _ wake: @escaping @Sendable (String) -> Void) -> Int {
        listeners.withLockedValue { listeners in
            let id = listeners.nextID
            listeners.nextID += 1
            for topic in topics { listeners.byTopic[topic, default: [:]][id] = wake }
            return id
        }
    }

    func stopListening(_ id: Int) {
        listeners.withLockedValue { listeners in
            for topic in listeners.byTopic.keys {
                listeners.byTopic[topic]?[id] = nil
                if listeners.byTopic[topic]?.isEmpty == true { listeners.byTopic[topic] = nil }
            }
        }
    }
}
