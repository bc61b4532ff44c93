import ArgumentParser
import Foundation
import KafkaBridge
import Logging

/// Options every command that talks to Kafka shares.
struct KafkaOptions: ParsableArguments {
    @Option(name: .long, help: "Kafka bootstrap servers (host:port,...). Env: NEWSALERT_BOOTSTRAP_SERVERS.")
    var bootstrapServers: String?

    @Option(name: .customLong("kafka-property"), help: "Extra librdkafka property KEY=VALUE (e.g. security.protocol=SASL_SSL); repeatable.")
    var kafkaProperties: [String] = []

    @Option(name: .customLong("config"), help: "Config file of NEWSALERT_KEY=value lines (flags and the environment win). Env: NEWSALERT_CONFIG.")
    var configFile: String?

    /// The effective settings: these flags over the environment over the config file over defaults.
    func settings(_ flags: [SettingKey: String?] = [:]) throws -> Settings {
        var flags = flags
        flags[.bootstrapServers] = bootstrapServers
        return try Settings(flags: flags, configFile: configFile)
    }

    /// The bootstrap servers from the flag, the environment or the config file, if any sets them.
    var resolvedBootstrapServers: String? {
        (try? settings())?[.bootstrapServers]
    }

    func configuration(bootstrapServers: String) throws -> KafkaConfiguration {
        var properties: [String: String] = [:]
        // Kafka security from the settings; explicit --kafka-property entries override them.
        let settings = try settings()
        let security: [(SettingKey, String)] = [
            (.kafkaSecurityProtocol, "security.protocol"), (.kafkaSASLMechanism, "sasl.mechanisms"),
            (.kafkaSASLUsername, "sasl.username"), (.kafkaSASLPassword, "sasl.password"),
        ]
        for (key, property) in security {
            if let value = settings[key], !value.isEmpty { properties[property] = value }
        }
        for entry in kafkaProperties {
            guard let separator = entry.firstIndex(of: "="), separator != entry.startIndex else {
                throw ValidationError("--kafka-property expects KEY=VALUE, got \"\(entry)\"")
            }
            properties[String(entry[..<separator])] = String(entry[entry.index(after: separator)...])
        }
        return KafkaConfiguration(bootstrapServers: bootstrapServers, properties: properties)
    }

    func requiredConfiguration() throws -> KafkaConfiguration {
        guard let servers = resolvedBootstrapServers else {
            throw ValidationError("--bootstrap-servers (or NEWSALERT_BOOTSTRAP_SERVERS) is required")
        }
        return try configuration(bootstrapServers: servers)
    }
}

enum CommandLogging {
    /// Logs go to standard error, so standard output stays machine-readable: text, or one JSON object per line
    /// with `NEWSALERT_LOG_FORMAT=json`.
    static func bootstrap(_ settings: Settings? = nil) {
        let settings = settings ?? (try? Settings())
        let level = settings?[.logLevel].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let json = settings?[.logFormat] == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    static func logger(_ label: String) -> Logger {
        Logger(label: "newsalert.\(label)")
    }
}

/// Prints a line to standard output and flushes it at once, for scripts reading it live.
func printLine(_ line: String) {
    print(line)
    fflush(nil)
}
