import Crypto
import Foundation
import GRDB
import NewsAlertCore

/// The id and receive time an accepted event gets. Kept with a pending idempotency claim, so a retry that takes the
/// claim over publishes the very same event again, never a second one.
public struct EventIdentity: Sendable, Equatable {
    public var id: String
    public var receivedAt: Date

    public init(id: String, receivedAt: Date) {
        self.id = id
        self.receivedAt = receivedAt
    }

    /// A new identity for an event received now, to the millisecond (as it is kept).
    public static func fresh(at receivedAt: Date = Date()) -> EventIdentity {
        let received = Date(millisecondsSince1970: receivedAt.millisecondsSince1970)
        return EventIdentity(id: EventID.make(at: received), receivedAt: received)
    }
}

/// What to do with a request carrying an `Idempotency-Key`.
public enum IdempotencyClaim: Sendable, Equatable {
    /// Do the work as the event `identity`, then `completeIdempotentRequest`: the proposed identity when the key is
    /// new, the claim's own when taking over a claim its process left pending.
    case proceed(EventIdentity)
    /// Same key, same body, already answered: send this answer again.
    case replay(status: Int, body: Data)
    /// Same key, different body.
    case reusedWithDifferentBody
    /// Same key, same body, still being processed by another request.
    case inProgress
}

extension AppDatabase {
    /// Claims `key` for this caller and request body, atomically.
    ///
    /// A claim left pending longer than `staleAfter` belonged to a process that died mid-request: it is taken over
    /// with the event identity it recorded, so the client's retry publishes the same event under the same id (enrich
    /// drops the copy if the first attempt reached Kafka after all) and the id the client is told is the one delivered.
    public func claimIdempotencyKey(
        _ key: String, principal: APIPrincipal, requestBody: Data, proposing identity: EventIdentity, staleAfter: TimeInterval = 30
    ) async throws -> IdempotencyClaim {
        let requestHash = SHA256.hash(data: requestBody).map { String(format: "%02x", $0) }.joined()
        return try await writer.write { db in
            if let row = try Row.fetchOne(
                db, sql: """
                    SELECT request_hash, state, response_status, response_body, created_at, event_id, event_received_at
                    FROM idempotency_record WHERE api_key_id = ? AND key = ?
                    """,
                arguments: [principal.keyID, key]) {
                guard row["request_hash"] as String == requestHash else { return .reusedWithDifferentBody }
                if row["state"] as String == "done", let status: Int = row["response_status"], let body: Data = row["response_body"] {
                    return .replay(status: status, body: body)
                }
                let claimedAt: Date = row["created_at"]
                guard Date().timeIntervalSince(claimedAt) > staleAfter else { return .inProgress }
                let recorded = (row["event_id"] as String?).flatMap { id in
                    (row["event_received_at"] as Int64?).map { EventIdentity(id: id, receivedAt: Date(millisecondsSince1970: $0)) }
                }
                let takeover = recorded ?? identity
                try db.execute(
                    sql: "UPDATE idempotency_record SET created_at = ?, event_id = ?, event_received_at = ? WHERE api_key_id = ? AND key = ?",
                    arguments: [Date(), takeover.id, takeover.receivedAt.millisecondsSince1970, principal.keyID, key])
                return .proceed(takeover)
            }
            try db.execute(
                sql: """
                    INSERT INTO idempotency_record (api_key_id, key, request_hash, state, created_at, event_id, event_received_at)
                    VALUES (?, ?, ?, 'pending', ?, ?, ?)
                    """,
                arguments: [principal.keyID, key, requestHash, Date(), identity.id, identity.receivedAt.millisecondsSince1970])
            return .proceed(identity)
        }
    }

    /// Stores the answer given for a claimed key, so a retry gets the same one.
    public func completeIdempotentRequest(_ key: String, principal: APIPrincipal, status: Int, body: Data) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE idempotency_record SET state = 'done', response_status = ?, response_body = ? WHERE api_key_id = ? AND key = ?",
                arguments: [status, body, principal.keyID, key])
        }
    }

    /// Releases a claimed key after a request failed without an answer to keep (Kafka unavailable, say), so the
    /// client may retry at once. The retry takes the claim over as the same event: had the failed attempt reached
    /// Kafka after all, enrich drops the second copy by its id.
    public func releaseIdempotencyKey(_ key: String, principal: APIPrincipal) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE idempotency_record SET created_at = ? WHERE api_key_id = ? AND key = ? AND state = 'pending'",
                arguments: [Date.distantPast, principal.keyID, key])
        }
    }
}

extension Date {
    fileprivate var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    fileprivate init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
