import Foundation
import NewsAlertDelivery
import Testing

@Suite("SMTP delivery against Postfix smtp-sink", .timeLimit(.minutes(3)))
struct SMTPSinkLoadTests {
    @Test func fiveHundredMessagesThroughThePool() async throws {
        let smtpSink = URL(fileURLWithPath: "/usr/sbin/smtp-sink")
        try #require(
            FileManager.default.isExecutableFile(atPath: smtpSink.path),
            "Postfix's smtp-sink is needed (apt-get install postfix)")
        let port = try unusedLoopbackPort()
        var arguments = ["-c", "127.0.0.1:\(port)", "1000"]
        if getuid() == 0 { arguments = ["-u", "nobody"] + arguments }
        // The test process may hand its children a signal mask that blocks SIGTERM; exec smtp-sink
        // from a trampoline that clears the mask so stop() ends it at once.
        let sink = try PeerProcess(executable: try peerPython()) { _ in
            [
                "-c",
                "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, set()); os.execv(sys.argv[1], sys.argv[1:])",
                smtpSink.path,
            ] + arguments
        }
        defer { sink.stop() }
        try await waitUntilListening(port: port)

        let configuration = SMTPRelayConfiguration(
            host: "127.0.0.1", port: port, tls: .none, heloName: "newsalert.test",
            timeout: .seconds(30), connectTimeout: .seconds(10), maximumMessagesPerConnection: 1000)
        let pool = try SMTPRelayPool(configuration: configuration, maximumConnections: 4)
        let desk = try EmailAddress("desk@newsalert.test", displayName: "Newsalert Desk")
        let total = 500
        let workers = 8

        let codes = try await withThrowingTaskGroup(of: [Int].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var codes: [Int] = []
                    for index in stride(from: worker, to: total, by: workers) {
                        let message = MailMessage(
                            from: desk, to: [try EmailAddress("reader\(index)@example.org")],
                            subject: "Alert \(index): Überschwemmung", textBody: "Story \(index)\n.\nEnd\n",
                            htmlBody: "<p>Story \(index)</p>")
                        codes.append(try await pool.send(message).reply.code)
                    }
                    return codes
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let statistics = await pool.statistics
        await pool.shutdown()

        #expect(codes.count == total)
        #expect(codes.allSatisfy { $0 == 250 })
        #expect(statistics.connectionsOpened >= 1)
        #expect(statistics.connectionsOpened <= 4)
        // smtp-sink's -c counter reports the messages it took.
        let counted = try await poll(timeout: .seconds(10), "smtp-sink's message count") { () -> Int? in
            let reported = sink.stdout.split(whereSeparator: { $0 == "\r" || $0 == "\n" || $0 == " " })
                .compactMap { $0.hasPrefix("mesg=") ? Int($0.dropFirst(5)) : nil }.last
            return reported == total ? reported : nil
        }
        #expect(counted == total)
    }
}
