/// How many alerts a subscriber was sent recently, across all of their rules, for budget checks.
public struct RecentDeliveries: Sendable, Hashable {
    /// Alerts sent in the 60 minutes before now.
    public var lastHour: Int
    /// Alerts sent in the 24 hours before now.
    public var lastDay: Int

    public static let none = RecentDeliveries(lastHour: 0, lastDay: 0)

    public init(lastHour: Int, lastDay: Int) {
        self.lastHour = lastHour
        self.lastDay = lastDay
    }
}
