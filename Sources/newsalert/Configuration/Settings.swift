import Foundation

/// The effective configuration: each key's value and where it came from.
struct Settings: Sendable {
    enum Source: String, Sendable {
        case flag, environment, file, `default`
    }

    struct Entry: Sendable {
        let value: String?
        let source: Source
    }

    private let environment: [String: String]
    private let file: [String: String]
    private let flags: [SettingKey: String]
    let filePath: String?

    /// Reads the environment and the config file (`configFile`, else `NEWSALERT_CONFIG`), with `flags` on top.
    init(flags: [SettingKey: String?] = [:], configFile: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        self.flags = flags.compactMapValues { $0 }
        filePath = configFile ?? environment[SettingKey.configFileVariable]
        file = try filePath.map(Self.readFile) ?? [:]
    }

    func entry(_ key: SettingKey) -> Entry {
        if let value = flags[key] { return Entry(value: value, source: .flag) }
        if let value = environment[key.rawValue] { return Entry(value: value, source: .environment) }
        if let value = file[key.rawValue] { return Entry(value: value, source: .file) }
        return Entry(value: key.defaultValue, source: .default)
    }

    subscript(_ key: SettingKey) -> String? { entry(key).value }

    /// `KEY=value  # source` lines for every key, secrets masked.
    func printable() -> [String] {
        SettingKey.allCases.map { key in
            let entry = entry(key)
            let shown = entry.value.map { key.isSecret ? "****** (set)" : $0 } ?? ""
            return "\(key.rawValue)=\(shown)  # \(entry.source.rawValue): \(key.help)"
        }
    }

    /// `NEWSALERT_KEY=value` lines; blank lines and `#` comments are skipped, surrounding quotes removed.
    static func readFile(_ path: String) throws -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SettingsError("cannot read the config file \(path)")
        }
        var values: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            guard let equals = line.firstIndex(of: "=") else { throw SettingsError("\(path):\(number + 1): expected NEWSALERT_KEY=value") }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard SettingKey(rawValue: key) != nil else {
                throw SettingsError("\(path):\(number + 1): unknown key \(key) (known: \(SettingKey.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == value.last, first == "\"" || first == "'" { value = String(value.dropFirst().dropLast()) }
            values[key] = value
        }
        return values
    }
}

/// A configuration problem, reported without echoing secret values.
struct SettingsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
