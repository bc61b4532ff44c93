import NIOCore

/// One ticker frame as the bytes each transport puts on the wire, encoded once and shared by every connection
/// that gets it (a `ByteBuffer` is a reference to its storage: writing it to 100,000 channels copies nothing).
public struct TickerWireFrame: Sendable {
    /// A complete WebSocket text frame: header and payload, unmasked as a server sends it.
    public let webSocket: ByteBuffer
    /// A complete Server-Sent Events block (an event, or a heartbeat comment), ending with its blank line.
    public let eventStream: ByteBuffer
    /// The frame's JSON (a WebSocket message's text; empty for the event-stream prelude).
    public let json: String

    public init(_ frame: TickerFrame) {
        json = frame.json
        webSocket = Self.webSocketText(json)
        eventStream = ByteBuffer(string: TickerRoutes.event(for: frame))
    }

    init(webSocket: ByteBuffer, eventStream: ByteBuffer) {
        self.webSocket = webSocket
        self.eventStream = eventStream
        json = ""
    }

    /// The opening of every event stream: how long EventSource waits before it reconnects (no WebSocket bytes).
    static func eventStreamPrelude(retry: Duration) -> TickerWireFrame {
        TickerWireFrame(webSocket: ByteBuffer(), eventStream: ByteBuffer(string: "retry: \(retry.components.seconds * 1000)\n\n"))
    }

    /// An unfragmented WebSocket text frame (RFC 6455 §5.2): FIN + opcode 1, then the payload length in 7, 7+16 or
    /// 7+64 bits; no mask, because servers do not mask.
    public static func webSocketText(_ text: String) -> ByteBuffer {
        webSocketFrame(opcode: 0x1, payload: ByteBuffer(string: text))
    }

    /// A close frame (opcode 8) with a status code and a reason (cut to the 123 bytes a control frame allows).
    static func webSocketClose(code: UInt16, reason: String) -> ByteBuffer {
        var payload = ByteBuffer()
        payload.writeInteger(code)
        payload.writeBytes(reason.utf8.prefix(123))
        return webSocketFrame(opcode: 0x8, payload: payload)
    }

    private static func webSocketFrame(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
        let length = payload.readableBytes
        var frame = ByteBuffer()
        frame.reserveCapacity(length + 10)
        frame.writeInteger(UInt8(0x80 | opcode))
        switch length {
        case ..<126:
            frame.writeInteger(UInt8(length))
        case ..<65_536:
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(length))
        default:
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(length))
        }
        var payload = payload
        frame.writeBuffer(&payload)
        return frame
    }
}
