import NIOCore
import NIOSSL

/// Splits the server's byte stream into SMTP replies and hands them, in order, to whoever asked
/// with ``nextReply(timeout:)``. Lives on the channel's event loop; used through `NIOLoopBound`.
final class SMTPClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// Longest reply line accepted (RFC 5321 allows 512; servers are sometimes generous).
    static let maximumLineLength = 4096
    /// Most lines accepted in one multi-line reply.
    static let maximumReplyLines = 512

    private struct Waiter {
        let id: Int
        let promise: EventLoopPromise<SMTPReply>
        let timeout: Scheduled<Void>?
    }

    private let eventLoop: any EventLoop
    private var context: ChannelHandlerContext?
    private var buffer: ByteBuffer?
    private var pendingCode: Int?
    private var pendingLines: [String] = []
    private var replies = CircularBuffer<SMTPReply>()
    private var waiters = CircularBuffer<Waiter>()
    private var nextWaiterID = 0
    private(set) var failure: SMTPError?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.fail(SMTPError(kind: .connectionClosed, detail: "SMTP handler removed"))
        self.context = nil
    }

    /// True when bytes or replies arrived that nobody asked for yet. After `220` to STARTTLS this
    /// must be false: anything else would be plaintext injected ahead of the TLS handshake.
    var hasUnconsumedInput: Bool {
        (buffer?.readableBytes ?? 0) > 0 || !replies.isEmpty || pendingCode != nil
    }

    /// The next reply, failing with ``SMTPError/Kind/timeout`` (and closing the channel) when none
    /// arrives within `timeout`.
    func nextReply(timeout: TimeAmount) -> EventLoopFuture<SMTPReply> {
        if let reply = replies.popFirst() {
            return eventLoop.makeSucceededFuture(reply)
        }
        if let failure {
            return eventLoop.makeFailedFuture(failure)
        }
        guard context != nil else {
            return eventLoop.makeFailedFuture(SMTPError(kind: .connectionClosed, detail: "the connection is closed"))
        }
        let promise = eventLoop.makePromise(of: SMTPReply.self)
        let id = nextWaiterID
        nextWaiterID += 1
        let scheduled = eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.timeoutFired(waiterID: id, after: timeout)
        }
        waiters.append(Waiter(id: id, promise: promise, timeout: scheduled))
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        parseReplies()
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(SMTPError(kind: .connectionClosed, detail: "the server closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let smtpError: SMTPError
        if let error = error as? SMTPError {
            smtpError = error
        } else if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            smtpError = SMTPError(kind: .tlsFailed, detail: String(describing: error))
        } else {
            smtpError = SMTPError(kind: .connectionClosed, detail: String(describing: error))
        }
        fail(smtpError)
        context.close(promise: nil)
    }

    private func parseReplies() {
        while var current = buffer, failure == nil {
            let view = current.readableBytesView
            guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
                if current.readableBytes > Self.maximumLineLength {
                    protocolViolation("reply line longer than \(Self.maximumLineLength) octets")
                }
                return
            }
            let lineLength = newline - view.startIndex
            guard lineLength <= Self.maximumLineLength else {
                protocolViolation("reply line longer than \(Self.maximumLineLength) octets")
                return
            }
            var lineBytes = current.readBytes(length: lineLength + 1)!
            lineBytes.removeLast()
            if lineBytes.last == UInt8(ascii: "\r") { lineBytes.removeLast() }
            if current.readableBytes == 0 {
                buffer = nil
            } else {
                current.discardReadBytes()
                buffer = current
            }
            handleLine(lineBytes)
        }
    }

    private func handleLine(_ line: [UInt8]) {
        func digit(_ index: Int) -> Int? {
            guard index < line.count, line[index] >= UInt8(ascii: "0"), line[index] <= UInt8(ascii: "9") else {
                return nil
            }
            return Int(line[index] - UInt8(ascii: "0"))
        }
        guard let hundreds = digit(0), let tens = digit(1), let units = digit(2), (2...5).contains(hundreds) else {
            protocolViolation("malformed reply line")
            return
        }
        let code = hundreds * 100 + tens * 10 + units
        let separator: UInt8? = line.count > 3 ? line[3] : nil
        guard separator == nil || separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            protocolViolation("malformed reply line")
            return
        }
        if let pendingCode, pendingCode != code {
            protocolViolation("multi-line reply changed its code from \(pendingCode) to \(code)")
            return
        }
        let text = line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : ""
        pendingLines.append(text)
        if separator == UInt8(ascii: "-") {
            pendingCode = code
            if pendingLines.count > Self.maximumReplyLines {
                protocolViolation("multi-line reply longer than \(Self.maximumReplyLines) lines")
            }
            return
        }
        let reply = SMTPReply(code: code, lines: pendingLines)
        pendingCode = nil
        pendingLines = []
        if let waiter = waiters.popFirst() {
            waiter.timeout?.cancel()
            waiter.promise.succeed(reply)
        } else {
            replies.append(reply)
        }
    }

    private func protocolViolation(_ detail: String) {
        fail(SMTPError(kind: .protocolViolation, detail: detail))
        context?.close(promise: nil)
    }

    private func timeoutFired(waiterID: Int, after timeout: TimeAmount) {
        guard waiters.contains(where: { $0.id == waiterID }) else { return }
        let seconds = Double(timeout.nanoseconds) / 1_000_000_000
        fail(SMTPError(kind: .timeout, detail: "no reply within \(seconds) s"))
        context?.close(promise: nil)
    }

    /// Records the first failure and fails every waiting reader with it.
    private func fail(_ error: SMTPError) {
        if failure == nil { failure = error }
        let failure = self.failure!
        while let waiter = waiters.popFirst() {
            waiter.timeout?.cancel()
            waiter.promise.fail(failure)
        }
    }
}
