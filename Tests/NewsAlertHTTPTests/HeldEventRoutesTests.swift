import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import NewsAlertCore
import NewsAlertHTTP
import NewsAlertServices
@testable import NewsAlertStore
import Testing

/// FLASH approval by a second editor and embargoes: held in SQLite, not on `news.events` until released.
@Suite("Held events")
struct HeldEventRoutesTests {
    typealias Harness = EventRoutesTests.Harness

    static func post(_ client: any TestClientProtocol, _ path: String, key: String, _ body: [String: any Sendable]?) async throws -> (HTTPResponse.Status, [String: Any]) {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await client.execute(uri: path, method: .post, headers: EventRoutesTests.headers(key), body: data.map { ByteBuffer(bytes: $0) }) { response in
            (response.status, try EventRoutesTests.object(response.body))
        }
    }

    /// A FLASH line's body, as JSON bytes' source (a value closures may capture).
    static func flash(_ headline: String) -> [String: any Sendable] {
        ["kind": "breaking", "headline": headline, "urgency": 1]
    }

    static func errorCode(_ answer: [String: Any]) -> String? {
        (answer["error"] as? [String: Any])?["code"] as? String
    }

    static func releaser(_ harness: Harness) throws -> HeldEventReleaser {
        var logger = Logger(label: "newsalert.tests.held")
        logger.logLevel = .error
        return HeldEventReleaser(database: harness.database, publisher: harness.publisher, logger: logger)
    }

    @Test("a FLASH waits for a second editor; its requester cannot approve it; the decision is recorded with who and when")
    func flashApproval() async throws {
        let harness = try await Harness()
        let second = try harness.database.createAPIKey(role: .editor, displayName: "Rana (night desk)")
        let flash = Self.flash("Explosion heard in central Damascus")
        try await harness.test { client in
            // The preview says what posting would do: wait for a second editor, or for the embargo.
            let (_, preview) = try await Self.post(client, "/v1/events/preview", key: harness.editor, flash)
            let hold = try #require(preview["hold"] as? [String: Any])
            #expect(hold["state"] as? String == "pending_approval")
            #expect(hold["because"] as? String == "a FLASH waits for a second editor's approval (at most 15 minutes)")
            let embargo = RFC3339.format(Date().addingTimeInterval(3600))
            let (_, embargoed) = try await Self.post(client, "/v1/events/preview", key: harness.editor,
                                                     ["kind": "breaking", "headline": "Sirens heard in the north", "urgency": 5, "publish_at": embargo])
            #expect((embargoed["hold"] as? [String: Any])?["state"] as? String == "scheduled")
            #expect((embargoed["hold"] as? [String: Any])?["publish_at"] as? String == embargo)
            let (_, plain) = try await Self.post(client, "/v1/events/preview", key: harness.editor, ["kind": "breaking", "headline": "Sirens heard in the north", "urgency": 5])
            #expect(plain["hold"] is NSNull)
            #expect(try await harness.database.heldEvents(limit: 10).isEmpty, "a preview holds nothing")

            let (status, held) = try await Self.post(client, "/v1/events", key: harness.editor, flash)
            #expect(status == .accepted)
            #expect(held["status"] as? String == "pending_approval")
            let id = try #require(held["id"] as? String)
            let expires = try #require((held["expires_at"] as? String).flatMap(RFC3339.parse))
            #expect(abs(expires.timeIntervalSinceNow - 15 * 60) < 30)
            #expect(try await harness.database.eventLogEntry(id: id) == nil, "not on news.events while it waits")

            let (own, refusal) = try await Self.post(client, "/v1/events/\(id)/approve", key: harness.editor, nil)
            #expect(own == .conflict)
            #expect(Self.errorCode(refusal) == "own_item")

            // A non-FLASH item of the same editor goes out at once.
            let (routine, accepted) = try await Self.post(client, "/v1/events", key: harness.editor, ["kind": "breaking", "headline": "Sirens heard in the north", "urgency": 5])
            #expect(routine == .accepted)
            #expect(accepted["topic"] as? String == "news.events")

            let (approved, decision) = try await Self.post(client, "/v1/events/\(id)/approve", key: second.secret, nil)
            #expect(approved == .accepted)
            #expect(decision["state"] as? String == "scheduled")
            #expect(decision["decision"] as? String == "approved")
            #expect(decision["decided_by_name"] as? String == "Rana (night desk)")
            #expect(decision["decided_by"] as? String == second.id)
            #expect(decision["requested_by_you"] as? Bool == false)
            #expect((decision["decided_at"] as? String).flatMap(RFC3339.parse) != nil)

            let (again, twice) = try await Self.post(client, "/v1/events/\(id)/approve", key: harness.admin, nil)
            #expect(again == .conflict)
            #expect(Self.errorCode(twice) == "not_pending")

            #expect(try await Self.releaser(harness).releaseDue(now: Date()) == 1)
            let logged = try #require(try await harness.database.eventLogEntry(id: id))
            #expect(logged.event.urgency == .flash)
            #expect(try await harness.database.heldEvent(id: id)?.state == .published)
        }
    }

