import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NewsAlertCore
import NewsAlertDelivery
import NewsAlertHTTP
import NewsAlertServices
import NewsAlertTestSupport
@testable import NewsAlertStore
import Testing

/// The ingest routes through Hummingbird's test client, publishing to an in-memory publisher (the Kafka publisher
/// has its own tests against the embedded broker).
@Suite("Event routes")
struct EventRoutesTests {
    struct Harness: @unchecked Sendable {
        let publisher = RecordingNewsEventPublisher()
        let database: AppDatabase
        let router: Router<NewsAlertRequestContext>
        let editor: String
        let admin: String

        init(replays: (any DeliveryReplayForwarder)? = nil, signedLinks: SignedLinks? = nil, signupLimits: SignupRoutes.Limits = SignupRoutes.Limits()) async throws {
            var logger = Logger(label: "newsalert.tests.http")
            logger.logLevel = .error
            database = try AppDatabase.inMemory()
            var configuration = IngestConfiguration()
            configuration.bodyLimitBytes = 4096
            router = try NewsAlertRouter.make(
                database: database, publisher: publisher, configuration: configuration,
                webhooks: GuardedWebhookEndpoints(policy: WebhookAddressPolicy(allowlist: [])), replays: replays,
                signedLinks: signedLinks, signupLimits: signupLimits, logger: logger)
            editor = try database.createAPIKey(role: .editor).secret
            admin = try database.createAPIKey(role: .admin).secret
        }

