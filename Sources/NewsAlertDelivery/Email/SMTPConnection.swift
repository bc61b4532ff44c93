import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// One SMTP session with a relay: greeting, EHLO (or HELO), STARTTLS, AUTH, then any number of
/// mail transactions, separated by RSET.
///
/// Usually obtained through ``SMTPRelayPool``; use it directly to keep one connection for a batch.
/// Calls are serialised by the actor. Any connection-level failure (timeout, reset, garbled reply,
/// `421`) makes ``isUsable`` false and closes the channel; a refused transaction (e.g. `550` to
/// `RCPT TO`) leaves the connection usable.
public actor SMTPConnection {
    /// The relay this connection talks to.
    public nonisolated let configuration: SMTPRelayConfiguration
    /// The extensions announced in the latest EHLO reply (empty after a HELO fallback).
    public private(set) var capabilities = SMTPCapabilities()
    /// The server's 220 greeting.
    public private(set) var greeting: SMTPReply?
    /// Whether the session runs over TLS (implicit or after STARTTLS).
    public private(set) var isEncrypted = false
    /// Whether AUTH succeeded.
    public private(set) var isAuthenticated = false
    /// Messages accepted by the server on this connection.
    public private(set) var messagesDelivered = 0
    /// Transactions started on this connection, successful or not.
    public private(set) var transactionsStarted = 0

    private let channel: any Channel
    private let handler: NIOLoopBound<SMTPClientHandler>
    private let sslContext: NIOSSLContext?
    private let logger: Logger
    private let broken = NIOLockedValueBox(false)
    private var needsReset = false

    private struct Connected: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<SMTPClientHandler>
    }

    private init(
        configuration: SMTPRelayConfiguration,
        connected: Connected,
        sslContext: NIOSSLContext?,
        encrypted: Bool,
        logger: Logger
    ) {
        self.configuration = configuration
        self.channel = connected.channel
        self.handler = connected.handler
        self.sslContext = sslContext
        self.isEncrypted = encrypted
        self.logger = logger
    }

    /// Whether the connection can carry another message: open, and no connection-level failure seen.
    public nonisolated var isUsable: Bool {
        channel.isActive && !broken.withLockedValue { $0 }
    }

    /// Connects, reads the greeting, says EHLO (falling back to HELO), upgrades with STARTTLS as
    /// configured and authenticates when credentials are configured.
    ///
    /// - Parameters:
    ///   - sslContext: A prebuilt context for ``SMTPRelayConfiguration/tlsConfiguration``; built on demand when nil.
    ///   - eventLoopGroup: Where the channel runs.
    ///   - logger: Receives connection events; never credentials.
    /// - Throws: ``SMTPError``.
    public static func connect(
        configuration: SMTPRelayConfiguration,
        sslContext: NIOSSLContext? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "newsalert.smtp")
    ) async throws -> SMTPConnection {
        var logger = logger
        logger[metadataKey: "smtp.relay"] = "\(configuration.host):\(configuration.port)"
        guard configuration.heloName.utf8.allSatisfy({ $0 > 32 && $0 < 127 }), !configuration.heloName.isEmpty else {
            throw SMTPError(kind: .heloRejected, detail: "invalid HELO name", isTransient: false)
        }
        var context = sslContext
        if context == nil, configuration.tls != .none {
            do {
                context = try NIOSSLContext(configuration: configuration.tlsConfiguration)
            } catch {
                throw SMTPError(kind: .tlsFailed, detail: "invalid TLS configuration: \(error)")
            }
        }
        let implicitContext = configuration.tls == .implicit ? context : nil
        let serverName = configuration.serverNameForTLS

        let connected: Connected
        do {
            connected = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(configuration.connectTimeout.timeAmount)
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let implicitContext {
                            let tls = try NIOSSLClientHandler(context: implicitContext, serverHostname: serverName)
                            try channel.pipeline.syncOperations.addHandler(tls)
                        }
                        let handler = SMTPClientHandler(eventLoop: channel.eventLoop)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return Connected(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                    }
                }
        } catch let error as NIOSSLExtraError {
            throw SMTPError(kind: .tlsFailed, detail: String(describing: error))
        } catch {
            throw SMTPError(
                kind: .connectionFailed,
                detail: "could not connect to \(configuration.host):\(configuration.port): \(error)"
            )
        }

        let connection = SMTPConnection(
            configuration: configuration,
            connected: connected,
            sslContext: context,
            encrypted: implicitContext != nil,
            logger: logger
        )
        do {
            try await connection.openSession()
        } catch {
            await connection.abort()
            throw error
        }
        return connection
    }

    // MARK: Session setup

    private func openSession() async throws {
        let greeting = try await readReply(command: "greeting")
        self.greeting = greeting
        guard greeting.code == 220 else {
            markBroken()
            throw SMTPError(kind: .greetingRejected, reply: greeting, command: "greeting")
        }
        try await hello()

        if configuration.tls == .startTLS || configuration.tls == .startTLSIfAvailable, !isEncrypted {
            if capabilities.startTLS {
                let reply = try await exchange("STARTTLS", command: "STARTTLS")
                if reply.code == 220 {
                    try await upgradeToTLS()
                    try await hello()
                } else if configuration.tls == .startTLS {
                    throw SMTPError(kind: .tlsUnavailable, reply: reply, command: "STARTTLS")
                } else {
                    logger.notice("STARTTLS refused; continuing without TLS", metadata: ["smtp.reply": "\(reply)"])
                }
            } else if configuration.tls == .startTLS {
                throw SMTPError(
                    kind: .tlsUnavailable, command: "EHLO",
                    detail: "the server does not offer STARTTLS", isTransient: false)
            }
        }

        if configuration.username != nil {
            try await authenticate()
        }
        logger.debug(
            "SMTP session ready",
            metadata: ["smtp.tls": "\(isEncrypted)", "smtp.authenticated": "\(isAuthenticated)"])
    }

    private func hello() async throws {
        let ehlo = try await exchange("EHLO \(configuration.heloName)", command: "EHLO")
        if ehlo.code == 250 {
            capabilities = SMTPCapabilities(ehloReply: ehlo)
            return
        }
        guard ehlo.code >= 500 else {
            throw SMTPError(kind: .heloRejected, reply: ehlo, command: "EHLO")
        }
        let helo = try await exchange("HELO \(configuration.heloName)", command: "HELO")
        guard helo.code == 250 else {
            throw SMTPError(kind: .heloRejected, reply: helo, command: "HELO")
        }
        capabilities = SMTPCapabilities()
    }

    private func upgradeToTLS() async throws {
        guard let sslContext else {
            throw SMTPError(kind: .tlsFailed, command: "STARTTLS", detail: "no TLS context")
        }
        let serverName = configuration.serverNameForTLS
        let channel = self.channel
        let handler = self.handler
        do {
            try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
                // RFC 3207 §5: anything the server sent after "220" is plaintext that an attacker
                // could have injected; refuse to go on rather than treat it as protected.
                guard !handler.value.hasUnconsumedInput else {
                    return channel.eventLoop.makeFailedFuture(
                        SMTPError(
                            kind: .protocolViolation, command: "STARTTLS",
                            detail: "the server sent data after its STARTTLS reply", isTransient: false))
                }
                return channel.eventLoop.makeCompletedFuture {
                    let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: serverName)
                    try channel.pipeline.syncOperations.addHandler(tls, position: .first)
                }
            }.get()
        } catch let error as SMTPError {
            markBroken()
            throw error
        } catch {
            markBroken()
            throw SMTPError(kind: .tlsFailed, command: "STARTTLS", detail: String(describing: error))
        }
        isEncrypted = true
        capabilities = SMTPCapabilities()
    }

    private func authenticate() async throws {
        guard let username = configuration.username else { return }
        let password = configuration.password ?? ""
        guard isEncrypted || configuration.allowsPlaintextAuthentication else {
            throw SMTPError(
                kind: .authenticationUnavailable, command: "AUTH",
                detail: "refusing to send credentials without TLS", isTransient: false)
        }
        let offered = capabilities.authenticationMechanisms
        let mechanism: SMTPRelayConfiguration.AuthenticationMechanism?
        if let configured = configuration.authenticationMechanism {
            mechanism = offered.contains(configured.rawValue) ? configured : nil
        } else {
            mechanism = offered.contains("PLAIN") ? .plain : offered.contains("LOGIN") ? .login : nil
        }
        guard let mechanism else {
            throw SMTPError(
                kind: .authenticationUnavailable, command: "AUTH",
                detail: "no usable mechanism among \(offered.sorted())", isTransient: false)
        }
        let command = "AUTH \(mechanism.rawValue)"
        var reply: SMTPReply
        switch mechanism {
        case .plain:
            let token = Self.base64([0] + Array(username.utf8) + [0] + Array(password.utf8))
            reply = try await exchange("AUTH PLAIN \(token)", command: command)
            if reply.code == 334 {
                reply = try await exchange(token, command: command)
            }
        case .login:
            reply = try await exchange("AUTH LOGIN", command: command)
            if reply.code == 334 {
                reply = try await exchange(Self.base64(Array(username.utf8)), command: command)
            }
            if reply.code == 334 {
                reply = try await exchange(Self.base64(Array(password.utf8)), command: command)
            }
        }
        guard reply.code == 235 else {
            throw SMTPError(kind: .authenticationFailed, reply: reply, command: command)
        }
        isAuthenticated = true
    }

    // MARK: Transactions

    /// Composes `message` and sends it to its envelope recipients (To, Cc and Bcc).
    ///
    /// - Throws: ``SMTPError``; composition problems surface as ``SMTPError/Kind/invalidMessage``.
    public func send(_ message: MailMessage, composer: MIMEComposer = MIMEComposer()) async throws -> SMTPDeliveryReceipt {
        let bytes = try composer.composeForSending(message)
        return try await send(rawMessage: bytes, from: message.envelopeFrom, to: message.envelopeRecipients)
    }

    /// Sends an already composed RFC 5322 message.
    ///
    /// Line endings are normalised to CRLF (a bare LF or CR never reaches the server), lines
    /// starting with "." are dot-stuffed, and the message is refused locally when it exceeds the
    /// server's SIZE. With PIPELINING, MAIL FROM, every RCPT TO and DATA go out in one write.
    /// Recipients the server refuses are listed in the receipt; when all are refused the call throws.
    ///
    /// - Throws: ``SMTPError``.
    public func send(rawMessage: [UInt8], from sender: EmailAddress, to recipients: [EmailAddress]) async throws
        -> SMTPDeliveryReceipt
    {
        guard !recipients.isEmpty else {
            throw SMTPError(kind: .invalidMessage, detail: "no recipients", isTransient: false)
        }
        guard isUsable else {
            throw SMTPError(kind: .connectionClosed, detail: "the connection is no longer usable")
        }
        if needsReset {
            try await reset()
        }

        var message = MIMEEncoding.normalisingLineEndings(rawMessage)
        if !message.isEmpty, message.suffix(2) != [13, 10] { message += MIMEEncoding.crlf }
        let size = message.count
        if let maximum = capabilities.maximumMessageSize, size > maximum {
            throw SMTPError(
                kind: .messageTooLarge, command: "MAIL FROM",
                detail: "the message is \(size) octets; the relay accepts at most \(maximum)", isTransient: false)
        }
        let needsUTF8 = !sender.isASCII || recipients.contains { !$0.isASCII }
        if needsUTF8, !capabilities.smtpUTF8 {
            throw SMTPError(
                kind: .unsupportedExtension, command: "MAIL FROM",
                detail: "non-ASCII addresses need SMTPUTF8, which the relay does not offer", isTransient: false)
        }
        if message.contains(where: { $0 >= 0x80 }), !capabilities.eightBitMIME, !capabilities.smtpUTF8 {
            throw SMTPError(
                kind: .unsupportedExtension, command: "MAIL FROM",
                detail: "8-bit content needs 8BITMIME, which the relay does not offer", isTransient: false)
        }

        var mailFrom = "MAIL FROM:<\(sender.address)>"
        if capabilities.supports("SIZE") { mailFrom += " SIZE=\(size)" }
        if capabilities.eightBitMIME { mailFrom += " BODY=8BITMIME" }
        if needsUTF8 { mailFrom += " SMTPUTF8" }
        let recipientCommands = recipients.map { "RCPT TO:<\($0.address)>" }

        needsReset = true
        transactionsStarted += 1

        var accepted: [String] = []
        var rejected: [SMTPDeliveryReceipt.Rejection] = []
        if capabilities.pipelining {
            writeLines([mailFrom] + recipientCommands + ["DATA"])
            let mailReply = try await readReply(command: "MAIL FROM")
            for recipient in recipients {
                let reply = try await readReply(command: "RCPT TO")
                if reply.isPositiveCompletion {
                    accepted.append(recipient.address)
                } else {
                    rejected.append(.init(address: recipient.address, reply: reply))
                }
            }
            let dataReply = try await readReply(command: "DATA")
            if !mailReply.isPositiveCompletion {
                try await abandonData(after: dataReply)
                throw SMTPError(kind: .senderRejected, reply: mailReply, command: "MAIL FROM")
            }
            if accepted.isEmpty {
                try await abandonData(after: dataReply)
                throw Self.recipientsRejected(rejected)
            }
            guard dataReply.code == 354 else {
                throw SMTPError(kind: .messageRejected, reply: dataReply, command: "DATA")
            }
        } else {
            let mailReply = try await exchange(mailFrom, command: "MAIL FROM")
            guard mailReply.isPositiveCompletion else {
                throw SMTPError(kind: .senderRejected, reply: mailReply, command: "MAIL FROM")
            }
            for (recipient, command) in zip(recipients, recipientCommands) {
                let reply = try await exchange(command, command: "RCPT TO")
                if reply.isPositiveCompletion {
                    accepted.append(recipient.address)
                } else {
                    rejected.append(.init(address: recipient.address, reply: reply))
                }
            }
            guard !accepted.isEmpty else {
                throw Self.recipientsRejected(rejected)
            }
            let dataReply = try await exchange("DATA", command: "DATA")
            guard dataReply.code == 354 else {
                throw SMTPError(kind: .messageRejected, reply: dataReply, command: "DATA")
            }
        }

        write(Self.dotStuffed(message))
        let reply = try await readReply(command: "end of data")
        guard reply.isPositiveCompletion else {
            throw SMTPError(kind: .messageRejected, reply: reply, command: "end of data")
        }
        messagesDelivered += 1
        return SMTPDeliveryReceipt(
            reply: reply, acceptedRecipients: accepted, rejectedRecipients: rejected, messageSize: size)
    }

    /// Sends RSET, ending any transaction in progress. ``send(rawMessage:from:to:)`` does this by
    /// itself before every transaction but the first.
    public func reset() async throws {
        let reply = try await exchange("RSET", command: "RSET")
        guard reply.code == 250 else {
            markBroken()
            throw SMTPError(kind: .protocolViolation, reply: reply, command: "RSET")
        }
        needsReset = false
    }

    /// Says QUIT (waiting briefly for the reply) and closes the connection. Never throws.
    public func close() async {
        if isUsable {
            markBroken()
            writeLines(["QUIT"])
            let quitTimeout = min(configuration.timeout, .seconds(2)).timeAmount
            _ = try? await channel.eventLoop.flatSubmit { [handler] in
                handler.value.nextReply(timeout: quitTimeout)
            }.get()
        }
        await abort()
    }

    private func abort() async {
        markBroken()
        try? await channel.close()
    }

    // MARK: I/O

    private func markBroken() {
        broken.withLockedValue { $0 = true }
    }

    private static func recipientsRejected(_ rejected: [SMTPDeliveryReceipt.Rejection]) -> SMTPError {
        // Retrying helps when at least one refusal was temporary.
        let reply = rejected.first(where: { $0.reply.isTransientFailure })?.reply ?? rejected.first?.reply
        return SMTPError(
            kind: .recipientRejected, reply: reply, command: "RCPT TO",
            detail: "all \(rejected.count) recipient(s) refused")
    }

    /// After a pipelined transaction failed before DATA: if the server still said 354, end the
    /// (empty) data at once as RFC 2920 asks.
    private func abandonData(after dataReply: SMTPReply) async throws {
        guard dataReply.code == 354 else { return }
        writeLines(["."])
        _ = try await readReply(command: "end of data")
    }

    private func writeLines(_ lines: [String]) {
        var buffer = channel.allocator.buffer(capacity: lines.reduce(0) { $0 + $1.utf8.count + 2 })
        for line in lines {
            buffer.writeString(line)
            buffer.writeBytes(MIMEEncoding.crlf)
        }
        channel.writeAndFlush(buffer, promise: nil)
    }

    private func write(_ bytes: [UInt8]) {
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
    }

    private func exchange(_ line: String, command: String) async throws -> SMTPReply {
        logger.trace("SMTP command", metadata: ["smtp.command": "\(command)"])
        writeLines([line])
        return try await readReply(command: command)
    }

    private func readReply(command: String) async throws -> SMTPReply {
        let timeout = configuration.timeout.timeAmount
        let reply: SMTPReply
        do {
            reply = try await channel.eventLoop.flatSubmit { [handler] in
                handler.value.nextReply(timeout: timeout)
            }.get()
        } catch let error as SMTPError {
            markBroken()
            throw SMTPError(
                kind: error.kind, reply: error.reply, command: command, detail: error.detail,
                isTransient: error.isTransient)
        } catch {
            markBroken()
            throw SMTPError(kind: .connectionClosed, command: command, detail: String(describing: error))
        }
        if reply.code == 421 {
            // "Service not available, closing transmission channel."
            markBroken()
            try? await channel.close()
        }
        return reply
    }

    /// CRLF-normalised `message` with a "." added before every line that starts with ".", followed
    /// by the end-of-data line.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(message.count + 8)
        var atLineStart = true
        for byte in message {
            if atLineStart, byte == UInt8(ascii: ".") { output.append(UInt8(ascii: ".")) }
            output.append(byte)
            atLineStart = byte == 10
        }
        if !output.isEmpty, output.suffix(2) != [13, 10] { output += MIMEEncoding.crlf }
        output += Array(".\r\n".utf8)
        return output
    }

    private static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }
}

fileprivate extension Duration {
    /// The duration as a NIO `TimeAmount`, clamped to what fits.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        let limit = Int64.max / 1_000_000_000 - 1
        let clamped = max(-limit, min(limit, seconds))
        return .nanoseconds(clamped * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
