import Foundation
import Hummingbird
import NewsAlertCore
import NewsAlertStore

extension EventRoutes {
    /// `POST /v1/events/preview`: what an event would become if posted now (see `EventPreviewer`).
    func addPreview(to router: some RouterMethods<NewsAlertRequestContext>) {
        // What the event would become, posted now: read-only (no topic, no idempotency record, no database write).
        router.post("/v1/events/preview") { request, context in
            _ = try context.require(.editor, .admin)
            let body = try await JSONRequestBody.read(request, limit: configuration.bodyLimitBytes)
            let identity = EventIdentity.fresh()
            var object = body.object
            var problems: [FieldProblem] = []
            let publishAt = publishAt(removingFrom: &object, receivedAt: identity.receivedAt, problems: &problems)
            var event: NewsEvent?
            do throws(ValidationFailure) {
                event = try NewsEventInput(limits: configuration.inputLimits).event(from: object, id: identity.id, receivedAt: identity.receivedAt)
            } catch {
                problems = error.problems + problems
            }
            guard problems.isEmpty, let event else { throw APIError.invalidFields(ValidationFailure(problems)) }
            let threader = try await previewer.storyIndex()
            if let problem = previewer.overrideProblem(event, in: threader) { throw APIError.invalidFields(ValidationFailure([problem])) }
            var preview = try await previewer.preview(event, threader: threader, now: Date())
            if try await needsApproval(event) {
                preview.hold = .init(state: HeldEvent.State.pendingApproval.rawValue, because: String(
                    format: "a FLASH waits for a second editor's approval (at most %d minutes)%@", Int(configuration.approvalWindow / 60),
                    publishAt.map { ", then for its embargo until \(RFC3339.format($0))" } ?? ""), publishAt: publishAt)
            } else if let publishAt {
                preview.hold = .init(state: HeldEvent.State.scheduled.rawValue, because: "embargoed until \(RFC3339.format(publishAt))", publishAt: publishAt)
            }
            return try Response.json(status: .ok, preview)
        }
    }
}
