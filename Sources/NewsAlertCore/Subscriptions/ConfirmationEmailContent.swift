import Foundation

/// The mail that asks an address's owner to confirm alerts (double opt-in): subject, plain text and HTML.
public struct ConfirmationEmailContent: Sendable, Hashable {
    public var subject: String
    public var text: String
    public var html: String

    public init(confirmationURL: String, expires: Date) {
        subject = "Confirm your breaking-news alerts"
        let until = RFC3339.format(expires)
        text = """
            Someone, hopefully you, asked for breaking-news alerts at this address.

            To start getting them, open this link and press "Confirm":
            \(confirmationURL)

            The link works until \(until). If you did not ask, ignore this mail: nothing more will be sent to you.
            """
        let link = AlertEmailContent.escape(confirmationURL)
        html = """
            <!doctype html><html lang="en"><body><p>Someone, hopefully you, asked for breaking-news alerts at this address.</p>
            <p><a href="\(link)">Confirm your alerts</a></p>
            <p>The link works until \(AlertEmailContent.escape(until)). If you did not ask, ignore this mail: nothing more will be sent to you.</p></body></html>
            """
    }
}
