import Foundation
import Hummingbird
import HummingbirdTesting
import NewsAlertCore
import NewsAlertHTTP
@testable import NewsAlertStore
import Testing

/// `POST /v1/subscribers/import` and `GET /v1/subscribers/export`: an idempotent upsert by external_id with a report
/// per line, in which a bad line changes nothing of itself and stops nothing else.
@Suite("Subscriber import routes")
struct SubscriberImportRoutesTests {
    typealias Harness = EventRoutesTests.Harness

    /// A public address the SSRF guard accepts without DNS; nothing is ever sent to it here.
    static let publicHook = "https://93.184.215.14/hooks"
    static let givenSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    static func headers(_ key: String) -> HTTPFields {
        [.authorization: "Bearer \(key)", .contentType: "application/x-ndjson"]
    }

    static func lines(_ buffer: ByteBuffer) throws -> [[String: Any]] {
        try String(buffer: buffer).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    static func fields(_ report: [String: Any]) -> [String] {
        (report["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }

    @Test("good lines are created with their channels and rules, bad ones are reported by line and field and write nothing")
    func importReport() async throws {
        let harness = try await Harness()
        let file = [
            #"{"external_id": "crm-1", "name": "Beirut desk", "time_zone": "Asia/Beirut", "channels": [{"kind": "webhook", "url": "\#(Self.publicHook)/1"}, {"kind": "email", "address": "desk@example.com"}], "subscriptions": [{"rule": {"regions": ["MENA"]}}, {"rule": {"all": true}}]}"#,
            #"{"external_id": "crm-2", "name": "Unknown field", "time_zone": "UTC", "channels": [], "subscriptions": [], "colour": "red"}"#,
            #"{"external_id": "crm-3", "name": "Bad zone", "time_zone": "Mars/Olympus", "channels": [], "subscriptions": []}"#,
            "",
            #"{"external_id": "crm-4", "name": "Private hook", "time_zone": "UTC", "channels": [{"kind": "webhook", "url": "http://10.0.0.5/hook"}], "subscriptions": []}"#,
            #"{"external_id": "crm-1", "name": "Again", "time_zone": "UTC", "channels": [], "subscriptions": []}"#,
            #"{"external_id": "crm-5", "name": "Migrated", "time_zone": "Europe/Paris", "budget": {"per_day": 20}, "channels": [{"kind": "webhook", "url": "\#(Self.publicHook)/5", "secret": "\#(Self.givenSecret)"}], "subscriptions": [{"rule": {"keywords": "ceasefire"}}]}"#,
            "not json at all",
            #"{"external_id": "crm-6", "name": "Bad rule", "time_zone": "UTC", "channels": [], "subscriptions": [{"rule": {"regions": ["Atlantis"]}}]}"#,
            #"{"external_id": "crm-7", "name": "Bad secret", "time_zone": "UTC", "channels": [{"kind": "webhook", "url": "\#(Self.publicHook)/7", "secret": "hunter2"}], "subscriptions": []}"#,
        ].joined(separator: "\n")
        try await harness.test { client in
            let report = try await client.execute(uri: "/v1/subscribers/import", method: .post, headers: Self.headers(harness.admin), body: ByteBuffer(string: file)) { response in
                #expect(response.status == .ok)
                return try Self.lines(response.body)
            }
            let byLine = Dictionary(uniqueKeysWithValues: report.compactMap { line in (line["line"] as? Int).map { ($0, line) } })
            #expect(byLine.keys.sorted() == [1, 2, 3, 5, 6, 7, 8, 9, 10], "every line but the blank one is reported")
            #expect(report.compactMap { $0["line"] as? Int } == byLine.keys.sorted(), "in line order")
            #expect(byLine[1]?["status"] as? String == "created")
            #expect(byLine[7]?["status"] as? String == "created")
            #expect(Self.fields(byLine[2]!) == ["colour"])
            #expect(Self.fields(byLine[3]!) == ["time_zone"])
            #expect(Self.fields(byLine[5]!) == ["channels[0].url"])
            #expect(Self.fields(byLine[6]!) == ["external_id"])
            #expect(Self.fields(byLine[8]!) == [""])
            #expect(Self.fields(byLine[9]!).allSatisfy { $0.hasPrefix("subscriptions[0].rule.regions") } && !Self.fields(byLine[9]!).isEmpty)
            #expect(Self.fields(byLine[10]!) == ["channels[0].secret"])
            for line in [2, 3, 5, 6, 8, 9, 10] { #expect(byLine[line]?["status"] as? String == "rejected", "line \(line)") }
            let summary = try #require(report.last?["summary"] as? [String: Int])
            #expect(summary == ["lines": 10, "created": 2, "updated": 0, "unchanged": 0, "rejected": 7])

            // A generated secret is answered once, in the line's report; a secret the line brought is not echoed.
            let created = try #require(byLine[1]?["channels"] as? [[String: Any]])
            let generated = try #require(created.first { $0["kind"] as? String == "webhook" }?["secret"] as? String)
            #expect(generated.hasPrefix("whsec_"))
            #expect((byLine[7]?["channels"] as? [[String: Any]])?.first?["secret"] == nil)
            #expect(!String(describing: report).contains(Self.givenSecret))

            let subscriberID = try #require(byLine[1]?["subscriber_id"] as? String)
            let subscriber = try #require(try await harness.database.subscriber(id: subscriberID))
            #expect(subscriber.name == "Beirut desk", "the duplicate line 6 changed nothing")
            #expect(try await harness.database.channels(of: subscriberID).count == 2)
            #expect(try await harness.database.subscriptions(of: subscriberID).map(\.rule).count == 2)
            let migrated = try #require(byLine[7]?["subscriber_id"] as? String)
            #expect(try await harness.database.channels(of: migrated).first?.secrets == [Self.givenSecret])
            #expect(try await harness.database.subscriber(id: migrated)?.budget.perDay == 20)
            let all = try await harness.database.subscribers(limit: 100)
            #expect(all.count == 2, "rejected lines wrote nothing")
        }
    }

    @Test("importing the same file again changes nothing; a changed line updates only what changed; export imports back unchanged")
    func idempotentUpsertAndExport() async throws {
        let harness = try await Harness()
        let first = (1...30).map { number in
            #"{"external_id": "ext-\#(number)", "name": "Subscriber \#(number)", "time_zone": "UTC", "channels": [{"kind": "webhook", "url": "\#(Self.publicHook)/\#(number)"}], "subscriptions": [{"rule": {"all": true}}]}"#
        }.joined(separator: "\n") + "\n"
        try await harness.test { client in
            func importFile(_ text: String) async throws -> [[String: Any]] {
                try await client.execute(uri: "/v1/subscribers/import", method: .post, headers: Self.headers(harness.admin), body: ByteBuffer(string: text)) { response in
                    #expect(response.status == .ok)
                    return try Self.lines(response.body)
                }
            }
            let created = try await importFile(first)
            #expect(created.last?["summary"] as? [String: Int] == ["lines": 30, "created": 30, "updated": 0, "unchanged": 0, "rejected": 0])
            let outboxBefore = try await harness.database.latestChangeSequence()
            #expect(outboxBefore == 90, "one changelog record per subscriber, channel and subscription")

            let again = try await importFile(first)
            #expect(again.last?["summary"] as? [String: Int] == ["lines": 30, "created": 0, "updated": 0, "unchanged": 30, "rejected": 0])
            #expect(try await harness.database.latestChangeSequence() == outboxBefore, "an unchanged line writes no changelog record")
            #expect(zip(created.dropLast(), again.dropLast()).allSatisfy { $0["subscriber_id"] as? String == $1["subscriber_id"] as? String })

            let changed = #"{"external_id": "ext-3", "name": "Subscriber 3", "time_zone": "UTC", "channels": [{"kind": "email", "address": "three@example.com"}], "subscriptions": [{"rule": {"all": true}}, {"rule": {"regions": ["MENA"]}}]}"#
            let update = try await importFile(changed)
            #expect(update.first?["status"] as? String == "updated")
            let id = try #require(update.first?["subscriber_id"] as? String)
            #expect(try await harness.database.channels(of: id).map(\.kind) == [.email], "the webhook not on the line is removed")
            #expect(try await harness.database.subscriptions(of: id).count == 2)

            let export = try await client.execute(uri: "/v1/subscribers/export", method: .get, headers: [.authorization: "Bearer \(harness.admin)"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/x-ndjson")
                return String(buffer: response.body)
            }
            let exported = try export.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            #expect(exported.count == 30)
            #expect(Set(exported.compactMap { $0["external_id"] as? String }) == Set((1...30).map { "ext-\($0)" }))
            #expect(exported.allSatisfy { Set($0.keys).isSubset(of: ["external_id", "name", "time_zone", "budget", "channels", "subscriptions"]) })
            let roundTrip = try await importFile(export)
            #expect(roundTrip.last?["summary"] as? [String: Int] == ["lines": 30, "created": 0, "updated": 0, "unchanged": 30, "rejected": 0])
        }
    }

    @Test("only admins import and export; a non-NDJSON body is 415")
    func access() async throws {
        let harness = try await Harness()
        let line = ByteBuffer(string: #"{"external_id": "x", "name": "x", "time_zone": "UTC", "channels": [], "subscriptions": []}"#)
        try await harness.test { client in
            try await client.execute(uri: "/v1/subscribers/import", method: .post, headers: [.contentType: "application/x-ndjson"], body: line) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/subscribers/import", method: .post, headers: Self.headers(harness.editor), body: line) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/v1/subscribers/export", method: .get, headers: [.authorization: "Bearer \(harness.editor)"]) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/v1/subscribers/import", method: .post, headers: [.authorization: "Bearer \(harness.admin)", .contentType: "image/png"], body: line) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            #expect(try await harness.database.subscribers(limit: 10).isEmpty)
        }
    }
}
