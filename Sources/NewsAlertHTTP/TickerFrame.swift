import Foundation
import NewsAlertCore

/// A frame the ticker sends: an item with its position, a gap, or a heartbeat, encoded as JSON text.
public enum TickerFrame: Sendable {
    case item(position: Int64, epoch: String, TickerItem)
    case gap(from: Int64, to: Int64?, epoch: String, reason: String)
    case heartbeat(position: Int64?, epoch: String)
    /// A frame already encoded (an item encoded once for all clients).
    case encoded(String)

    public var json: String {
        var object: [String: Any]
        switch self {
        case .encoded(let text):
            return text
        case .item(let position, let epoch, let item):
            let encoded = (try? JSONEncoder.newsAlert.encode(item)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
            object = encoded.filter { $0.key != "audience" }
            object["position"] = position
            object["epoch"] = epoch
        case .gap(let from, let to, let epoch, let reason):
            object = ["type": "gap", "from": from, "to": to.map { $0 as Any } ?? NSNull(), "epoch": epoch, "reason": reason]
        case .heartbeat(let position, let epoch):
            object = ["type": "heartbeat", "position": position.map { $0 as Any } ?? NSNull(), "epoch": epoch]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
