import ArgumentParser
import Foundation
import NewsAlertCore
import NewsAlertStore

/// `newsalert subscriptions dump`: the subscribers, channels and subscriptions a node holds, one JSON line each.
struct SubscriptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscriptions",
        abstract: "Inspect the subscription store of a data directory.",
        subcommands: [Dump.self])

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every subscriber, channel and subscription as changelog JSON lines (`key<TAB>value`), sorted by kind then id.")

        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            let database = try AppDatabase.open(directory: data.resolved)
            for change in try await database.snapshot() {
                let value = try change.value().map { String(decoding: $0, as: UTF8.self) } ?? "null"
                printLine("\(change.key)\t\(value)")
            }
        }
    }
}

/// `newsalert replay --subscriber ID --since TIME`: send a subscriber's deliveries again.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Put a subscriber's deliveries since a time back in the delivery queue of this data directory.",
        discussion: "A running delivery worker on the same data directory sends them again, with their original ids.")

    @OptionGroup var data: DataDirectoryOption
    @Option(help: "Subscriber id (sbr_…).") var subscriber: String
    @Option(help: "RFC 3339 time, e.g. 2026-11-29T08:00:00Z.") var since: String

    func run() async throws {
        guard let start = RFC3339.parse(since) else { throw ValidationError("--since must be an RFC 3339 time such as 2026-11-29T08:00:00Z") }
        let count = try await AppDatabase.open(directory: data.resolved).scheduleReplay(subscriberID: subscriber, since: start)
        printLine("replaying \(count) deliveries")
    }
}
