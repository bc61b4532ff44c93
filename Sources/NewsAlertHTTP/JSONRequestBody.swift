import Foundation
import Hummingbird
import NIOCore

/// A request body that was read within its size limit and parsed as a JSON object.
struct JSONRequestBody {
    let data: Data
    let object: [String: Any]

    /// Reads and checks the body: 415 for a non-JSON content type, 413 over `limit`,
    /// 400 for invalid UTF-8, invalid JSON, or JSON that is not an object.
    static func read(_ request: Request, limit: Int) async throws -> JSONRequestBody {
        if let contentType = request.headers[.contentType]?.lowercased(),
           !(contentType.hasPrefix("application/json") || contentType.contains("+json")) {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "body_too_large", message: "the body exceeds the limit of \(limit) bytes")
        } catch {
            // A malformed transfer (bad chunk sizes, a connection cut mid-body) is the client's fault.
            throw APIError(.badRequest, code: "invalid_body", message: "the request body could not be read (malformed transfer encoding or an interrupted upload)")
        }
        let data = Data(buffer: buffer)
        guard String(validating: data, as: UTF8.self) != nil else {
            throw APIError(.badRequest, code: "invalid_utf8", message: "the body is not valid UTF-8")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw APIError(.badRequest, code: "invalid_json", message: "the body is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw APIError(.badRequest, code: "invalid_json", message: "the body must be a JSON object")
        }
        return JSONRequestBody(data: data, object: object)
    }
}
