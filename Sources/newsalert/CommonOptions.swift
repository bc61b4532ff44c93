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

    /// The bootstrap servers from the flag or the environment, if either is set.
    var resolvedBootstrapServers: String? {
        bootstrapServers ?? ProcessInfo.processInfo.environment["NEWSALERT_BOOTSTRAP_SERVERS"]
    }

    func configuration(bootstrapServers: String) throws -> KafkaConfiguration {
        var properties: [String: String] = [:]
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
    /// Logs go to standard error, so standard output stays machine-readable.
    static func bootstrap() {
        let level = ProcessInfo.processInfo.environment["NEWSALERT_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
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
