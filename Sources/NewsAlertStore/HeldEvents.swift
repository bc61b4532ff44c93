import Foundation
import GRDB
import NewsAlertCore

/// An event accepted by the newsroom API but not yet on `news.events`: a FLASH waiting for a second editor,
/// or an embargoed item waiting for its publish time.
public struct HeldEvent: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// A FLASH waiting for a second editor.
        case pendingApproval = "pending_approval"
        /// Approved or embargoed: goes on `news.events` at `publishAt`.
        case scheduled
        case published, rejected, expired, canceled
    }

    public var event: NewsEvent
    public var state: State
    /// The API key that posted it, and its display name.
    public var requestedBy: String
    public var requestedByName: String
    public var requestedAt: Date
    /// Until when a second editor may approve it (pending approval only).
    public var expiresAt: Date?
    /// When it goes on `news.events` (scheduled items).
    public var publishAt: Date?
    /// approved, rejected, expired or canceled, once decided.
    public var decision: String?
    public var decidedBy: String?
    public var decidedByName: String?
    public var decidedAt: Date?
    /// The reason given with a rejection or cancellation.
    public var note: String?
    /// When it was put on `news.events`.
    public var publishedAt: Date?

    enum CodingKeys: String, CodingKey {
        case event, state
        case requestedBy = "requested_by"
        case requestedByName = "requested_by_name"
        case requestedAt = "requested_at"
        case expiresAt = "expires_at"
        case publishAt = "publish_at"
        case decision
        case decidedBy = "decided_by"
        case decidedByName = "decided_by_name"
        case decidedAt = "decided_at"
        case note
        case publishedAt = "published_at"
    }
}

/// Why a decision on a held event was refused.
public enum HeldEventRefusal: Error, Sendable, Hashable {
    case notFound
    /// The requester tried to approve their own FLASH.
    case ownItem
    /// The approval window closed at this time.
    case expired(Date)
    /// It was already decided (or is not waiting for this decision).
    case notPending(HeldEvent.State)
}

extension AppDatabase {
    /// Holds a FLASH until a second editor approves it, at the latest until `expiresAt`.
    public func holdForApproval(_ event: NewsEvent, requestedBy principal: APIPrincipal, at now: Date, expiresAt: Date, publishAt: Date?) async throws -> HeldEvent {
        try await hold(event, state: .pendingApproval, principal: principal, now: now, expiresAt: expiresAt, publishAt: publishAt)
    }

    /// Holds an embargoed event until `publishAt`.
    public func schedule(_ event: NewsEvent, requestedBy principal: APIPrincipal, at now: Date, publishAt: Date) async throws -> HeldEvent {
        try await hold(event, state: .scheduled, principal: principal, now: now, expiresAt: nil, publishAt: publishAt)
    }

