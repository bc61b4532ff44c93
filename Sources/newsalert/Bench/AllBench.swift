import ArgumentParser
import Foundation

/// `newsalert bench all`: every benchmark with modest defaults, one after the other, and one table of results.
struct AllBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Run every benchmark with modest defaults (a few minutes) and print one table.",
        discussion: "Each benchmark runs as its own `newsalert bench …` process; the table quotes its summary line.")

    /// The benchmarks and their modest arguments.
    static let runs: [(name: String, arguments: [String])] = [
        ("kafka", ["bench", "kafka", "--messages", "200000", "--latency-messages", "5000"]),
        ("ingest", ["bench", "ingest", "--requests", "2000"]),
        ("dedup", ["bench", "dedup", "--events", "5000"]),
        ("match", ["bench", "match", "--rules", "100000", "--events", "2000", "--linear-events", "50"]),
        ("webhook", ["bench", "webhook", "--deliveries", "5000"]),
        ("email", ["bench", "email", "--messages", "5000"]),
        ("ticker", ["bench", "ticker", "--clients", "2000"]),
        ("e2e", ["bench", "e2e", "--events", "200", "--rate", "20"]),
    ]

    func run() async throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var rows: [(String, String, String)] = []
        for (name, arguments) in Self.runs {
            printLine("== \(name): newsalert \(arguments.joined(separator: " "))")
            let started = ContinuousClock.now
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(["NEWSALERT_LOG_LEVEL": "error"]) { _, new in new }
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
            lines.forEach { printLine("   \($0)") }
            let summary = lines.last { $0.hasPrefix("summary:") }.map { String($0.dropFirst("summary: ".count)) }
                ?? lines.last ?? "(no output)"
            let seconds = String(format: "%.0f s", (ContinuousClock.now - started).seconds)
            rows.append((name, process.terminationStatus == 0 ? summary : "FAILED (exit \(process.terminationStatus)): \(summary)", seconds))
        }
        printLine("")
        printLine("| benchmark | result | took |")
        printLine("|---|---|---|")
        for (name, summary, seconds) in rows { printLine("| \(name) | \(summary) | \(seconds) |") }
    }
}
