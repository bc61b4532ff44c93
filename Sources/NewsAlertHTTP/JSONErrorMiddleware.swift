import Hummingbird
import Logging
import NewsAlertStore

/// Makes every error answer the JSON error body: unknown routes and methods (Hummingbird's own
/// `HTTPError`s) become `not_found` and the like; anything unexpected becomes a logged 500.
public struct JSONErrorMiddleware: RouterMiddleware {
    public typealias Context = NewsAlertRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as SubscriptionStoreError {
            switch error {
            case .notFound: throw APIError.notFound("the subscriber, channel or subscription")
            case .duplicateChannel(let existing):
                throw APIError(.conflict, code: "duplicate_channel", message: "a channel with this kind and target already exists: \(existing)")
            }
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "not_found" : error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            throw APIError(error.status, code: code, message: error.status == .notFound ? "no route \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
        } catch let error as any HTTPResponseError {
            throw APIError(error.status, code: error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_"), message: error.status.reasonPhrase)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            throw APIError(.internalServerError, code: "internal_error", message: "the request failed unexpectedly; it was logged")
        }
    }
}
