import Foundation
import NIOSSL
import NewsAlertDelivery
import Testing

private let desk = try! EmailAddress("desk@newsalert.test", displayName: "Newsalert Desk")
private let reader = try! EmailAddress("reader@example.org", displayName: "Zoë Ångström")

private func alert(subject: String = "Quake hits coast", text: String = "A strong earthquake.\n", html: String? = nil)
    -> MailMessage
{
    MailMessage(from: desk, to: [reader], subject: subject, textBody: text, htmlBody: html)
}

/// Runs `body` with a pool for `configuration` and always shuts the pool down.
private func withPool<T>(
    _ configuration: SMTPRelayConfiguration, maximumConnections: Int = 2,
    _ body: (SMTPRelayPool) async throws -> T
) async throws -> T {
    let pool = try SMTPRelayPool(configuration: configuration, maximumConnections: maximumConnections)
    do {
        let result = try await body(pool)
        await pool.shutdown()
        return result
    } catch {
        await pool.shutdown()
        throw error
    }
}

/// The SMTPError thrown by `body`, failing the test when it succeeds or throws something else.
private func smtpError(_ body: () async throws -> Void) async -> SMTPError? {
    do {
        try await body()
        Issue.record("expected an SMTPError, but the call succeeded")
        return nil
    } catch let error as SMTPError {
        return error
    } catch {
        Issue.record("expected an SMTPError, got \(error)")
        return nil
    }
}

@Suite("SMTP delivery against aiosmtpd", .timeLimit(.minutes(2)))
struct SMTPDeliveryTests {
    @Test func deliversMultipartAlertThatParsesBack() async throws {
        try await withAiosmtpd(["--pipelining", "--size", "10000000"]) { peer in
            let headline = "Eilmeldung: Überschwemmung in Köln – Pegel steigt weiter, 暴雨警报 🌧️ – Straßen gesperrt"
            let text = "Der Rhein steigt.\nMehr: https://newsalert.test/s/1\n"
            let html = "<p>Der Rhein <b>steigt</b>.</p>"
            var message = alert(subject: headline, text: text, html: html)
            message.headers = try MailHeader.listUnsubscribe(["https://newsalert.test/u/abc?t=1"])
            let receipt = try await withPool(peer.relay()) { try await $0.send(message) }

            #expect(receipt.reply.code == 250)
            #expect(receipt.queueID == "PEER00001")
            #expect(receipt.acceptedRecipients == ["reader@example.org"])
            let received = try #require(try peer.messages().first)
            #expect(received.mailFrom == "desk@newsalert.test")
            #expect(received.rcptTos == ["reader@example.org"])
            #expect(received.mailOptions?.contains("BODY=8BITMIME") == true)
            #expect(received.mailOptions?.contains { $0.hasPrefix("SIZE=") } == true)
            let parsed = try #require(received.parsed)
            #expect(parsed.defects.isEmpty)
            #expect(parsed.subject == headline)
            #expect(parsed.from == "Newsalert Desk <desk@newsalert.test>")
            #expect(parsed.to == "Zoë Ångström <reader@example.org>")
            #expect(parsed.contentType == "multipart/alternative")
            #expect(parsed.headerValues("Message-ID") == [message.messageID])
            #expect(parsed.headerValues("MIME-Version") == ["1.0"])
            #expect(parsed.headerValues("Date").count == 1)
            #expect(parsed.headerValues("List-Unsubscribe") == ["<https://newsalert.test/u/abc?t=1>"])
            #expect(parsed.headerValues("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"])
            #expect(parsed.parts.map(\.contentType) == ["text/plain", "text/html"])
            #expect(parsed.parts.allSatisfy { $0.charset == "utf-8" })
            #expect(parsed.parts[0].content.replacingOccurrences(of: "\r\n", with: "\n") == text)
            #expect(parsed.parts[1].content == html)
            let rawLines = String(decoding: received.raw, as: UTF8.self).components(separatedBy: "\r\n")
            #expect(rawLines.allSatisfy { $0.utf8.count <= 998 && !$0.contains("\n") && !$0.contains("\r") })
        }
    }

    @Test func startTLSWithTheTestCertificateAuthority() async throws {
        try await withAiosmtpd(["--tls", "starttls", "--require-starttls"]) { peer in
            _ = try await withPool(peer.relay(tls: .startTLS)) { try await $0.send(alert()) }
            #expect(try peer.messages().first?.tls == true)
        }
    }

    @Test func startTLSIfAvailableFallsBackToPlaintext() async throws {
        try await withAiosmtpd() { peer in
            _ = try await withPool(peer.relay(tls: .startTLSIfAvailable)) { try await $0.send(alert()) }
            #expect(try peer.messages().first?.tls == false)
        }
    }

