/// A subscription whose rule matched an event, with the reasons it matched.
public struct RuleMatch: Codable, Sendable, Hashable, CustomStringConvertible {
    public var subscriptionID: String
    public var subscriberID: String
    /// One reason per matched value, in clause order (sections, regions, countries, tags, entities, kinds,
    /// max_urgency, keywords).
    public var reasons: [MatchReason]

    public init(subscriptionID: String, subscriberID: String, reasons: [MatchReason]) {
        self.subscriptionID = subscriptionID
        self.subscriberID = subscriberID
        self.reasons = reasons
    }

    /// The reasons as one line: `regions: MENA; keywords: "drone strike"`.
    public var explanation: String { reasons.map(\.description).joined(separator: "; ") }

    public var description: String { "\(subscriptionID) (\(subscriberID)): \(explanation)" }

    enum CodingKeys: String, CodingKey {
        case subscriptionID = "subscription_id"
        case subscriberID = "subscriber_id"
        case reasons
    }
}
