import Foundation
@testable import NewsAlertStore
import Testing

/// An `Idempotency-Key` publishes one event, even when the process holding the claim dies mid-request.
@Suite struct IdempotencyClaimTests {
    static let body = Data("POST /v1/events\n{\"headline\":\"Quake\"}".utf8)

    static func editor(_ database: AppDatabase) throws -> APIPrincipal {
        let key = try database.createAPIKey(role: .editor)
        return APIPrincipal(keyID: key.id, role: key.role)
    }

    @Test func aNewKeyProceedsAsTheProposedEvent() async throws {
        let database = try AppDatabase.inMemory()
        let editor = try Self.editor(database)
        let proposed = EventIdentity.fresh()
        let claim = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: proposed)
        #expect(claim == .proceed(proposed))
    }

    @Test func aClaimStillPendingIsInProgress() async throws {
        let database = try AppDatabase.inMemory()
        let editor = try Self.editor(database)
        _ = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: .fresh())
        // Stale only after an hour: however slow the machine, the second claim comes while the first is pending.
        let again = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: .fresh(), staleAfter: 3_600)
        #expect(again == .inProgress)
    }

    @Test func aStaleClaimIsTakenOverAsTheSameEvent() async throws {
        let database = try AppDatabase.inMemory()
        let editor = try Self.editor(database)
        let first = EventIdentity.fresh(at: Date(timeIntervalSinceNow: -60))
        _ = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: first)
        // The process that claimed the key died; the client retries after the claim went stale.
        let retry = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: .fresh(), staleAfter: 0)
        #expect(retry == .proceed(first))
        // A second takeover still publishes the first event, and a finished request is answered again.
        let another = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: .fresh(), staleAfter: 0)
        #expect(another == .proceed(first))
        try await database.completeIdempotentRequest("k1", principal: editor, status: 202, body: Data("{}".utf8))
        let answered = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: .fresh(), staleAfter: 0)
        #expect(answered == .replay(status: 202, body: Data("{}".utf8)))
    }

    @Test func aReleasedClaimIsRetriedAtOnceAsTheSameEvent() async throws {
        let database = try AppDatabase.inMemory()
        let editor = try Self.editor(database)
        let first = EventIdentity.fresh()
        _ = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: first)
        try await database.releaseIdempotencyKey("k1", principal: editor)
        let retry = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: .fresh())
        #expect(retry == .proceed(first))
    }

    @Test func theSameKeyWithAnotherBodyIsRefused() async throws {
        let database = try AppDatabase.inMemory()
        let editor = try Self.editor(database)
        _ = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Self.body, proposing: .fresh())
        let other = try await database.claimIdempotencyKey("k1", principal: editor, requestBody: Data("other".utf8), proposing: .fresh(), staleAfter: 0)
        #expect(other == .reusedWithDifferentBody)
    }
}
