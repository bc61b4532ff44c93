import Foundation
import NewsAlertCore
import Yams

/// One object of the published contract in `schemas/` (a JSON Schema file, or a part of openapi.yaml or
/// asyncapi.yaml), for tests that hold the Swift model to it.
public struct ContractSchema: @unchecked Sendable {
    /// The repository's `schemas/` folder.
    public static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("schemas")

    /// The file and pointer it came from, for failure messages.
    public let name: String
    public let node: [String: Any]

    /// A whole file: `*.json` as JSON, anything else as YAML.
    public static func load(_ file: String) throws -> ContractSchema {
        let url = folder.appendingPathComponent(file)
        let parsed: Any? = if url.pathExtension == "json" {
            try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        } else {
            try Yams.load(yaml: String(contentsOf: url, encoding: .utf8))
        }
        guard let object = normalised(parsed) as? [String: Any] else { throw ContractError("\(file) is not an object") }
        return ContractSchema(name: file, node: object)
    }

    /// The object at a JSON pointer such as `#/$defs/Enrichment` or `#/components/schemas/Subscriber`.
    public func at(_ pointer: String) throws -> ContractSchema {
        var current: Any = node
        for token in pointer.split(separator: "/").dropFirst() {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = (current as? [String: Any])?[key] else { throw ContractError("\(name)\(pointer): no \(key)") }
            current = next
        }
        guard let object = current as? [String: Any] else { throw ContractError("\(name)\(pointer) is not an object") }
        return ContractSchema(name: name + pointer.dropFirst(), node: object)
    }

    /// The names under `properties`.
    public var propertyNames: Set<String> { Set((node["properties"] as? [String: Any] ?? [:]).keys) }
    /// The names under `required`.
    public var requiredNames: Set<String> { Set(node["required"] as? [String] ?? []) }
    /// Whether `additionalProperties` is `false`.
    public var refusesOtherProperties: Bool { node["additionalProperties"] as? Bool == false }

    /// A property's own schema.
    public func property(_ key: String) throws -> [String: Any] {
        guard let property = (node["properties"] as? [String: Any])?[key] as? [String: Any] else {
            throw ContractError("\(name): no property \(key)")
        }
        return property
    }

    /// The enum of a property or of its items, without null (null only means "not given").
    public func enumValues(_ key: String) throws -> [String] {
        let property = try property(key)
        guard let values = property["enum"] as? [Any] ?? (property["items"] as? [String: Any])?["enum"] as? [Any] else {
            throw ContractError("\(name).\(key) has no enum")
        }
        return values.compactMap { $0 as? String }
    }

    /// How this object differs from what a Swift type writes: `properties` must be every key of `full` (a value with
    /// every optional set), `required` every key of `minimal` (every optional nil: the encoder leaves those out),
    /// each plus `added` (keys the record adds around the type), and no other property may be allowed.
    /// Empty when they agree.
    public func mismatches<Value: Encodable>(full: Value, minimal: Value, added: Set<String> = []) throws -> [String] {
        let all = try Self.encodedKeys(full).union(added)
        let always = try Self.encodedKeys(minimal).union(added)
        var problems: [String] = []
        if propertyNames != all {
            problems.append("\(name): properties \(propertyNames.sorted()) but \(Value.self) writes \(all.sorted())")
        }
        if requiredNames != always {
            problems.append("\(name): required \(requiredNames.sorted()) but \(Value.self) always writes \(always.sorted())")
        }
        if !refusesOtherProperties { problems.append("\(name): additionalProperties should be false") }
        return problems
    }

    /// How this object differs from a decoder that accepts exactly `keys` (and refuses others); empty when they agree.
    public func mismatches(acceptedKeys keys: [String]) -> [String] {
        var problems: [String] = []
        if propertyNames != Set(keys) { problems.append("\(name): properties \(propertyNames.sorted()) but the decoder accepts \(keys.sorted())") }
        if !refusesOtherProperties { problems.append("\(name): additionalProperties should be false") }
        return problems
    }

    /// The top-level keys a value encodes to with newsalert's JSON encoder.
    public static func encodedKeys<Value: Encodable>(_ value: Value) throws -> Set<String> {
        guard let object = try JSONSerialization.jsonObject(with: JSONEncoder.newsAlert.encode(value)) as? [String: Any] else {
            throw ContractError("\(Value.self) does not encode as a JSON object")
        }
        return Set(object.keys)
    }

    /// YAML mappings come as `[AnyHashable: Any]`; the tests read `[String: Any]` like JSON's.
    private static func normalised(_ value: Any?) -> Any? {
        switch value {
        case let mapping as [AnyHashable: Any]:
            Dictionary(uniqueKeysWithValues: mapping.map { ("\($0.key)", normalised($0.value) as Any) })
        case let sequence as [Any]:
            sequence.map { normalised($0) as Any }
        default:
            value
        }
    }
}

/// A contract file that is missing, unreadable or not shaped as the test expects.
public struct ContractError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
