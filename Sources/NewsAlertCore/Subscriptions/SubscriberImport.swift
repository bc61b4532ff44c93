import Foundation

/// One checked line of a bulk subscriber import: what the subscriber keyed by the newsroom's `externalID`, its
/// channels and its rules are to be after the import.
public struct SubscriberImport: Sendable, Hashable {
    /// A webhook or email channel of an import line.
    public struct Channel: Sendable, Hashable {
        public var kind: DeliveryChannel.Kind
        public var target: String
        /// The `whsec_` secret the line brought (a newsroom migrating its endpoints), or a fresh one.
        public var secret: String?
        /// True when the line brought `secret`; a fresh one is used only for a channel that is new.
        public var secretGiven: Bool

        public init(kind: DeliveryChannel.Kind, target: String, secret: String?, secretGiven: Bool) {
            self.kind = kind
            self.target = target
            self.secret = secret
            self.secretGiven = secretGiven
        }
    }

    /// The line number in the file (1-based), for the report and for duplicates.
    public var line: Int
    public var externalID: String
    public var name: String
    public var timeZone: String
    public var budget: Budget
    public var channels: [Channel]
    public var rules: [SubscriptionRule]

    public init(line: Int, externalID: String, name: String, timeZone: String, budget: Budget, channels: [Channel], rules: [SubscriptionRule]) {
        self.line = line
        self.externalID = externalID
        self.name = name
        self.timeZone = timeZone
        self.budget = budget
        self.channels = channels
        self.rules = rules
    }
}

/// What an import did with one line.
public struct SubscriberImportOutcome: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// A new subscriber.
        case created
        /// An existing subscriber (same `external_id`) whose fields, channels or rules changed.
        case updated
        /// An existing subscriber that already was exactly what the line says: nothing written.
        case unchanged
        /// The `external_id` appeared on an earlier line of the same import: the line changed nothing.
        case duplicate
    }

    /// A channel of the subscriber after the import; `secret` only when this import generated it.
    public struct Channel: Sendable, Hashable {
        public var id: String
        public var kind: DeliveryChannel.Kind
        public var target: String
        public var generatedSecret: String?

        public init(id: String, kind: DeliveryChannel.Kind, target: String, generatedSecret: String?) {
            self.id = id
            self.kind = kind
            self.target = target
            self.generatedSecret = generatedSecret
        }
    }

    public var line: Int
    public var externalID: String
    public var status: Status
    public var subscriberID: String
    public var channels: [Channel]
    /// For a duplicate: the line that already imported this `external_id`.
    public var firstLine: Int?

    public init(line: Int, externalID: String, status: Status, subscriberID: String, channels: [Channel] = [], firstLine: Int? = nil) {
        self.line = line
        self.externalID = externalID
        self.status = status
        self.subscriberID = subscriberID
        self.channels = channels
        self.firstLine = firstLine
    }
}
