import Crypto
import Foundation
import GRDB

/// What to do with a request carrying an `Idempotency-Key`.
public enum IdempotencyClaim: Sendable, Equatable {
    /// First time this key is seen: do the work, then `completeIdempotentRequest`.
    case proceed
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
    /// A claim left pending longer than `staleAfter` belonged to a process that died mid-request: it is taken over,
    /// so the client's retry publishes (enrich drops the copy if the first attempt reached Kafka after all: the
    /// record carries the same idempotency key).
    public func claimIdempotencyKey(_ key: String, principal: APIPrincipal, requestBody: Data, staleAfter: TimeInterval = 30) async throws -> IdempotencyClaim {
        let requestHash = SHA256.hash(data: requestBody).map { String(format: "%02x", $0) }.joined()
        return try await writer.write { db in
            if let row = try Row.fetchOne(
                db, sql: "SELECT request_hash, state, response_status, response_body, created_at FROM idempotency_record WHERE api_key_id = ? AND key = ?",
                arguments: [principal.keyID, key]) {
                guard row["request_hash"] as String == requestHash else { return .reusedWithDifferentBody }
                if row["state"] as String == "done", let status: Int = row["response_status"], let body: Data = row["response_body"] {
                    return .replay(status: status, body: body)
                }
                let claimedAt: Date = row["created_at"]
                guard Date().timeIntervalSince(claimedAt) > staleAfter else { return .inProgress }
                try db.execute(sql: "UPDATE idempotency_record SET created_at = ? WHERE api_key_id = ? AND key = ?", arguments: [Date(), principal.keyID, key])
                return .proceed
            }
            try db.execute(
                sql: "INSERT INTO idempotency_record (api_key_id, key, request_hash, state, created_at) VALUES (?, ?, ?, 'pending', ?)",
                arguments: [principal.keyID, key, requestHash, Date()])
            return .proceed
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

    /// Releases a claimed key after a failure that did not publish anything, so the client may retry.
    public func releaseIdempotencyKey(_ key: String, principal: APIPrincipal) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM idempotency_record WHERE api_key_id = ? AND key = ? AND state = 'pending'", arguments: [principal.keyID, key])
        }
    }
}
