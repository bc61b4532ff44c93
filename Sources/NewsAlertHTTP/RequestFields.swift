import Foundation
import NewsAlertCore

/// Typed reads of a JSON request object that collect one `FieldProblem` per bad field.
struct RequestFields {
    let object: [String: Any]
    private(set) var problems: [FieldProblem] = []

    init(_ object: [String: Any], allowed: Set<String>) {
        self.object = object
        for key in object.keys.sorted() where !allowed.contains(key) {
            problems.append(FieldProblem(field: key, problem: "is not a known field (known: \(allowed.sorted().joined(separator: ", ")))"))
        }
    }

    mutating func report(_ field: String, _ problem: String) {
        problems.append(FieldProblem(field: field, problem: problem))
    }

    /// A string of 1...`maxLength` characters after trimming; nil (and a problem if `required`) otherwise.
    mutating func text(_ field: String, required: Bool, maxLength: Int = 200) -> String? {
        guard let value = object[field], !(value is NSNull) else {
            if required { report(field, "is required") }
            return nil
        }
        guard let text = (value as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), (1...maxLength).contains(text.count) else {
            report(field, "must be a string of 1 to \(maxLength) characters")
            return nil
        }
        return text
    }

    /// A nested value decoded as `T`, its decoding problems prefixed with `field`.
    mutating func decoded<T: Decodable>(_ field: String, as type: T.Type, required: Bool) -> T? {
        guard let value = object[field], !(value is NSNull) else {
            if required { report(field, "is required") }
            return nil
        }
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) else {
            report(field, "is not valid JSON")
            return nil
        }
        if T.self == SubscriptionRule.self {
            do throws(ValidationFailure) {
                return try SubscriptionRule.decode(from: data) as? T
            } catch {
                problems += error.problems.map { $0.prefixed(field) }
                return nil
            }
        }
        do {
            return try JSONDecoder.newsAlert.decode(T.self, from: data)
        } catch let error as DecodingError {
            problems.append(error.fieldProblem.prefixed(field))
            return nil
        } catch {
            report(field, "has the wrong shape")
            return nil
        }
    }

    /// Throws the 422 answer when any problem was found.
    func check() throws {
        if !problems.isEmpty { throw APIError.invalidFields(ValidationFailure(problems)) }
    }
}

extension FieldProblem {
    /// The same problem one level down: `rule` + `sections[1]` → `rule.sections[1]`.
    func prefixed(_ parent: String) -> FieldProblem {
        FieldProblem(field: field == parent || field.isEmpty ? parent : "\(parent).\(field)", problem: problem)
    }
}