        func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
            try await Application(router: router).test(.router, body)
        }
    }

    static func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static func headers(_ key: String, idempotencyKey: String? = nil) -> HTTPFields {
        var headers: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "application/json"]
        if let idempotencyKey { headers[.init("Idempotency-Key")!] = idempotencyKey }
        return headers
    }

    static func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
    }

    static func fieldNames(_ buffer: ByteBuffer) throws -> Set<String> {
        let error = try #require(try object(buffer)["error"] as? [String: Any])
        return Set((error["fields"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
    }

    @Test("a breaking line with only kind and headline is accepted once published, and the answer says where it landed")
    func minimalBreaking() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor),
                                     body: Self.json(#"{"kind":"breaking","headline":"Israeli drone targets a car in the town of Kawnin"}"#)) { response in
                #expect(response.status == .accepted)
                let answer = try Self.object(response.body)
                let published = try #require(harness.publisher.published.only)
                #expect(answer["id"] as? String == published.event.id)
                #expect(published.event.id.hasPrefix("evt_"))
                #expect(published.event.headline == "Israeli drone targets a car in the town of Kawnin")
                #expect(answer["topic"] as? String == "news.events")
                #expect(answer["partition"] as? Int == published.position.partition)
                #expect(answer["offset"] as? Int == Int(published.position.offset))
            }
        }
    }

    @Test("an event the publisher does not acknowledge is a 503 with Retry-After, recorded nowhere, and its key can be retried")
    func unacknowledgedPublish() async throws {
        let harness = try await Harness()
        harness.publisher.failPublishing = true
        let body = #"{"kind":"breaking","headline":"Explosion heard in central Damascus"}"#
        try await harness.test { client in
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor, idempotencyKey: "desk-1"), body: Self.json(body)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "5")
                let error = try #require(try Self.object(response.body)["error"] as? [String: Any])
                #expect(error["code"] as? String == "kafka_unavailable")
            }
            #expect(harness.publisher.published.isEmpty)
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
            harness.publisher.failPublishing = false
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor, idempotencyKey: "desk-1"), body: Self.json(body)) { response in
                #expect(response.status == .accepted)
            }
            #expect(harness.publisher.published.map(\.idempotencyKey) == ["desk-1"])
        }
    }

    @Test("every bad field is named in one 422")
    func invalidFields() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            let body = #"{"kind":"rumour","headline":"  ","section":"Gossip","regions":["MENA","Mars"],"urgency":0,"published_at":"tomorrow","colour":"red","url":"ftp://x"}"#
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor), body: Self.json(body)) { response in
                #expect(response.status == .unprocessableContent)
                let fields = try Self.fieldNames(response.body)
                #expect(fields == ["kind", "headline", "section", "regions[1]", "urgency", "published_at", "colour", "url"])
            }
            let tooLong = String(repeating: "x", count: 301)
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor),
                                     body: Self.json(#"{"kind":"breaking","headline":"\#(tooLong)","urgency":true}"#)) { response in
                #expect(response.status == .unprocessableContent)
                let fields = try Self.fieldNames(response.body)
                #expect(fields == ["headline", "urgency"])
            }
        }
    }

    @Test("malformed bodies get 400, 413 and 415, never a 5xx")
    func malformedBodies() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            let cases: [(ByteBuffer, HTTPFields, HTTPResponse.Status)] = [
                (ByteBuffer(bytes: [0x7B, 0xFF, 0xFE, 0x7D]), Self.headers(harness.editor), .badRequest),
                (Self.json("{not json"), Self.headers(harness.editor), .badRequest),
                (Self.json("[1,2]"), Self.headers(harness.editor), .badRequest),
                (Self.json(String(repeating: " ", count: 5000) + "{}"), Self.headers(harness.editor), .contentTooLarge),
                (Self.json("{}"), [.authorization: "Bearer \(harness.editor)", .contentType: "text/plain"], .unsupportedMediaType),
                (Self.json("{}"), [.contentType: "application/json"], .unauthorized),
                (Self.json("{}"), Self.headers("nak_wrong"), .unauthorized),
            ]
            for (body, headers, status) in cases {
                try await client.execute(uri: "/v1/events", method: .post, headers: headers, body: body) { response in
                    #expect(response.status == status)
                    let answeredError = try Self.object(response.body)["error"]
                    #expect(answeredError != nil)
                }
            }
        }
    }

    @Test("Idempotency-Key: same body → same answer, other body → 409")
    func idempotency() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            let body = #"{"kind":"breaking","headline":"Naeini: our response will be stronger"}"#
            var first: [String: Any] = [:]
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor, idempotencyKey: "k-1"), body: Self.json(body)) { response in
                #expect(response.status == .accepted)
                first = try Self.object(response.body)
            }
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor, idempotencyKey: "k-1"), body: Self.json(body)) { response in
                #expect(response.status == .accepted)
                let answeredId = try Self.object(response.body)["id"]
                #expect(answeredId as? String == first["id"] as? String)
                let answeredOffset = try Self.object(response.body)["offset"]
                #expect(answeredOffset as? Int == first["offset"] as? Int)
            }
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor, idempotencyKey: "k-1"),
                                     body: Self.json(#"{"kind":"breaking","headline":"something else"}"#)) { response in
                #expect(response.status == .conflict)
            }
            // The key belongs to its caller: another key holder may use the same text.
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.admin, idempotencyKey: "k-1"), body: Self.json(body)) { response in
                #expect(response.status == .accepted)
                let answeredId = try Self.object(response.body)["id"]
                #expect(answeredId as? String != first["id"] as? String)
            }
        }
        #expect(try await harness.database.recentEvents(limit: 10).count == 2)
    }

    @Test("a retry taking over the claim of a request that died mid-way publishes the same event")
    func takeoverPublishesTheSameEvent() async throws {
        let harness = try await Harness()
        let body = #"{"kind":"breaking","headline":"Strike on a car in Kawnin"}"#
        // The request that died: it claimed the key as `crashed` (and may have published it), then answered nothing.
        let editor = try #require(try await harness.database.authenticate(secret: harness.editor))
        let crashed = EventIdentity.fresh(at: Date(timeIntervalSinceNow: -60))
        let fingerprint = Data("POST /v1/events\n\(body)".utf8)
        _ = try await harness.database.claimIdempotencyKey("k-crash", principal: editor, requestBody: fingerprint, proposing: crashed)
        try await harness.database.writer.write { db in
            try db.execute(sql: "UPDATE idempotency_record SET created_at = ?", arguments: [Date(timeIntervalSinceNow: -60)])
        }
        try await harness.test { client in
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor, idempotencyKey: "k-crash"), body: Self.json(body)) { response in
                #expect(response.status == .accepted)
                let answeredID = try Self.object(response.body)["id"] as? String
                #expect(answeredID == crashed.id)
            }
        }
        let logged = try #require(try await harness.database.eventLogEntry(id: crashed.id))
        #expect(abs(logged.event.publishedAt.timeIntervalSince(crashed.receivedAt)) < 0.001)
    }

    @Test("a correction supersedes, a kill cancels, and a killed item cannot be killed again")
    func correctAndKill() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            var originalID = ""
            try await client.execute(uri: "/v1/events", method: .post, headers: Self.headers(harness.editor),
                                     body: Self.json(#"{"kind":"breaking","headline":"One martyred in drone strike on a car in Kawnin","section":"Politics"}"#)) { response in
                originalID = try #require(try Self.object(response.body)["id"] as? String)
            }
            var correctionID = ""
            try await client.execute(uri: "/v1/events/\(originalID)/corrections", method: .post, headers: Self.headers(harness.editor),
                                     body: Self.json(#"{"headline":"Two martyred in drone strike on a car in Kawnin"}"#)) { response in
                #expect(response.status == .accepted)
                correctionID = try #require(try Self.object(response.body)["id"] as? String)
            }
            try await client.execute(uri: "/v1/events/\(correctionID)", method: .get, headers: Self.headers(harness.editor)) { response in
                let event = try #require(try Self.object(response.body)["event"] as? [String: Any])
                #expect(event["supersedes"] as? String == originalID)
                #expect(event["kind"] as? String == "breaking")
            }
            try await client.execute(uri: "/v1/events/\(originalID)/kill", method: .post, headers: Self.headers(harness.editor), body: Self.json(#"{}"#)) { response in
                #expect(response.status == .unprocessableContent)
                let fields = try Self.fieldNames(response.body)
                #expect(fields == ["reason"])
            }
            try await client.execute(uri: "/v1/events/\(originalID)/kill", method: .post, headers: Self.headers(harness.editor),
                                     body: Self.json(#"{"reason":"wrong town"}"#)) { response in
                #expect(response.status == .accepted)
            }
            try await client.execute(uri: "/v1/events/\(originalID)", method: .get, headers: Self.headers(harness.editor)) { response in
                let view = try Self.object(response.body)
                #expect(view["killed"] as? Bool == true)
                #expect(view["corrections"] as? [String] == [correctionID])
            }
            try await client.execute(uri: "/v1/events/\(originalID)/kill", method: .post, headers: Self.headers(harness.editor),
                                     body: Self.json(#"{"reason":"again"}"#)) { response in
                #expect(response.status == .conflict)
            }
            try await client.execute(uri: "/v1/events/evt_unknown/kill", method: .post, headers: Self.headers(harness.editor),
                                     body: Self.json(#"{"reason":"x"}"#)) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}

private extension Array {
    /// The one element, or nil when there are none or several.
    var only: Element? { count == 1 ? first : nil }
}
