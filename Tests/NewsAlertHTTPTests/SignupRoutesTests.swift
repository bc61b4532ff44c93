import Foundation
import Hummingbird
import HummingbirdTesting
import NewsAlertCore
import NewsAlertHTTP
@testable import NewsAlertStore
import Testing

/// The public signup: one answer for every valid request, a reader waiting for confirmation, abuse controls.
@Suite("Signup routes")
struct SignupRoutesTests {
    typealias Harness = EventRoutesTests.Harness
    static let json: HTTPFields = [.contentType: "application/json"]

    static func signup(_ email: String, extra: String = "") -> ByteBuffer {
        ByteBuffer(string: """
            {"email": "\(email)", "time_zone": "Asia/Beirut", "topics": {"sections": ["Politics"], "keywords": "ceasefire"},
             "delivery": {"mode": "digest", "every": "daily", "at": "08:00"}, "quiet_hours": {"start": "23:00", "end": "06:30", "allow_flash": true}\(extra)}
            """)
    }

    static func post(_ client: some TestClientProtocol, _ body: ByteBuffer, headers: HTTPFields = json) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: "/v1/signup", method: .post, headers: headers, body: body) { ($0.status, String(buffer: $0.body)) }
    }

    @Test("a signup makes a reader waiting for confirmation; new, repeated, confirmed and honeypot signups answer the same")
    func sameAnswer() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            let (status, first) = try await Self.post(client, Self.signup("reader@example.com"))
            #expect(status == .accepted)
            let due = try await harness.database.dueConfirmations(now: Date())
            #expect(due.map(\.address) == ["reader@example.com"])
            let channel = try #require(try await harness.database.channel(id: due[0].channelID))
            #expect(channel.awaitsConfirmation)
            #expect(try await harness.database.isReader(channel.subscriberID))
            let subscriber = try #require(try await harness.database.subscriber(id: channel.subscriberID))
            #expect(subscriber.timeZone == "Asia/Beirut")
            let rules = try await harness.database.subscriptions(of: subscriber.id).map(\.rule)
            #expect(Set(rules.map { $0.sections ?? [$0.keywords ?? ""] }) == [["Politics"], ["ceasefire"]], "each topic is a rule of its own (alternatives)")
            #expect(rules.allSatisfy { $0.delivery?.every == "daily" && $0.quietHours?.start == "23:00" })

            // Again (another case), while pending: the same answer, still one reader, no second mail within the hour.
            #expect(try await Self.post(client, Self.signup("Reader@Example.com")) == (.accepted, first))
            #expect(try await harness.database.dueConfirmations(now: Date()).count == 1)
            // Confirmed: the same answer, and nothing changes.
            _ = try #require(try await harness.database.confirmChannel(id: channel.id, address: channel.target))
            let before = try await harness.database.snapshot()
            #expect(try await Self.post(client, Self.signup("reader@example.com")) == (.accepted, first))
            // A robot filling the hidden field: the same answer, nothing stored.
            #expect(try await Self.post(client, Self.signup("robot@example.com", extra: #", "website": "http://spam.example""#)) == (.accepted, first))
            #expect(try await harness.database.snapshot() == before)
        }
    }

    @Test("bad input is 4xx naming the field, and stores nothing")
    func badInput() async throws {
        let harness = try await Harness()
        let cases: [(String, HTTPResponse.Status, String?)] = [
            (#"{"email": "not an address", "time_zone": "UTC", "topics": {"sections": ["Politics"]}}"#, .unprocessableContent, "email"),
            (#"{"email": "a@example.com", "time_zone": "UTC", "topics": {"sections": ["Gossip"]}}"#, .unprocessableContent, "topics.sections[0]"),
            (#"{"email": "a@example.com", "time_zone": "UTC", "topics": {"countries": ["Lebanon"]}}"#, .unprocessableContent, "topics.countries[0]"),
            (#"{"email": "a@example.com", "time_zone": "UTC", "topics": {}}"#, .unprocessableContent, "topics"),
            (#"{"email": "a@example.com", "time_zone": "Mars/Olympus", "topics": {"regions": ["MENA"]}}"#, .unprocessableContent, "time_zone"),
            (#"{"email": "a@example.com", "time_zone": "UTC", "topics": {"regions": ["MENA"]}, "quiet_hours": {"start": "25:00", "end": "07:00"}}"#, .unprocessableContent, "quiet_hours.start"),
            (#"{"email": "a@example.com", "time_zone": "UTC", "topics": {"regions": ["MENA"]}, "admin": true}"#, .unprocessableContent, "admin"),
            (#"{"email": "a@example.com""#, .badRequest, nil),
            (#"{"email": "a@example.com", "time_zone": "UTC", "topics": {"keywords": "\#(String(repeating: "x", count: 5000))"}}"#, .contentTooLarge, nil),
        ]
        try await harness.test { client in
            for (body, status, field) in cases {
                try await client.execute(uri: "/v1/signup", method: .post, headers: Self.json, body: ByteBuffer(string: body)) { response throws in
                    #expect(response.status == status, "\(body.prefix(120))")
                    if let field { #expect(try EventRoutesTests.fieldNames(response.body).contains(field), "\(body.prefix(120))") }
                }
            }
            try await client.execute(uri: "/v1/signup", method: .post, headers: [.contentType: "text/plain"], body: Self.signup("a@example.com")) { response in
                #expect(response.status == .unsupportedMediaType)
            }
        }
        #expect(try await harness.database.snapshot().isEmpty)
        #expect(try await harness.database.dueConfirmations(now: Date()).isEmpty)
    }

    @Test("a client over its limit gets 429 with Retry-After; one address over its limit gets the usual answer and nothing happens")
    func rateLimits() async throws {
        var limits = SignupRoutes.Limits()
        limits.perClient = 6
        limits.perEmail = 2
        let harness = try await Harness(signupLimits: limits)
        try await harness.test { client in
            var answers: [HTTPResponse.Status] = []
            for index in 0..<4 {
                answers.append(try await Self.post(client, Self.signup(index < 3 ? "same@example.com" : "other@example.com")).0)
            }
            #expect(answers == [.accepted, .accepted, .accepted, .accepted])
            for _ in 0..<2 { _ = try await Self.post(client, Self.signup("third@example.com")) }
            try await client.execute(uri: "/v1/signup", method: .post, headers: Self.json, body: Self.signup("fourth@example.com")) { response in
                #expect(response.status == .tooManyRequests)
                #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 0)
            }
        }
        let readers = try await harness.database.snapshot().compactMap { change -> String? in
            if case .channel(let channel) = change { return channel.target }
            return nil
        }
        #expect(readers.sorted() == ["other@example.com", "same@example.com", "third@example.com"])
    }
}
