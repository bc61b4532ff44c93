import ArgumentParser
import Foundation

/// `newsalert bench idle`: what a `serve` with nothing to do costs, next to the same server with its stages fetching
/// all the time (the baseline).
struct IdleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "CPU (% of one core), threads and RSS of an idle `newsalert serve`, next to one whose idle stages keep fetching.",
        discussion: """
            Starts `newsalert serve` (this binary) on the embedded broker with an empty data directory, lets its consumer
            groups settle, then reads the process's CPU time from /proc over --seconds. The embedded broker holds an empty
            fetch for the whole fetch wait (NEWSALERT_FETCH_WAIT_MS), so a stage that keeps fetching asks again that
            often; `serve` pauses idle stages instead and wakes them from its own producers (NEWSALERT_IDLE_PAUSE=on).
            The baseline run is the same server with NEWSALERT_IDLE_PAUSE=off.
            """)

    @Option(help: "Seconds to measure each server.") var seconds: Int = 60
    @Option(help: "Fetch wait of the pipeline stages, ms (NEWSALERT_FETCH_WAIT_MS).") var fetchWaitMs: Int = 50
    @Flag(help: "Skip the baseline run.") var noBaseline = false
    @Option(help: "Brokers of the embedded cluster.") var brokers: Int = 1
    @Option(help: "Seconds to let a fresh server settle before measuring.") var warmUp: Int = 15

    struct Sample {
        var coreShare: Double
        var threads: Int
        var residentMegabytes: Int
    }

    func run() async throws {
        CommandLogging.bootstrap()
        var runs: [(label: String, sample: Sample)] = []
        let settings = [("newsalert serve", "on"), ("baseline", "off")].prefix(noBaseline ? 1 : 2)
        for (label, idlePause) in settings {
            let server = try await ServeChild.start(
                extraArguments: ["--brokers", "\(brokers)"],
                environment: ["NEWSALERT_FETCH_WAIT_MS": "\(fetchWaitMs)", "NEWSALERT_IDLE_PAUSE": idlePause])
            defer { server.stop() }
            try await Task.sleep(for: .seconds(warmUp))
            let sample = try await Self.measure(pid: server.pid, seconds: seconds, rss: server.residentMegabytes)
            let line = "\(label) (idle pause \(idlePause), fetch wait \(fetchWaitMs) ms, \(brokers) broker\(brokers == 1 ? "" : "s")): "
                + "\(String(format: "%.2f", sample.coreShare * 100))% of one core over \(seconds) s, \(sample.threads) threads, RSS \(sample.residentMegabytes) MiB"
            printLine(line)
            runs.append(("\(label) (idle pause \(idlePause))", sample))
        }
        printLine("summary: idle " + runs.map { "\($0.label) \(String(format: "%.2f", $0.sample.coreShare * 100))% of a core, \($0.sample.threads) threads" }.joined(separator: "; "))
    }

    /// CPU time the process used over `seconds`, as a share of one core, with its thread count at the end.
    static func measure(pid: Int32, seconds: Int, rss: () -> Int) async throws -> Sample {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let clock = ContinuousClock()
        let before = try cpuTicks(pid: pid)
        let start = clock.now
        try await Task.sleep(for: .seconds(seconds))
        let ticks = try cpuTicks(pid: pid) - before
        let elapsed = (clock.now - start).seconds
        return Sample(coreShare: Double(ticks) / ticksPerSecond / elapsed, threads: threadCount(pid: pid), residentMegabytes: rss())
    }

    /// utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/PID/stat, counted after the command name).
    static func cpuTicks(pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        guard let close = stat.lastIndex(of: ")") else { throw ValidationError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { throw ValidationError("unreadable /proc/\(pid)/stat") }
        return user + system
    }

    static func threadCount(pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? -1
    }
}
