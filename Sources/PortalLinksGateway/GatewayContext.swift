import Hummingbird
import NIOCore

/// A request's context: Hummingbird's own, and the client's address, which throttling counts by.
struct GatewayContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client's IP address ("-" when unknown).
    let peer: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress?.ipAddress ?? "-"
    }
}