    @Test func requiredStartTLSMissingIsPermanent() async throws {
        try await withAiosmtpd() { peer in
            let error = await smtpError { _ = try await withPool(peer.relay(tls: .startTLS)) { try await $0.send(alert()) } }
            #expect(error?.kind == .tlsUnavailable)
            #expect(error?.isPermanent == true)
            let received = try peer.messages()
            #expect(received.isEmpty)
        }
    }

    @Test func untrustedCertificateFailsTheHandshake() async throws {
        try await withAiosmtpd(["--tls", "starttls"]) { peer in
            var configuration = peer.relay(tls: .startTLS)
            configuration.tlsConfiguration = .makeClientConfiguration()  // system roots only
            let error = await smtpError { _ = try await withPool(configuration) { try await $0.send(alert()) } }
            #expect(error?.kind == .tlsFailed)
            let received = try peer.messages()
            #expect(received.isEmpty)
        }
    }

    @Test func implicitTLS() async throws {
        try await withAiosmtpd(["--tls", "implicit"]) { peer in
            _ = try await withPool(peer.relay(tls: .implicit)) { try await $0.send(alert()) }
            #expect(try peer.messages().first?.tls == true)
        }
    }

    @Test(arguments: [SMTPRelayConfiguration.AuthenticationMechanism.plain, .login])
    func authenticatesOverStartTLS(mechanism: SMTPRelayConfiguration.AuthenticationMechanism) async throws {
        try await withAiosmtpd(["--tls", "starttls", "--auth-user", "newsalert", "--auth-password", "s3cret pass"]) { peer in
            let configuration = peer.relay(
                tls: .startTLS, username: "newsalert", password: "s3cret pass", mechanism: mechanism)
            _ = try await withPool(configuration) { try await $0.send(alert()) }
            let received = try #require(try peer.messages().first)
            #expect(received.authenticated == true)
            #expect(received.login == "newsalert")
            #expect(received.tls == true)
        }
    }

    @Test func wrongPasswordIsPermanentAndNeverEchoed() async throws {
        try await withAiosmtpd(["--tls", "starttls", "--auth-user", "newsalert", "--auth-password", "right"]) { peer in
            let configuration = peer.relay(tls: .startTLS, username: "newsalert", password: "wrong-hunter2")
            let error = try #require(await smtpError { _ = try await withPool(configuration) { try await $0.send(alert()) } })
            #expect(error.kind == .authenticationFailed)
            #expect(error.replyCode == 535)
            #expect(error.isPermanent)
            #expect(!"\(error)".contains("wrong-hunter2"))
            #expect(!String(reflecting: error).contains("wrong-hunter2"))
            #expect(!"\(configuration)".contains("wrong-hunter2"))
        }
    }

    @Test func credentialsAreNotSentWithoutTLS() async throws {
        try await withAiosmtpd(["--auth-user", "newsalert", "--auth-password", "pw", "--auth-over-plaintext"]) { peer in
            let error = await smtpError {
                _ = try await withPool(peer.relay(username: "newsalert", password: "pw")) { try await $0.send(alert()) }
            }
            #expect(error?.kind == .authenticationUnavailable)
            var allowed = peer.relay(username: "newsalert", password: "pw")
            allowed.allowsPlaintextAuthentication = true
            _ = try await withPool(allowed) { try await $0.send(alert()) }
            #expect(try peer.messages().first?.authenticated == true)
        }
    }

    @Test func dotStuffingKeepsTheBodyIntact() async throws {
        try await withAiosmtpd() { peer in
            let text = "line one\r\n.\r\n..two dots\r\n.leading dot\r\nlast\r\n.\r\n"
            let raw = Array("Subject: dots\r\n\r\n\(text)".utf8)
            try await withPool(peer.relay()) { pool in
                _ = try await pool.send(alert(text: text))
                _ = try await pool.send(rawMessage: raw, from: desk, to: [reader])
            }
            let messages = try peer.messages()
            #expect(messages.count == 2)
            #expect(messages.first?.parsed?.parts.first?.content == text)
            #expect(messages.last?.raw == raw)
        }
    }

    @Test func bareLineEndingsAreNormalisedToCRLF() async throws {
        try await withAiosmtpd() { peer in
            let raw = Array("Subject: endings\nX-Test: yes\r\n\nbare LF\nbare CR\rCRLF\r\nLF CR\n\rend".utf8)
            _ = try await withPool(peer.relay()) { try await $0.send(rawMessage: raw, from: desk, to: [reader]) }
            let received = try #require(try peer.messages().first)
            let expected = "Subject: endings\r\nX-Test: yes\r\n\r\nbare LF\r\nbare CR\r\nCRLF\r\nLF CR\r\n\r\nend\r\n"
            #expect(String(decoding: received.raw, as: UTF8.self) == expected)
            #expect(received.parsed?.headerValues("X-Test") == ["yes"])
        }
    }

