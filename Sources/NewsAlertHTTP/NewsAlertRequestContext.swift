import Hummingbird
import NewsAlertStore

/// The request context of every route: Hummingbird's core storage plus the authenticated caller.
public struct NewsAlertRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `APIKeyAuthenticator` when the request carried a valid API key.
    public var principal: APIPrincipal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The caller, if it holds one of `roles`; 401 without a key, 403 with the wrong role.
    func require(_ roles: APIRole...) throws -> APIPrincipal {
        guard let principal else { throw APIError.unauthenticated }
        guard roles.contains(principal.role) else { throw APIError.forbidden(needs: roles.map(\.rawValue)) }
        return principal
    }
}

/// Resolves `Authorization: Bearer <key>` into a principal; never rejects by itself (routes decide).
public struct APIKeyAuthenticator: RouterMiddleware {
    public typealias Context = NewsAlertRequestContext
    let database: AppDatabase

    public init(database: AppDatabase) {
        self.database = database
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            let secret = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
            if secret.isEmpty || secret.count > 200 { throw APIError.unauthenticated }
            guard let principal = try await database.authenticate(secret: secret) else { throw APIError.unauthenticated }
            context.principal = principal
        } else if request.headers[.authorization] != nil {
            throw APIError.unauthenticated
        }
        return try await next(request, context)
    }
}
