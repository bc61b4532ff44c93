import Foundation

/// Where a subscriber's alerts go: a webhook endpoint, an email address, or the live ticker.
public struct DeliveryChannel: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case webhook, email, ticker
    }

    public enum Status: String, Codable, Sendable, CaseIterable {
        case active, disabled
    }

    public var id: String
    public var subscriberID: String
    public var kind: Kind
    /// The webhook URL or email address; empty for the ticker.
    public var target: String
    /// Webhook signing secrets (`whsec_…`), newest first: all of them sign during a rotation. Empty for other kinds.
    public var secrets: [String]
    public var status: Status
    /// Why the channel was disabled (e.g. "endpoint answered 410 Gone"), when it is.
    public var disabledReason: String?
    /// For an email channel: when and how its owner agreed to get alerts (nil until the confirmation link is used).
    /// Other kinds need none.
    public var consent: Consent?
    public var version: Int
    public var changedAt: Date

    public init(
        id: String, subscriberID: String, kind: Kind, target: String, secrets: [String] = [], status: Status = .active,
        disabledReason: String? = nil, consent: Consent? = nil, version: Int = 1, changedAt: Date
    ) {
        self.id = id
        self.subscriberID = subscriberID
        self.kind = kind
        self.target = target
        self.secrets = secrets
        self.status = status
        self.disabledReason = disabledReason
        self.consent = consent
        self.version = version
        self.changedAt = changedAt
    }

    enum CodingKeys: String, CodingKey {
        case id = "channel_id"
        case subscriberID = "subscriber_id"
        case kind, target, secrets, status
        case disabledReason = "disabled_reason"
        case consent
        case version
        case changedAt = "changed_at"
    }

    /// Whether alerts may go to the channel: active and, for an email address, confirmed by its owner.
    public var isDeliverable: Bool {
        status == .active && (kind != .email || consent != nil)
    }

    /// An email channel still waiting for its owner to confirm it.
    public var awaitsConfirmation: Bool {
        kind == .email && consent == nil
    }
}

extension DeliveryChannel {
    /// The recorded agreement of an address's owner: double opt-in through a confirmation link, or an admin's import.
    public struct Consent: Codable, Sendable, Hashable {
        public var confirmedAt: Date
        /// How consent was given: `confirmation link`, or what an admin's import named (e.g. `newsletter form 2025`).
        public var source: String

        public init(confirmedAt: Date, source: String) {
            self.confirmedAt = confirmedAt
            self.source = source
        }

        enum CodingKeys: String, CodingKey {
            case confirmedAt = "confirmed_at"
            case source
        }
    }
}