    @Test func headlineCannotInjectHeadersOrRecipients() async throws {
        try await withAiosmtpd() { peer in
            _ = try await withPool(peer.relay()) { try await $0.send(alert(subject: "Breaking\r\nBcc: x@evil.example")) }
            let received = try #require(try peer.messages().first)
            #expect(received.rcptTos == ["reader@example.org"])
            let parsed = try #require(received.parsed)
            #expect(parsed.headerValues("Bcc").isEmpty)
            #expect(parsed.subject == "Breaking Bcc: x@evil.example")
        }
    }

    @Test func reusesOneConnectionForSeveralMessages() async throws {
        try await withAiosmtpd(["--pipelining"]) { peer in
            let statistics = try await withPool(peer.relay(), maximumConnections: 1) { pool in
                for index in 1...5 {
                    _ = try await pool.send(alert(subject: "Update \(index)"))
                }
                return await pool.statistics
            }
            #expect(statistics.connectionsOpened == 1)
            #expect(try peer.connectionCount() == 1)
            let messages = try peer.messages()
            #expect(messages.map(\.parsed?.subject) == (1...5).map { "Update \($0)" })
            #expect(messages.allSatisfy { $0.connection == 1 })
        }
    }

    @Test func pipeliningSendsMailRcptAndDataInOneWrite() async throws {
        try await withAiosmtpd(["--pipelining"]) { peer in
            var message = alert()
            message.cc = [try EmailAddress("second@example.org")]
            _ = try await withPool(peer.relay()) { try await $0.send(message) }
            let mail = try #require(try peer.events().first { $0.event == "mail" })
            #expect(
                mail.bufferedAfterMail == "RCPT TO:<reader@example.org>\r\nRCPT TO:<second@example.org>\r\nDATA\r\n")
            #expect(try peer.messages().first?.rcptTos == ["reader@example.org", "second@example.org"])
        }
    }

    @Test func connectionClosedByTheRelayWhileIdleIsReplaced() async throws {
        try await withAiosmtpd(["--close-after-message"]) { peer in
            try await withPool(peer.relay(), maximumConnections: 1) { pool in
                _ = try await pool.send(alert(subject: "first"))
                _ = try await poll(timeout: .seconds(30), "the relay to drop the idle connection") {
                    try peer.events().contains { $0.event == "disconnect" } ? true : nil
                }
                _ = try await pool.send(alert(subject: "second"))
                #expect(await pool.statistics.connectionsOpened == 2)
            }
            #expect(try peer.messages().map(\.parsed?.subject) == ["first", "second"])
            #expect(try peer.connectionCount() == 2)
        }
    }

    @Test func aSenderCancelledWhileWaitingForAConnectionLeavesTheLine() async throws {
        let listener = try SilentListener()
        defer { listener.stop() }
        let configuration = SMTPRelayConfiguration(
            host: "127.0.0.1", port: listener.port, tls: .none, heloName: "newsalert.test",
            timeout: .seconds(5), connectTimeout: .seconds(5))
        try await withPool(configuration, maximumConnections: 1) { pool in
            // The only connection waits for a greeting that never comes; the second sender queues behind it.
            let holder = Task { try await pool.send(alert(subject: "holds the connection")) }
            let waiter = Task { try await pool.send(alert(subject: "waits")) }
            while await pool.statistics.waitingSenders < 1 { await Task.yield() }
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            #expect(await pool.statistics.waitingSenders == 0)
            _ = await holder.result  // the silent relay's greeting timeout
        }
    }

    @Test func silentRelayTimesOutAsTransient() async throws {
        let listener = try SilentListener()
        defer { listener.stop() }
        let configuration = SMTPRelayConfiguration(
            host: "127.0.0.1", port: listener.port, tls: .none, heloName: "newsalert.test",
            timeout: .seconds(1), connectTimeout: .seconds(5))
        let error = await smtpError { _ = try await withPool(configuration) { try await $0.send(alert()) } }
        #expect(error?.kind == .timeout)
        #expect(error?.command == "greeting")
        #expect(error?.isTransient == true)
    }

    @Test func concurrentSendersShareABoundedPool() async throws {
        try await withAiosmtpd(["--pipelining"]) { peer in
            let statistics = try await withPool(peer.relay(), maximumConnections: 2) { pool in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<12 {
                        group.addTask { try await pool.send(alert(subject: "Concurrent \(index)")).reply.code }
                    }
                    for try await code in group { #expect(code == 250) }
                }
                return await pool.statistics
            }
            #expect(statistics.connectionsOpened <= 2)
            #expect(try peer.connectionCount() <= 2)
            #expect(try peer.messages().count == 12)
        }
    }

    @Test func connectionReuseWithoutPipelining() async throws {
        try await withAiosmtpd() { peer in
            let connection = try await SMTPConnection.connect(configuration: peer.relay())
            for index in 1...3 {
                _ = try await connection.send(alert(subject: "Plain \(index)"))
            }
            #expect(await connection.messagesDelivered == 3)
            await connection.close()
            #expect(try peer.connectionCount() == 1)
            #expect(try peer.messages().count == 3)
        }
    }

    @Test func temporaryFailureIsTransientAndTheNextAttemptSucceeds() async throws {
        try await withAiosmtpd(["--fail-first", "1", "--fail-code", "451 4.3.0 Try again later"]) { peer in
            try await withPool(peer.relay(), maximumConnections: 1) { pool in
                let error = try #require(await smtpError { _ = try await pool.send(alert()) })
                #expect(error.replyCode == 451)
                #expect(error.isTransient)
                #expect(error.kind == .messageRejected)
                #expect(error.replyText?.contains("Try again later") == true)
                let receipt = try await pool.send(alert())
                #expect(receipt.reply.code == 250)
            }
            #expect(try peer.connectionCount() == 1)
        }
    }

    @Test func rejectionIsPermanent() async throws {
        try await withAiosmtpd(["--fail-first", "100", "--fail-code", "550 5.7.1 Message refused"]) { peer in
            let error = try #require(await smtpError { _ = try await withPool(peer.relay()) { try await $0.send(alert()) } })
            #expect(error.replyCode == 550)
            #expect(error.isPermanent)
            #expect(error.kind == .messageRejected)
        }
    }

    @Test func refusedRecipientsAreReportedOrFatal() async throws {
        try await withAiosmtpd(["--pipelining", "--reject-rcpt", "gone@example.org"]) { peer in
            let gone = try EmailAddress("gone@example.org")
            try await withPool(peer.relay(), maximumConnections: 1) { pool in
                var message = alert()
                message.bcc = [gone]
                let receipt = try await pool.send(message)
                #expect(receipt.acceptedRecipients == ["reader@example.org"])
                #expect(receipt.rejectedRecipients.map(\.address) == ["gone@example.org"])
                #expect(receipt.rejectedRecipients.first?.reply.code == 550)

                message.to = [gone]
                message.bcc = []
                let error = await smtpError { _ = try await pool.send(message) }
                #expect(error?.kind == .recipientRejected)
                #expect(error?.isPermanent == true)
                _ = try await pool.send(alert())
            }
            #expect(try peer.messages().count == 2)
            #expect(try peer.connectionCount() == 1)
        }
    }

    @Test func relayDownIsTransient() async throws {
        let port = try unusedLoopbackPort()
        let configuration = SMTPRelayConfiguration(
            host: "127.0.0.1", port: port, tls: .none, heloName: "newsalert.test",
            timeout: .seconds(5), connectTimeout: .seconds(5))
        let error = await smtpError { _ = try await withPool(configuration) { try await $0.send(alert()) } }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.isTransient == true)
    }

    @Test func oversizedMessageIsRefusedBeforeSending() async throws {
        try await withAiosmtpd(["--size", "2000"]) { peer in
            let big = alert(text: String(repeating: "Long story. ", count: 500))
            let error = await smtpError { _ = try await withPool(peer.relay()) { try await $0.send(big) } }
            #expect(error?.kind == .messageTooLarge)
            #expect(error?.isPermanent == true)
            #expect(error?.detail.contains("2000") == true)
            let received = try peer.messages()
            #expect(received.isEmpty)
        }
    }

    @Test func fallsBackToHELO() async throws {
        try await withAiosmtpd(["--no-ehlo"]) { peer in
            _ = try await withPool(peer.relay()) { try await $0.send(alert()) }
            let received = try #require(try peer.messages().first)
            #expect(received.extendedSmtp == false)
            #expect(received.helo == "newsalert.test")
            #expect(received.mailOptions == [])
        }
    }

    @Test func nonASCIIAddressesUseSMTPUTF8() async throws {
        let jorg = try EmailAddress("jörg@exämple.org", displayName: "Jörg")
        try await withAiosmtpd(["--smtputf8"]) { peer in
            var message = alert()
            message.to = [jorg]
            _ = try await withPool(peer.relay()) { try await $0.send(message) }
            let received = try #require(try peer.messages().first)
            #expect(received.mailOptions?.contains("SMTPUTF8") == true)
            #expect(received.rcptTos == ["jörg@exämple.org"])
            #expect(received.parsed?.to == "Jörg <jörg@exämple.org>")
        }
        try await withAiosmtpd() { peer in
            var message = alert()
            message.to = [jorg]
            let error = await smtpError { _ = try await withPool(peer.relay()) { try await $0.send(message) } }
            #expect(error?.kind == .unsupportedExtension)
            #expect(error?.isPermanent == true)
        }
    }
}
