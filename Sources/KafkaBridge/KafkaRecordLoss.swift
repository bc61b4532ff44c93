import Foundation

/// Records a consumer will never read because the partition no longer holds them: its group's position fell
/// below the partition's first retained offset (retention deleted them while the group lagged), or a reader of a
/// whole log found the log's beginning gone. librdkafka moves such a consumer on to the first retained record
/// without a word; the consumer notices the jump and reports it.
public struct KafkaRecordLoss: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A consumer group's committed or next position was below the first retained offset.
        case positionBehindLog = "position_behind_log"
        /// A reader that must see a whole log (a compacted changelog) found its beginning deleted.
        case logBeginningGone = "log_beginning_gone"
    }

    public var kind: Kind
    public var groupID: String
    public var topic: String
    public var partition: Int32
    /// The first and last offset that will never be read.
    public var firstLost: Int64
    public var lastLost: Int64

    public var count: Int64 { lastLost - firstLost + 1 }

    public var description: String {
        let what = kind == .logBeginningGone ? "the beginning of the log is gone" : "the group's position was behind the retained log"
        return "\(topic)[\(partition)] offsets \(firstLost)...\(lastLost) (\(count) records) never read by group \(groupID): \(what)"
    }

    public init(kind: Kind, groupID: String, topic: String, partition: Int32, firstLost: Int64, lastLost: Int64) {
        self.kind = kind
        self.groupID = groupID
        self.topic = topic
        self.partition = partition
        self.firstLost = firstLost
        self.lastLost = lastLost
    }
}

/// How a consumer checks that it reads every record: a work group continues from its committed position, a
/// whole-log reader starts at offset 0 (unless retention by age removed the oldest records on purpose).
public enum KafkaLossCheck: Sendable {
    /// Each partition must go on from the group's committed offset, record after record.
    case groupPosition
    /// Each partition must start at offset 0; with `retention`, a first record older than the retention (less a
    /// margin) shows the beginning was deleted by age, as configured, not lost.
    case wholeLog(retention: Duration?)
    case off
}