    @Test("an expired FLASH cannot be approved (409 with the time), a rejection is recorded, one editor key needs no approval")
    func expiryRejectionAndSingleEditor() async throws {
        let harness = try await Harness()
        let flash = Self.flash("FLASH: Explosion heard in central Damascus")
        try await harness.test { client in
            // A single editor key: approval is automatic-off, the FLASH goes out at once.
            let (alone, published) = try await Self.post(client, "/v1/events", key: harness.editor, flash)
            #expect(alone == .accepted)
            #expect(published["topic"] as? String == "news.events")
        }
        let second = try harness.database.createAPIKey(role: .editor, displayName: "Second")
        try await harness.test { client in
            let (_, held) = try await Self.post(client, "/v1/events", key: harness.editor, flash)
            let expiring = try #require(held["id"] as? String)
            try await harness.database.writer.write { db in
                try db.execute(sql: "UPDATE held_event SET expires_at = ? WHERE id = ?", arguments: [Date(timeIntervalSinceNow: -1), expiring])
            }
            let (status, refusal) = try await Self.post(client, "/v1/events/\(expiring)/approve", key: second.secret, nil)
            #expect(status == .conflict)
            #expect(Self.errorCode(refusal) == "approval_expired")
            #expect((refusal["error"] as? [String: Any])?["message"] as? String != nil)
            #expect(try await harness.database.heldEvent(id: expiring)?.state == .expired)
            // Once recorded as expired (by the releaser or a first attempt), an approval still says why.
            let (again, stillExpired) = try await Self.post(client, "/v1/events/\(expiring)/approve", key: second.secret, nil)
            #expect(again == .conflict)
            #expect(Self.errorCode(stillExpired) == "approval_expired")

            let (_, another) = try await Self.post(client, "/v1/events", key: harness.editor, flash)
            let rejected = try #require(another["id"] as? String)
            let (rejectStatus, rejection) = try await Self.post(client, "/v1/events/\(rejected)/reject", key: second.secret, ["reason": "not confirmed"])
            #expect(rejectStatus == .ok)
            #expect(rejection["state"] as? String == "rejected")
            #expect(rejection["note"] as? String == "not confirmed")
            #expect(rejection["decided_by_name"] as? String == "Second")
            let (late, lateAnswer) = try await Self.post(client, "/v1/events/\(rejected)/approve", key: harness.admin, nil)
            #expect(late == .conflict)
            #expect(Self.errorCode(lateAnswer) == "not_pending")
            let (unknown, _) = try await Self.post(client, "/v1/events/evt_none/approve", key: second.secret, nil)
            #expect(unknown == .notFound)
        }
        #expect(try await Self.releaser(harness).releaseDue(now: Date()) == 0)
        #expect(try await harness.database.recentEvents(limit: 10).count == 1)
    }

