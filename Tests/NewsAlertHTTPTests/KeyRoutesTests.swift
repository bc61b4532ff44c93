import Foundation
import Hummingbird
import HummingbirdTesting
import NewsAlertHTTP
@testable import NewsAlertStore
import Testing

/// Admins create and revoke the newsroom's API keys; a key's secret is answered once.
@Suite("Key routes")
struct KeyRoutesTests {
    typealias Harness = EventRoutesTests.Harness

    @Test("an admin creates a named editor key shown once, lists keys without secrets, and revokes it")
    func createListRevoke() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            let body = ByteBuffer(string: #"{"name": "Sam (weekend desk)", "role": "editor"}"#)
            let created = try await client.execute(uri: "/v1/keys", method: .post, headers: EventRoutesTests.headers(harness.admin), body: body) { response in
                #expect(response.status == .created)
                return try EventRoutesTests.object(response.body)
            }
            let secret = try #require(created["secret"] as? String)
            let id = try #require(created["id"] as? String)
            #expect(secret.hasPrefix("nak_"))
            #expect(created["display_name"] as? String == "Sam (weekend desk)")
            #expect(created["role"] as? String == "editor")
            let principal = try #require(try await harness.database.authenticate(secret: secret))
            #expect(principal.displayName == "Sam (weekend desk)")
            #expect(principal.role == .editor)
            let me = try await client.execute(uri: "/v1/me", method: .get, headers: EventRoutesTests.headers(secret)) { response in
                #expect(response.status == .ok)
                return try EventRoutesTests.object(response.body)
            }
            #expect(me["id"] as? String == id)
            #expect(me["role"] as? String == "editor")
            #expect(me["display_name"] as? String == "Sam (weekend desk)")

            let listed = try await client.execute(uri: "/v1/keys", method: .get, headers: EventRoutesTests.headers(harness.admin)) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(!text.contains(secret), "the list never carries a secret")
                return try #require(try EventRoutesTests.object(response.body)["keys"] as? [[String: Any]])
            }
            #expect(listed.count == 3)
            #expect(listed.contains { $0["id"] as? String == id && $0["revoked_at"] == nil })

            try await client.execute(uri: "/v1/keys/\(id)/revoke", method: .post, headers: EventRoutesTests.headers(harness.admin)) { response in
                #expect(response.status == .ok)
                let revokedAt = try EventRoutesTests.object(response.body)["revoked_at"]
                #expect(revokedAt is String)
            }
            #expect(try await harness.database.authenticate(secret: secret) == nil, "a revoked key stops working at once")
            try await client.execute(uri: "/v1/events", method: .get, headers: EventRoutesTests.headers(secret)) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test("editors may not manage keys; an admin cannot revoke its own key; bad input is 422; unknown keys 404")
    func refusals() async throws {
        let harness = try await Harness()
        let admin = try #require(try await harness.database.authenticate(secret: harness.admin))
        try await harness.test { client in
            try await client.execute(uri: "/v1/keys", method: .get, headers: EventRoutesTests.headers(harness.editor)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/v1/keys", method: .post, headers: EventRoutesTests.headers(harness.admin),
                                     body: ByteBuffer(string: #"{"role": "owner", "secret": "x"}"#)) { response in
                #expect(response.status == .unprocessableContent)
                let fields = try EventRoutesTests.fieldNames(response.body)
                #expect(fields == ["name", "role", "secret"])
            }
            try await client.execute(uri: "/v1/keys/\(admin.keyID)/revoke", method: .post, headers: EventRoutesTests.headers(harness.admin)) { response in
                #expect(response.status == .conflict)
                let error = try EventRoutesTests.object(response.body)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "own_key")
            }
            try await client.execute(uri: "/v1/keys/key_unknown/revoke", method: .post, headers: EventRoutesTests.headers(harness.admin)) { response in
                #expect(response.status == .notFound)
            }
        }
        #expect(try await harness.database.authenticate(secret: harness.admin) != nil)
    }
}
