import Foundation
import NewsAlertCore

extension Alert {
    /// A webhook alert of event `event` for `subscriber` on channel `channel`, as fan-out writes one (its id is
    /// `event.channel`).
    public static func fixture(event: String, channel: String, subscriber: String = "sbr_x") throws -> Alert {
        let json = """
            {"alert_id": "\(event).\(channel)", "channel": "webhook", "channel_id": "\(channel)", "subscriber_id": "\(subscriber)",
             "type": "alert", "story": {"story_id": "story-\(event)", "sequence": 1},
             "event": {"id": "\(event)", "kind": "breaking", "headline": "Line \(event)", "section": "Politics", "regions": ["MENA"],
                       "countries": ["LB"], "urgency": 3, "published_at": "2026-11-29T10:00:00Z", "status": "usable"},
             "matched": [{"subscription_id": "sub_x", "clause": "all", "value": "every event"}], "digest": false,
             "created_at": "2026-11-29T10:00:01Z"}
            """
        return try JSONDecoder.newsAlert.decode(Alert.self, from: Data(json.utf8))
    }
}
