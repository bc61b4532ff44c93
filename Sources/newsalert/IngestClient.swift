import AsyncHTTPClient
import Foundation
import NIOCore

/// A small client of newsalert's ingest API, for `publish` and `bench ingest`.
struct IngestClient: Sendable {
    let baseURL: String
    let apiKey: String
    let http: HTTPClient

    /// One answer: status code and body.
    struct Answer: Sendable {
        var status: Int
        var body: Data

        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }

        /// The error message and per-field problems of a 4xx/5xx answer, on one line.
        var problem: String {
            guard let error = json?["error"] as? [String: Any] else { return "HTTP \(status)" }
            let fields = (error["fields"] as? [[String: Any]] ?? []).compactMap { field in
                (field["field"] as? String).map { "\($0): \(field["problem"] as? String ?? "")" }
            }
            return "HTTP \(status) \(error["code"] as? String ?? ""): " + (fields.isEmpty ? (error["message"] as? String ?? "") : fields.joined(separator: "; "))
        }
    }

    func get(path: String) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Answer(status: Int(response.status.code), body: Data(buffer: body))
    }

    func post(path: String, json: Data, idempotencyKey: String?) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        request.body = .bytes(ByteBuffer(bytes: json))
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 4 * 1024 * 1024)
        return Answer(status: Int(response.status.code), body: Data(buffer: body))
    }
}
