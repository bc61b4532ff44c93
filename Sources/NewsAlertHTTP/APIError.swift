import Foundation
import Hummingbird
import NewsAlertCore

/// An HTTP error answered as `{"error": {"status", "code", "message", "fields"?}}` (schemas/error.schema.json).
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var fields: [FieldProblem]?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, message: String, fields: [FieldProblem]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            var status: Int
            var code: String
            var message: String
            var fields: [FieldProblem]?
        }
        var error: Detail
    }

    /// The error as a ticker frame: `{"type": "error", "status", "code", "message", "fields"?}`.
    var frameData: Data {
        struct Frame: Encodable {
            var type = "error"
            var status: Int
            var code: String
            var message: String
            var fields: [FieldProblem]?
        }
        return (try? JSONEncoder.newsAlert.encode(Frame(status: status.code, code: code, message: message, fields: fields))) ?? Data()
    }

    var bodyData: Data {
        (try? JSONEncoder.newsAlert.encode(Body(error: .init(status: status.code, code: code, message: message, fields: fields)))) ?? Data()
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response.json(status: status, data: bodyData)
        response.headers.append(contentsOf: headers)
        return response
    }

    static func invalidFields(_ failure: ValidationFailure) -> APIError {
        APIError(.unprocessableContent, code: "invalid_fields", message: "the request has invalid fields: \(failure)", fields: failure.problems)
    }

    static let unauthenticated: APIError = {
        var error = APIError(.unauthorized, code: "unauthenticated", message: "send a valid API key as `Authorization: Bearer <key>`")
        error.headers[.wwwAuthenticate] = "Bearer realm=\"newsalert\""
        return error
    }()

    static func forbidden(needs roles: [String]) -> APIError {
        APIError(.forbidden, code: "forbidden", message: "this endpoint needs an API key with role \(roles.joined(separator: " or "))")
    }

    static func notFound(_ what: String) -> APIError {
        APIError(.notFound, code: "not_found", message: "\(what) was not found")
    }

    /// 503 with `Retry-After: 5`: Kafka did not acknowledge what the request needed written.
    static func kafkaUnavailable(_ message: String) -> APIError {
        var unavailable = APIError(.serviceUnavailable, code: "kafka_unavailable", message: message)
        unavailable.headers[.retryAfter] = "5"
        return unavailable
    }
}

extension Response {
    /// A JSON response with the given encoded body.
    static func json(status: HTTPResponse.Status, data: Data) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json(status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        json(status: status, data: try JSONEncoder.newsAlert.encode(value))
    }
}
