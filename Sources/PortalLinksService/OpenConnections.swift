import NIOCore

/// The server's open connections, counted per client address too, so that one address cannot take every slot.
package struct OpenConnections {
    package private(set) var channels: [ObjectIdentifier: any Channel] = [:]
    private var perAddress: [String: Int] = [:]

    package init() {}

    package var count: Int { channels.count }
    var values: Dictionary<ObjectIdentifier, any Channel>.Values { channels.values }

    /// Adds the connection unless `peer` holds `limit` already.
    package mutating func insert(_ channel: any Channel, id: ObjectIdentifier, peer: String, limit: Int) -> Bool {
        guard perAddress[peer, default: 0] < limit else { return false }
        perAddress[peer, default: 0] += 1
        channels[id] = channel
        return true
    }

    package mutating func remove(_ id: ObjectIdentifier, peer: String) {
        guard channels.removeValue(forKey: id) != nil else { return }
        perAddress[peer, default: 1] -= 1
        if perAddress[peer] == 0 { perAddress[peer] = nil }
    }
}
