import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NewsAlertStore
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the authenticated caller.
public struct NewsAlertRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket = WebSocketHandlerReference<NewsAlertRequestContext>()
    /// Set by `APIKeyAuthenticator` when the request carried a valid API key.
    public var principal: APIPrincipal?
    /// Set by `APIKeyAuthenticator` when the request carried a valid subscriber token (`nst_…`).
    public var subscriberID: String?
    /// Set when the request carried credentials that are not a valid key (public routes ignore it).
    var presentedInvalidCredentials = false

    /// The IP address of the connection's peer (what public endpoints rate-limit by), when known.
    public let clientAddress: String?
    /// The connection's channel: the ticker writes its frames straight into it.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress
        channel = source.channel
    }

    /// The caller, if it holds one of `roles`; 401 without a key, 403 with the wrong role.
    func require(_ roles: APIRole...) throws -> APIPrincipal {
        guard let principal, !presentedInvalidCredentials else { throw APIError.unauthenticated }
        guard roles.contains(principal.role) else { throw APIError.forbidden(needs: roles.map(\.rawValue)) }
        return principal
    }

    /// The subscriber whose token the request carried; 401 otherwise (API keys manage subscribers, not rules).
    func requireSubscriber() throws -> String {
        guard let subscriberID, !presentedInvalidCredentials else {
            var error = APIError.unauthenticated
            error.message = "send a subscriber token as `Authorization: Bearer nst_…` (an admin issues it with POST /v1/subscribers/{id}/tokens)"
            throw error
        }
        return subscriberID
    }
}

/// Resolves `Authorization: Bearer <key>` into a principal; never rejects by itself, so public routes
/// answer whatever the header says, and protected routes decide through `require`.
public struct APIKeyAuthenticator: RouterMiddleware {
    public typealias Context = NewsAlertRequestContext
    let database: AppDatabase

    public init(database: AppDatabase) {
        self.database = database
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            let secret = header.lowercased().hasPrefix("bearer ") ? header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces) : ""
            if secret.hasPrefix("nst_"), secret.count <= 200, let subscriberID = try await database.authenticateSubscriber(token: secret) {
                context.subscriberID = subscriberID
            } else if (1...200).contains(secret.count), let principal = try await database.authenticate(secret: secret) {
                context.principal = principal
            } else {
                context.presentedInvalidCredentials = true
            }
        }
        return try await next(request, context)
    }
}