    @Test("publish_at: 422 in the past or more than 30 days ahead; a future one is held until due, and cancellable")
    func embargo() async throws {
        let harness = try await Harness()
        let now = Date()
        try await harness.test { client in
            for (when, problem) in [(now.addingTimeInterval(-60), "is not in the future"), (now.addingTimeInterval(31 * 86_400), "is more than 30 days ahead"), (nil, "must be an RFC 3339")] {
                let value: String = when.map(RFC3339.format) ?? "tomorrow"
                let (status, answer) = try await Self.post(client, "/v1/events", key: harness.editor, ["kind": "breaking", "headline": "Embargoed", "publish_at": value])
                #expect(status == .unprocessableContent)
                let fields = (answer["error"] as? [String: Any])?["fields"] as? [[String: Any]] ?? []
                #expect(fields.count == 1)
                #expect(fields.first?["field"] as? String == "publish_at")
                #expect((fields.first?["problem"] as? String)?.hasPrefix(problem) == true, "\(fields)")
            }
            let publishAt = now.addingTimeInterval(3600)
            let (status, held) = try await Self.post(client, "/v1/events", key: harness.editor, ["kind": "article", "headline": "Budget speech", "publish_at": RFC3339.format(publishAt)])
            #expect(status == .accepted)
            #expect(held["status"] as? String == "scheduled")
            let id = try #require(held["id"] as? String)
            #expect((held["publish_at"] as? String).flatMap(RFC3339.parse).map { abs($0.timeIntervalSince(publishAt)) < 0.001 } == true)
            let releaser = try Self.releaser(harness)
            #expect(try await releaser.releaseDue(now: Date()) == 0, "not before its time")
            #expect(try await harness.database.eventLogEntry(id: id) == nil)
            #expect(try await releaser.releaseDue(now: publishAt) == 1)
            let logged = try #require(try await harness.database.eventLogEntry(id: id))
            #expect(abs(logged.event.publishedAt.timeIntervalSince(publishAt)) < 0.001, "dated at its publish time")

            let (_, other) = try await Self.post(client, "/v1/events", key: harness.editor, ["kind": "article", "headline": "Budget leak", "publish_at": RFC3339.format(publishAt)])
            let canceled = try #require(other["id"] as? String)
            let (cancelStatus, cancellation) = try await Self.post(client, "/v1/events/\(canceled)/cancel", key: harness.admin, ["reason": "the minister postponed"])
            #expect(cancelStatus == .ok)
            #expect(cancellation["state"] as? String == "canceled")
            #expect(try await releaser.releaseDue(now: publishAt.addingTimeInterval(1)) == 0)
            let (published, refusal) = try await Self.post(client, "/v1/events/\(id)/cancel", key: harness.admin, nil)
            #expect(published == .conflict)
            #expect(Self.errorCode(refusal) == "not_pending")

            let listed = try await client.execute(uri: "/v1/held-events", method: .get, headers: EventRoutesTests.headers(harness.editor)) { response in
                try #require(try EventRoutesTests.object(response.body)["held"] as? [[String: Any]])
            }
            #expect(Set(listed.compactMap { $0["state"] as? String }) == ["published", "canceled"])
            #expect(listed.allSatisfy { $0["requested_by_you"] as? Bool == true })
        }
    }

    @Test("held items survive a reopening of the database")
    func survivesRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("held-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let publishAt = Date().addingTimeInterval(600)
        let event = NewsEvent(id: EventID.make(), kind: .breaking, headline: "Embargoed line", publishedAt: publishAt)
        do {
            let database = try AppDatabase.open(directory: directory)
            _ = try await database.schedule(event, requestedBy: APIPrincipal(keyID: "key_a", role: .editor), at: Date(), publishAt: publishAt)
        }
        let reopened = try AppDatabase.open(directory: directory)
        #expect(try await reopened.dueHeldEvents(now: Date(), limit: 10).isEmpty)
        #expect(try await reopened.dueHeldEvents(now: publishAt, limit: 10).map(\.event.id) == [event.id])
        #expect(try await reopened.nextHeldEventDue().map { abs($0.timeIntervalSince(publishAt)) < 0.001 } == true)
    }
}
