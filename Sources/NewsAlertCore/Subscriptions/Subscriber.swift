import Foundation

/// Someone who receives alerts: a person, a desk, or a downstream system.
public struct Subscriber: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case active, disabled
    }

    public var id: String
    public var name: String
    /// IANA time zone in which quiet hours and digest times are read.
    public var timeZone: String
    public var status: Status
    /// Cap across all of the subscriber's rules.
    public var budget: Budget
    /// 1 on creation, one more with every change; replicas keep the highest.
    public var version: Int
    public var changedAt: Date

    public init(id: String, name: String, timeZone: String, status: Status = .active, budget: Budget = .unlimited, version: Int = 1, changedAt: Date) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.status = status
        self.budget = budget
        self.version = version
        self.changedAt = changedAt
    }

    enum CodingKeys: String, CodingKey {
        case id = "subscriber_id"
        case name
        case timeZone = "time_zone"
        case status, budget, version
        case changedAt = "changed_at"
    }
}
