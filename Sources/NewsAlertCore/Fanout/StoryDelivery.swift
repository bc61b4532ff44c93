/// What a subscriber already received of a story on one channel: fan-out's memory for updates and retractions.
public struct StoryDelivery: Codable, Sendable, Hashable {
    public var subscriberID: String
    public var storyID: String
    public var channelID: String
    public var channel: DeliveryChannel.Kind
    /// The last event of the story delivered (or held) on this channel.
    public var lastEventID: String

    public init(subscriberID: String, storyID: String, channelID: String, channel: DeliveryChannel.Kind, lastEventID: String) {
        self.subscriberID = subscriberID
        self.storyID = storyID
        self.channelID = channelID
        self.channel = channel
        self.lastEventID = lastEventID
    }
}
