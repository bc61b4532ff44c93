import Foundation

/// One rule of one subscriber, as stored and as replicated on `subscriptions.changelog`.
public struct Subscription: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case active, disabled
    }

    public var id: String
    public var subscriberID: String
    public var name: String?
    public var rule: SubscriptionRule
    public var status: Status
    public var version: Int
    public var changedAt: Date

    public init(id: String, subscriberID: String, name: String? = nil, rule: SubscriptionRule, status: Status = .active, version: Int = 1, changedAt: Date) {
        self.id = id
        self.subscriberID = subscriberID
        self.name = name
        self.rule = rule
        self.status = status
        self.version = version
        self.changedAt = changedAt
    }

    enum CodingKeys: String, CodingKey {
        case id = "subscription_id"
        case subscriberID = "subscriber_id"
        case name, rule, status, version
        case changedAt = "changed_at"
    }
}
