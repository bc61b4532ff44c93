import Foundation
import Testing

import NewsAlertDelivery

@Suite("Webhook secrets and signatures")
struct WebhookSigningTests {
    @Test("the Standard Webhooks reference vector")
    func referenceVector() throws {
        let secret = try WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let signer = WebhookSigner(current: secret)
        let signature = signer.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Data(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test("rotation adds one signature per previous secret, current first")
    func rotation() throws {
        let current = WebhookSecret.generate()
        let previous = WebhookSecret.generate()
        let body = Data("{}".utf8)
        let both = WebhookSigner(current: current, previous: [previous, current]).signature(id: "msg_1", timestamp: 1, body: body)
        let onlyCurrent = WebhookSigner(current: current).signature(id: "msg_1", timestamp: 1, body: body)
        let onlyPrevious = WebhookSigner(current: previous).signature(id: "msg_1", timestamp: 1, body: body)
        #expect(both == "\(onlyCurrent) \(onlyPrevious)")
    }

    @Test("headers carry id, whole-second timestamp and signature")
    func headers() {
        let signer = WebhookSigner(current: .generate())
        let headers = signer.headers(id: "msg_x", body: Data("a".utf8), date: Date(timeIntervalSince1970: 1_700_000_000.9))
        #expect(headers.timestamp == 1_700_000_000)
        #expect(headers.fields.map(\.name) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(headers.fields.map(\.value) == ["msg_x", "1700000000", signer.signature(id: "msg_x", timestamp: 1_700_000_000, body: Data("a".utf8))])
    }

    @Test("secrets parse, round-trip and reject malformed text")
    func secretParsing() throws {
        let generated = WebhookSecret.generate()
        #expect(generated.keyBytes.count == 32)
        #expect(try WebhookSecret(generated.encoded) == generated)
        #expect(WebhookSecret.generate() != generated)
        // Unpadded base64 is accepted, as by the reference libraries.
        var unpadded = generated.encoded
        while unpadded.hasSuffix("=") { unpadded.removeLast() }
        #expect(unpadded != generated.encoded)
        #expect(try WebhookSecret(unpadded) == generated)

        #expect(throws: WebhookSecretError.missingPrefix) { try WebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") }
        #expect(throws: WebhookSecretError.invalidBase64) { try WebhookSecret("whsec_not base64!") }
        #expect(throws: WebhookSecretError.invalidKeySize(3)) { try WebhookSecret("whsec_AAAA") }
    }

    @Test("a secret's description and errors never reveal the key")
    func secretIsRedacted() throws {
        let secret = WebhookSecret.generate()
        let base64 = String(secret.encoded.dropFirst("whsec_".count))
        for text in [secret.description, secret.debugDescription, String(describing: secret), "\(secret)", String(reflecting: secret)] {
            #expect(!text.contains(base64))
            #expect(text.contains("redacted"))
        }
        #expect(!String(describing: WebhookSigner(current: secret)).contains(base64))
        var dumped = ""
        dump(WebhookSigner(current: secret), to: &dumped)
        #expect(!dumped.contains(base64))
        #expect(!dumped.contains("keyBytes"))
        #expect(dumped.contains(secret.fingerprint))
    }

    @Test("message ids are distinct and prefixed")
    func messageIDs() {
        let ids = Set((0..<100).map { _ in WebhookSigner.newMessageID() })
        #expect(ids.count == 100)
        #expect(ids.allSatisfy { $0.hasPrefix("msg_") && $0.count == 30 })
    }
}
