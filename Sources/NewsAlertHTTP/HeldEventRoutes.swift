import Foundation
import Hummingbird
import NewsAlertCore
import NewsAlertStore

/// Events held back before `news.events`: FLASH approval by a second editor, and embargoes.
public struct HeldEventRoutes: Sendable {
    let database: AppDatabase

    public init(database: AppDatabase) {
        self.database = database
    }

    /// A held event as a caller sees it: with whether the caller posted it (and so cannot approve it).
    struct HeldView: Encodable {
        var held: HeldEvent
        var requestedByYou: Bool

        enum CodingKeys: String, CodingKey {
            case requestedByYou = "requested_by_you"
        }

        func encode(to encoder: any Encoder) throws {
            try held.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(requestedByYou, forKey: .requestedByYou)
        }
    }

    struct HeldPage: Encodable {
        var held: [HeldView]
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/v1/held-events") { request, context in
            let principal = try context.require(.editor, .admin)
            let limit = try PageLimit.read(request, default: 50, max: 200)
            let held = try await database.heldEvents(limit: limit)
            return try Response.json(status: .ok, HeldPage(held: held.map { HeldView(held: $0, requestedByYou: $0.requestedBy == principal.keyID) }))
        }
        router.post("/v1/events/{id}/approve") { request, context in
            let principal = try context.require(.editor, .admin)
            let id = try heldID(context)
            try RequestFields(try await Self.optionalObject(request), allowed: []).check()
            return try answer(try await database.approveHeldEvent(id: id, by: principal, now: Date()), principal: principal, status: .accepted)
        }
        router.post("/v1/events/{id}/reject") { request, context in
            let principal = try context.require(.editor, .admin)
            let id = try heldID(context)
            var fields = RequestFields(try await Self.optionalObject(request), allowed: ["reason"])
            let reason = fields.text("reason", required: false, maxLength: 500)
            try fields.check()
            guard let held = try await database.heldEvent(id: id) else { throw APIError.notFound("held event") }
            if held.state == .expired, let expiry = held.expiresAt { throw Self.refusal(.expired(expiry)) }
            guard held.state == .pendingApproval else { throw Self.refusal(.notPending(held.state)) }
            return try answer(try await database.dropHeldEvent(id: id, by: principal, reason: reason, now: Date()), principal: principal, status: .ok)
        }
        router.post("/v1/events/{id}/cancel") { request, context in
            let principal = try context.require(.editor, .admin)
            let id = try heldID(context)
            var fields = RequestFields(try await Self.optionalObject(request), allowed: ["reason"])
            let reason = fields.text("reason", required: false, maxLength: 500)
            try fields.check()
            return try answer(try await database.dropHeldEvent(id: id, by: principal, reason: reason, now: Date()), principal: principal, status: .ok)
        }
    }

    private func answer(_ result: Result<HeldEvent, HeldEventRefusal>, principal: APIPrincipal, status: HTTPResponse.Status) throws -> Response {
        switch result {
        case .success(let held):
            return try Response.json(status: status, HeldView(held: held, requestedByYou: held.requestedBy == principal.keyID))
        case .failure(let refusal):
            throw Self.refusal(refusal)
        }
    }

    static func refusal(_ refusal: HeldEventRefusal) -> APIError {
        switch refusal {
        case .notFound:
            return APIError.notFound("held event")
        case .ownItem:
            return APIError(.conflict, code: "own_item", message: "you posted this FLASH: a second editor must approve it")
        case .expired(let at):
            return APIError(.conflict, code: "approval_expired", message: "the approval window closed at \(RFC3339.format(at)); the item was not published, post it again")
        case .notPending(let state):
            return APIError(.conflict, code: "not_pending", message: "this item is \(state.rawValue.replacingOccurrences(of: "_", with: " ")), not waiting for this decision")
        }
    }

    private func heldID(_ context: NewsAlertRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        guard EventID.isPlausible(id) else { throw APIError.notFound("held event") }
        return id
    }

    /// The JSON object of a request whose body may be empty.
    private static func optionalObject(_ request: Request) async throws -> [String: Any] {
        if request.headers[.contentLength] == "0" || (request.headers[.contentLength] == nil && request.headers[.transferEncoding] == nil) { return [:] }
        return try await JSONRequestBody.read(request, limit: 4096).object
    }
}
