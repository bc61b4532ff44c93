import Foundation
import NewsAlertCore
@testable import NewsAlertStore
import NewsAlertTestSupport
import Testing

/// openapi.yaml's answers that the store encodes (deliveries, their attempts, alert progress) against the
/// Swift types: `properties` are every key the type writes, `required` the keys it always writes.
@Suite struct OpenAPIContractTests {
    private static let noon = Date(timeIntervalSince1970: 1_780_000_000)

    @Test func deliveryRecordsAndAttemptsAreTheSwiftKeys() throws {
        let components = try ContractSchema.load("openapi.yaml")
        let fullAttempt = DeliveryAttempt(attempt: 1, at: Self.noon, outcome: "retry", statusCode: 500, detail: "HTTP 500", durationMilliseconds: 12.5)
        let bareAttempt = DeliveryAttempt(attempt: 1, at: Self.noon, outcome: "retry")
        #expect(try components.at("#/components/schemas/DeliveryAttempt").mismatches(full: fullAttempt, minimal: bareAttempt) == [])

        let alert = try Alert.fixture(event: "evt-1", channel: "chn_a")
        let full = DeliveryRecord(
            id: "dlv_1", subscriberID: "sbr_x", channelID: "chn_a", channel: "webhook", target: "https://example.com/hook", eventID: "evt-1",
            storyID: "story-evt-1", type: "alert", state: .retrying, reason: "HTTP 500", deliverAfter: Self.noon, nextAttemptAt: Self.noon,
            createdAt: Self.noon, updatedAt: Self.noon, attempts: [fullAttempt], alert: alert)
        var minimal = full
        (minimal.target, minimal.reason, minimal.deliverAfter, minimal.nextAttemptAt) = (nil, nil, nil, nil)
        #expect(try components.at("#/components/schemas/DeliveryRecord").mismatches(full: full, minimal: minimal) == [])
    }

    @Test func alertProgressIsTheSwiftKeys() throws {
        let progress = AlertProgress(fannedOut: true, byChannel: ["webhook": ["delivered": 2]])
        #expect(try ContractSchema.load("openapi.yaml").at("#/components/schemas/AlertProgress").mismatches(full: progress, minimal: progress) == [])
    }
}
