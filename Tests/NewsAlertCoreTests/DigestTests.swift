import Foundation
import NewsAlertCore
import Testing

/// Held digest alerts go out as one message per channel and due time.
@Suite struct DigestTests {
    static func heldDigest(_ id: String, minutesAgo: Double, due: Date) throws -> Alert {
        let rule = #"{"regions": ["MENA"], "delivery": {"mode": "digest", "every": "daily", "at": "08:00"}}"#
        var enriched = FanoutPlannerTests.enriched(id: id, story: "story-\(id)", headline: "Line \(id) about Beirut")
        enriched.event.publishedAt = FanoutPlannerTests.noon.addingTimeInterval(-minutesAgo * 60)
        var alert = try #require(FanoutPlanner.plan(enriched, catalog: try FanoutPlannerTests.catalog(beirutRule: rule), delivered: [], recent: { _ in .none }, now: FanoutPlannerTests.noon).held.first)
        alert.deliverAfter = due
        return alert
    }

    @Test func aDigestGathersItsItemsOldestFirstUnderAStableID() throws {
        let due = FanoutPlannerTests.noon.addingTimeInterval(3_600)
        let alerts = [try Self.heldDigest("evt_b", minutesAgo: 5, due: due), try Self.heldDigest("evt_a", minutesAgo: 30, due: due)]
        let digest = try #require(Alert.digest(of: alerts, now: due))
        #expect(digest.digest)
        #expect(digest.digestItems?.map(\.event.id) == ["evt_a", "evt_b"])
        #expect(digest.event.id == "evt_b", "the digest's own event is the newest item")
        #expect(digest.alertID == "digest.chn_hook.\(Int(due.timeIntervalSince1970))")
        #expect(Alert.digest(of: alerts.reversed(), now: due.addingTimeInterval(5))?.alertID == digest.alertID, "the same items give the same id")
    }

    @Test func aDigestEmailListsEveryItem() throws {
        let due = FanoutPlannerTests.noon.addingTimeInterval(3_600)
        let digest = try #require(Alert.digest(of: [try Self.heldDigest("evt_a", minutesAgo: 30, due: due), try Self.heldDigest("evt_b", minutesAgo: 5, due: due)], now: due))
        let email = AlertEmailContent(digest, unsubscribeURL: "https://alerts.example/v1/unsubscribe?channel=chn_hook&token=t")
        #expect(email.subject == "[DIGEST] 2 items: Line evt_b about Beirut")
        #expect(email.text.contains("Line evt_a about Beirut") && email.text.contains("Line evt_b about Beirut"))
        #expect(email.html.contains("<li>Line evt_a about Beirut"))
    }

    @Test func aSingleAlertEmailEscapesTheHeadline() throws {
        var enriched = FanoutPlannerTests.enriched(id: "evt_x", story: "story-evt_x", headline: "Blast <script>alert(1)</script> in Beirut")
        enriched.event.summary = "One \"killed\" & two hurt"
        let alert = try #require(FanoutPlanner.plan(enriched, catalog: try FanoutPlannerTests.catalog(), delivered: [], recent: { _ in .none }, now: FanoutPlannerTests.noon).immediate.first)
        let email = AlertEmailContent(alert, unsubscribeURL: "https://alerts.example/u")
        #expect(email.subject == "[BREAKING] Blast <script>alert(1)</script> in Beirut")
        #expect(!email.html.contains("<script>"))
        #expect(email.html.contains("&lt;script&gt;") && email.html.contains("&quot;killed&quot; &amp; two"))
    }
}
