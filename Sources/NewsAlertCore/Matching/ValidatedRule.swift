import Foundation

/// A subscription rule that passed validation: what it matches and how its matches are delivered.
public struct ValidatedRule: Sendable, Hashable {
    public let criteria: MatchCriteria
    public let quietHours: QuietHours?
    public let delivery: DeliveryMode
    /// Channel ids; empty means the subscriber's default channels.
    public let channels: [String]
    /// The subscriber's zone, in which quiet hours and digest times are read.
    public let timeZone: TimeZone

    public init(criteria: MatchCriteria, quietHours: QuietHours? = nil, delivery: DeliveryMode = .immediate, channels: [String] = [], timeZone: TimeZone) {
        self.criteria = criteria
        self.quietHours = quietHours
        self.delivery = delivery
        self.channels = channels
        self.timeZone = timeZone
    }
}
