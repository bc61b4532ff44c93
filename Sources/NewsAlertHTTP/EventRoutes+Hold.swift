import Foundation
import NewsAlertCore
import NewsAlertStore

/// Holding events back instead of publishing them: FLASH approval and embargoes (`publish_at`).
extension EventRoutes {
    /// The answer to an event held back: waiting for a second editor, or for its publish time.
    struct Held: Encodable {
        var id: String
        var status: String
        var expiresAt: Date?
        var publishAt: Date?
        var requestedByName: String

        enum CodingKeys: String, CodingKey {
            case id, status
            case expiresAt = "expires_at"
            case publishAt = "publish_at"
            case requestedByName = "requested_by_name"
        }
    }

    /// Takes `publish_at` out of a request object: a time after `receivedAt` and at most `maxEmbargo` ahead.
    func publishAt(removingFrom object: inout [String: Any], receivedAt: Date, problems: inout [FieldProblem]) -> Date? {
        guard let raw = object.removeValue(forKey: "publish_at"), !(raw is NSNull) else { return nil }
        guard let text = raw as? String, let date = RFC3339.parse(text) else {
            problems.append(FieldProblem(field: "publish_at", problem: "must be an RFC 3339 date-time such as 2025-06-24T18:38:00Z"))
            return nil
        }
        if date <= receivedAt {
            problems.append(FieldProblem(field: "publish_at", problem: "is not in the future (\(RFC3339.format(receivedAt)) now): leave it out to publish at once"))
            return nil
        }
        if date > receivedAt.addingTimeInterval(configuration.maxEmbargo) {
            problems.append(FieldProblem(field: "publish_at", problem: "is more than \(Int(configuration.maxEmbargo / 86_400)) days ahead"))
            return nil
        }
        return date
    }

    /// Whether this event must wait for a second editor: a FLASH (the newsroom's urgency, else the inferred one)
    /// while approval is on, or on automatically because the newsroom has more than one editor key.
    func needsApproval(_ event: NewsEvent) async throws -> Bool {
        guard configuration.flashApproval != .off else { return false }
        guard (event.urgency ?? previewer.sources.enricher.enrich(event).urgency) == .flash else { return false }
        return configuration.flashApproval == .on ? true : try await database.editorKeyCount() > 1
    }
}