    private func hold(_ event: NewsEvent, state: HeldEvent.State, principal: APIPrincipal, now: Date, expiresAt: Date?, publishAt: Date?) async throws -> HeldEvent {
        let payload = try JSONEncoder.newsAlert.encode(event)
        return try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO held_event (id, payload, headline, state, requested_by, requested_at, expires_at, publish_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                    """,
                arguments: [event.id, payload, event.headline, state.rawValue, principal.keyID, now, expiresAt, publishAt])
            return try Self.fetchHeld(id: event.id, db)!
        }
    }

    public func heldEvent(id: String) async throws -> HeldEvent? {
        try await writer.read { db in try Self.fetchHeld(id: id, db) }
    }

    /// Items still waiting (pending approval first, then by publish time), then the latest decided ones.
    public func heldEvents(limit: Int) async throws -> [HeldEvent] {
        try await writer.read { db in
            try String.fetchAll(db, sql: """
                SELECT id FROM held_event
                ORDER BY CASE state WHEN 'pending_approval' THEN 0 WHEN 'scheduled' THEN 1 ELSE 2 END,
                         COALESCE(publish_at, requested_at) DESC, id DESC
                LIMIT ?
                """, arguments: [limit]).compactMap { try Self.fetchHeld(id: $0, db) }
        }
    }

    /// A second editor's approval: the FLASH is scheduled for its publish time (now, unless embargoed).
    /// Refused for the requester's own item, after the expiry (which is then recorded), or once decided.
    public func approveHeldEvent(id: String, by principal: APIPrincipal, now: Date) async throws -> Result<HeldEvent, HeldEventRefusal> {
        try await writer.write { db in
            guard let held = try Self.fetchHeld(id: id, db) else { return .failure(.notFound) }
            if held.state == .expired, let expiry = held.expiresAt { return .failure(.expired(expiry)) }
            guard held.state == .pendingApproval else { return .failure(.notPending(held.state)) }
            if let expiry = held.expiresAt, expiry <= now {
                try Self.decide(id, state: .expired, decision: "expired", by: nil, note: nil, now: expiry, db)
                return .failure(.expired(expiry))
            }
            guard held.requestedBy != principal.keyID else { return .failure(.ownItem) }
            try db.execute(
                sql: "UPDATE held_event SET state = 'scheduled', publish_at = MAX(COALESCE(publish_at, ?), ?), decision = 'approved', decided_by = ?, decided_at = ? WHERE id = ?",
                arguments: [now, now, principal.keyID, now, id])
            return .success(try Self.fetchHeld(id: id, db)!)
        }
    }

    /// A rejection (by a second editor, or the requester withdrawing it) or the cancellation of an embargoed item.
    public func dropHeldEvent(id: String, by principal: APIPrincipal, reason: String?, now: Date) async throws -> Result<HeldEvent, HeldEventRefusal> {
        try await writer.write { db in
            guard let held = try Self.fetchHeld(id: id, db) else { return .failure(.notFound) }
            if held.state == .expired, let expiry = held.expiresAt { return .failure(.expired(expiry)) }
            switch held.state {
            case .pendingApproval:
                if let expiry = held.expiresAt, expiry <= now {
                    try Self.decide(id, state: .expired, decision: "expired", by: nil, note: nil, now: expiry, db)
                    return .failure(.expired(expiry))
                }
                try Self.decide(id, state: .rejected, decision: "rejected", by: principal.keyID, note: reason, now: now, db)
            case .scheduled:
                // An approved item keeps its approval on record; the cancellation is noted beside it.
                try db.execute(
                    sql: "UPDATE held_event SET state = 'canceled', note = ?, decided_by = COALESCE(decided_by, ?), decided_at = COALESCE(decided_at, ?), decision = COALESCE(decision, 'canceled') WHERE id = ?",
                    arguments: [reason, principal.keyID, now, id])
            default:
                return .failure(.notPending(held.state))
            }
            return .success(try Self.fetchHeld(id: id, db)!)
        }
    }

    /// Scheduled items whose time has come, oldest first.
    public func dueHeldEvents(now: Date, limit: Int) async throws -> [HeldEvent] {
        try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM held_event WHERE state = 'scheduled' AND publish_at <= ? ORDER BY publish_at, id LIMIT ?", arguments: [now, limit])
                .compactMap { try Self.fetchHeld(id: $0, db) }
        }
    }

    /// The next time something held falls due: a scheduled item's publish time or a pending item's expiry.
    public func nextHeldEventDue() async throws -> Date? {
        try await writer.read { db in
            try Date.fetchOne(db, sql: """
                SELECT MIN(at) FROM (
                    SELECT MIN(publish_at) AS at FROM held_event WHERE state = 'scheduled'
                    UNION ALL SELECT MIN(expires_at) FROM held_event WHERE state = 'pending_approval')
                """)
        }
    }

    /// Marks pending items whose approval window closed as expired; returns how many.
    @discardableResult
    public func expireHeldEvents(now: Date) async throws -> Int {
        try await writer.write { db in
            // Only an actual change is written: the release loop wakes on every write to this table.
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM held_event WHERE state = 'pending_approval' AND expires_at <= ?)", arguments: [now]) == true else {
                return 0
            }
            try db.execute(
                sql: "UPDATE held_event SET state = 'expired', decision = 'expired', decided_at = expires_at WHERE state = 'pending_approval' AND expires_at <= ?",
                arguments: [now])
            return db.changesCount
        }
    }

    /// Records that a scheduled item is on `news.events` (the event log has it from now on). A cancellation that
    /// won the race keeps the item canceled.
    public func markHeldEventPublished(id: String, at now: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE held_event SET state = 'published', published_at = ? WHERE id = ? AND state = 'scheduled'", arguments: [now, id])
        }
    }

    /// Editor keys that are not revoked: FLASH approval needs a second one.
    public func editorKeyCount() async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM api_key WHERE role = 'editor' AND revoked_at IS NULL") ?? 0
        }
    }

    private static func decide(_ id: String, state: HeldEvent.State, decision: String, by keyID: String?, note: String?, now: Date, _ db: Database) throws {
        try db.execute(
            sql: "UPDATE held_event SET state = ?, decision = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?",
            arguments: [state.rawValue, decision, keyID, now, note, id])
    }

    private static func fetchHeld(id: String, _ db: Database) throws -> HeldEvent? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT held_event.*, requester.display_name AS requester_name, requester.label AS requester_label,
                   decider.display_name AS decider_name, decider.label AS decider_label
            FROM held_event
            LEFT JOIN api_key AS requester ON requester.id = held_event.requested_by
            LEFT JOIN api_key AS decider ON decider.id = held_event.decided_by
            WHERE held_event.id = ?
            """, arguments: [id]) else { return nil }
        let requestedBy: String = row["requested_by"]
        let decidedBy: String? = row["decided_by"]
        return HeldEvent(
            event: try JSONDecoder.newsAlert.decode(NewsEvent.self, from: row["payload"] as Data),
            state: HeldEvent.State(rawValue: row["state"]) ?? .canceled,
            requestedBy: requestedBy,
            requestedByName: (row["requester_name"] as String?) ?? (row["requester_label"] as String?) ?? requestedBy,
            requestedAt: row["requested_at"], expiresAt: row["expires_at"], publishAt: row["publish_at"],
            decision: row["decision"], decidedBy: decidedBy,
            decidedByName: decidedBy.map { (row["decider_name"] as String?) ?? (row["decider_label"] as String?) ?? $0 },
            decidedAt: row["decided_at"], note: row["note"], publishedAt: row["published_at"])
    }
}
