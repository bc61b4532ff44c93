import Foundation
import Hummingbird
import HummingbirdTesting
import NewsAlertCore
import NewsAlertHTTP
@testable import NewsAlertStore
import Testing

/// The preference centre behind the signed link: change, pause, export, erase; bad links change nothing.
@Suite("Preference routes")
struct PreferenceRoutesTests {
    typealias Harness = EventRoutesTests.Harness
    static let links = SignedLinks(key: Data(repeating: 9, count: 32), baseURL: "https://alerts.example.com")

    static func path(_ id: String, _ route: String = "/v1/preferences", expires: Date = Date().addingTimeInterval(3600)) -> String {
        let url = links.preferencesURL(subscriberID: id, expires: expires)
        return route + url[url.firstIndex(of: "?")!...]
    }

    static func reader(_ database: AppDatabase) async throws -> (subscriber: String, channel: String) {
        let outcome = try await database.signUpReader(email: "reader@example.com", timeZone: "Europe/Berlin", rules: [SubscriptionRule(sections: ["Politics"])])
        guard case .created(let subscriber, let channel, _) = outcome else { throw CancellationError() }
        _ = try await database.confirmChannel(id: channel, address: "reader@example.com")
        return (subscriber, channel)
    }

    @Test("change topics and delivery, pause and resume, export everything")
    func changePauseExport() async throws {
        let harness = try await Harness(signedLinks: Self.links)
        let (id, _) = try await Self.reader(harness.database)
        try await harness.test { client in
            let view = try await client.execute(uri: Self.path(id), method: .get) { response throws in
                #expect(response.status == .ok)
                return try EventRoutesTests.object(response.body)
            }
            #expect(view["emails"] as? [String] == ["reader@example.com"])
            #expect((view["topics"] as? [String: Any])?["sections"] as? [String] == ["Politics"])
            let change = #"{"time_zone": "Asia/Beirut", "topics": {"regions": ["MENA"], "keywords": "ceasefire"}, "delivery": {"mode": "digest", "every": "hourly"}}"#
            try await client.execute(uri: Self.path(id), method: .put, headers: [.contentType: "application/json"], body: ByteBuffer(string: change)) { response throws in
                #expect(response.status == .ok)
            }
            let rules = try await harness.database.subscriptions(of: id).map(\.rule)
            #expect(Set(rules.compactMap { $0.regions?.first ?? $0.keywords }) == ["MENA", "ceasefire"])
            #expect(try await harness.database.subscriber(id: id)?.timeZone == "Asia/Beirut")
            try await client.execute(uri: Self.path(id), method: .put, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"time_zone": "UTC", "topics": {"sections": ["Gossip"]}}"#)) { response throws in
                #expect(response.status == .unprocessableContent)
                #expect(try EventRoutesTests.fieldNames(response.body).contains("topics.sections[0]"))
            }
            #expect(try await harness.database.subscriptions(of: id).count == 2, "a refused change changes nothing")

            try await client.execute(uri: Self.path(id, "/v1/preferences/pause"), method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"days": 7}"#)) { response throws in
                #expect(response.status == .ok)
            }
            #expect(try await harness.database.subscriber(id: id)?.status == .disabled)
            #expect(try await harness.database.resumePausedSubscribers(now: Date().addingTimeInterval(8 * 86_400)) == [id])
            #expect(try await harness.database.subscriber(id: id)?.status == .active)

            let export = try await client.execute(uri: Self.path(id, "/v1/preferences/export"), method: .get) { response throws in
                #expect(response.status == .ok)
                return try EventRoutesTests.object(response.body)
            }
            #expect((export["channels"] as? [[String: Any]])?.first?["target"] as? String == "reader@example.com")
            #expect((export["subscriptions"] as? [Any])?.count == 2)
        }
    }

    @Test("erase deletes every row with a tombstone each; bad and expired links are 4xx and change nothing")
    func eraseAndBadLinks() async throws {
        let harness = try await Harness(signedLinks: Self.links)
        let (id, channel) = try await Self.reader(harness.database)
        let other = SignedLinks(key: Data(repeating: 1, count: 32), baseURL: "https://alerts.example.com")
        let foreign = other.preferencesURL(subscriberID: id, expires: Date().addingTimeInterval(3600))
        try await harness.test { client in
            for (uri, status) in [(Self.path(id, "/v1/preferences/erase", expires: Date().addingTimeInterval(-5)), HTTPResponse.Status.gone),
                                  ("/v1/preferences/erase" + foreign[foreign.firstIndex(of: "?")!...], .notFound),
                                  ("/v1/preferences/erase?subscriber=\(id)", .badRequest)] {
                try await client.execute(uri: uri, method: .post) { response in
                    #expect(response.status == status, "\(uri)")
                }
            }
            #expect(try await harness.database.subscriber(id: id) != nil)
            _ = try await harness.database.removePublishedChanges(through: try await harness.database.latestChangeSequence())
            try await client.execute(uri: Self.path(id, "/v1/preferences/erase"), method: .post) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(try await harness.database.subscriber(id: id) == nil)
        #expect(try await harness.database.channel(id: channel) == nil)
        #expect(try await harness.database.subscriptions(of: id).isEmpty)
        let tombstones = try await harness.database.pendingChanges(limit: 100).filter { $0.value == nil }.map(\.key)
        #expect(Set(tombstones).isSuperset(of: [id, channel]))
        #expect(try await harness.database.snapshot().isEmpty)
    }
}
