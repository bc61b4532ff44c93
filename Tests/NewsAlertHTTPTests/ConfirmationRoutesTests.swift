import Foundation
import Hummingbird
import HummingbirdTesting
import NewsAlertCore
import NewsAlertHTTP
@testable import NewsAlertStore
import Testing

/// The confirmation link of double opt-in: a page on GET, consent on POST; bad, tampered or expired links change nothing.
@Suite("Confirmation routes")
struct ConfirmationRoutesTests {
    typealias Harness = EventRoutesTests.Harness
    static let links = SignedLinks(key: Data(repeating: 7, count: 32), baseURL: "https://alerts.example.com")

    static func path(_ url: String) -> String {
        String(url.dropFirst("https://alerts.example.com".count))
    }

    @Test("a subscriber token's email channel waits for its owner; the signed link's page confirms it on POST")
    func confirmThroughTheLink() async throws {
        let harness = try await Harness(signedLinks: Self.links)
        let reader = try await harness.database.createSubscriber(name: "Reader", timeZone: "UTC", budget: .unlimited)
        let token = try await harness.database.issueSubscriberToken(subscriberID: reader.id).token
        try await harness.test { client in
            let created = try await client.execute(uri: "/v1/channels", method: .post, headers: EventRoutesTests.headers(token),
                                                   body: ByteBuffer(string: #"{"kind":"email","address":"reader@example.com"}"#)) { response in
                #expect(response.status == .created)
                return try EventRoutesTests.object(response.body)
            }
            #expect(created["confirmation"] as? String == "pending")
            let id = try #require(created["id"] as? String)
            let requested = try #require(try await harness.database.confirmationRequestedAt(channelID: id))
            let url = Self.links.confirmationURL(channelID: id, address: "reader@example.com", expires: requested.addingTimeInterval(86_400))
            try await client.execute(uri: Self.path(url), method: .get) { response in
                #expect(response.status == .ok)
                let page = String(buffer: response.body)
                #expect(page.contains("reader@example.com") && page.contains(#"method="post""#))
            }
            #expect(try await harness.database.channel(id: id)?.consent == nil, "opening the page (as a link scanner does) confirms nothing")
            try await client.execute(uri: Self.path(url), method: .post, headers: [.accept: "application/json"]) { response throws in
                #expect(response.status == .ok)
                #expect(try EventRoutesTests.object(response.body)["status"] as? String == "confirmed")
            }
            #expect(try await harness.database.channel(id: id)?.consent?.source == "confirmation link")
        }
    }

    @Test("tampered, foreign, malformed and expired links are 4xx JSON and confirm nothing")
    func badLinks() async throws {
        let harness = try await Harness(signedLinks: Self.links)
        let reader = try await harness.database.createSubscriber(name: "Reader", timeZone: "UTC", budget: .unlimited)
        let channel = try await harness.database.createChannel(subscriberID: reader.id, kind: .email, target: "reader@example.com", secrets: [])
        let other = SignedLinks(key: Data(repeating: 8, count: 32), baseURL: "https://alerts.example.com")
        let future = Date().addingTimeInterval(3600)
        let good = Self.path(Self.links.confirmationURL(channelID: channel.id, address: channel.target, expires: future))
        let tampered = good.replacingOccurrences(of: "token=", with: "token=A")
        let longer = good.replacingOccurrences(of: "expires=", with: "expires=9")
        let cases: [(String, HTTPResponse.Status, String)] = [
            (tampered, .notFound, "bad_link"),
            (longer, .notFound, "bad_link"),
            (Self.path(other.confirmationURL(channelID: channel.id, address: channel.target, expires: future)), .notFound, "bad_link"),
            (Self.path(Self.links.confirmationURL(channelID: channel.id, address: "other@example.com", expires: future)), .notFound, "bad_link"),
            (Self.path(Self.links.confirmationURL(channelID: "chn_nosuchchannel000000", address: channel.target, expires: future)), .notFound, "bad_link"),
            (Self.path(Self.links.confirmationURL(channelID: channel.id, address: channel.target, expires: Date().addingTimeInterval(-1))), .gone, "link_expired"),
            ("/v1/confirm?channel=\(channel.id)", .badRequest, "bad_link"),
            ("/v1/confirm?channel=\(channel.id)&expires=soon&token=x", .notFound, "bad_link"),
        ]
        try await harness.test { client in
            for (uri, status, code) in cases {
                for method in [HTTPRequest.Method.get, .post] {
                    try await client.execute(uri: uri, method: method) { response in
                        #expect(response.status == status, "\(method) \(uri)")
                        let error = try #require(try EventRoutesTests.object(response.body)["error"] as? [String: Any])
                        #expect(error["code"] as? String == code, "\(method) \(uri)")
                    }
                }
            }
        }
        #expect(try await harness.database.channel(id: channel.id)?.consent == nil)
    }

    @Test("an admin imports an address as already confirmed, with when and how; other shapes are 422")
    func adminImport() async throws {
        let harness = try await Harness(signedLinks: Self.links)
        let desk = try await harness.database.createSubscriber(name: "Desk", timeZone: "UTC", budget: .unlimited)
        try await harness.test { client in
            let body = #"{"kind":"email","address":"desk@example.com","consent":{"confirmed_at":"2025-03-01T09:00:00Z","source":"newsletter form"}}"#
            try await client.execute(uri: "/v1/subscribers/\(desk.id)/channels", method: .post, headers: EventRoutesTests.headers(harness.editor),
                                     body: ByteBuffer(string: body)) { response in
                #expect(response.status == .forbidden)
            }
            let created = try await client.execute(uri: "/v1/subscribers/\(desk.id)/channels", method: .post, headers: EventRoutesTests.headers(harness.admin),
                                                   body: ByteBuffer(string: body)) { response in
                #expect(response.status == .created)
                return try EventRoutesTests.object(response.body)
            }
            #expect(created["confirmation"] as? String == "confirmed")
            #expect((created["consent"] as? [String: Any])?["source"] as? String == "newsletter form")
            for (bad, field) in [(#"{"kind":"email","address":"x@example.com"}"#, "consent"),
                                 (#"{"kind":"webhook","address":"x@example.com","consent":{"confirmed_at":"2025-03-01T09:00:00Z","source":"form"}}"#, "kind"),
                                 (#"{"kind":"email","address":"not an address","consent":{"confirmed_at":"2025-03-01T09:00:00Z","source":"form"}}"#, "address"),
                                 (#"{"kind":"email","address":"y@example.com","consent":{"confirmed_at":"2025-03-01T09:00:00Z","source":" "}}"#, "consent.source")] {
                try await client.execute(uri: "/v1/subscribers/\(desk.id)/channels", method: .post, headers: EventRoutesTests.headers(harness.admin),
                                         body: ByteBuffer(string: bad)) { response throws in
                    #expect(response.status == .unprocessableContent, "\(bad)")
                    #expect(try EventRoutesTests.fieldNames(response.body).contains(field), "\(bad)")
                }
            }
        }
        #expect(try await harness.database.channels(of: desk.id).count == 1)
    }
}
