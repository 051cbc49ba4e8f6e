import NIOCore
import PortalLinksCore
import PortalLinksMessages
import PortalLinksWire

/// Auth.Hello: a known key authenticates the connection; failures count per connection (the connection
/// closes after `maximumFailedHellos`, as `ConnectionStateMachine` decides) and per client address across
/// connections (`FailedHelloThrottle`).
extension ConnectionHandler {
    func hello(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        guard let request: PortalLinks_V1_HelloRequest = decode(context, header, payload) else { return }
        let keyHash = SHA256.hash(Array(request.apiKey.utf8))
        if let found = snapshot.caller(keyHash: keyHash) {
            accept(context, header, keyHash: keyHash, found, afterReload: false)
            return
        }
        if let peerHost, case .refuse(let refused) = helloThrottle.failure(from: peerHost) {
            if let refused {
                logger.warning("throttling failed hellos from this address", metadata: ["hello.refused": "\(refused)"])
            }
            respond(context, header, .resourceExhausted, message: "too many failed Hellos from this address; retry later")
            if machine.helloThrottled() { close(context, reason: .helloThrottled) }
            return
        }
        switch machine.helloFailed() {
        case .refuse:
            refuseHello(context, header)
        case .reloadThenRetry:
            // The caller may have been added a moment ago (reloads happen at most every 250 ms across the server).
            afterReload(context) { handler, context in
                if let found = handler.snapshot.caller(keyHash: keyHash) {
                    handler.accept(context, header, keyHash: keyHash, found, afterReload: true)
                } else {
                    handler.refuseHello(context, header)
                }
            }
        }
    }

    private func accept(_ context: ChannelHandlerContext, _ header: FrameHeader, keyHash: [UInt8],
                        _ found: ServingSnapshot.Caller, afterReload: Bool) {
        caller = (keyHash, found)
        let scopes = ConnectionStateMachine.Scopes(found.scopes)
        if afterReload { machine.helloFoundAfterReload(scopes) } else { machine.authenticated(scopes) }
        logger[metadataKey: "caller"] = "\(found.name)"
        var response = PortalLinks_V1_HelloResponse()
        response.caller = found.name
        response.scopes = found.scopes.sorted()
        respond(context, header, response)
    }

    /// Refuses a Hello already counted as failed. An earlier successful Hello stays in force.
    private func refuseHello(_ context: ChannelHandlerContext, _ header: FrameHeader) {
        logger.info("hello refused", metadata: ["hello.failures": "\(machine.failedHellos)"])
        respond(context, header, .unauthenticated, message: "unknown or revoked API key")
        if machine.helloRefused() { close(context, reason: .tooManyFailedHellos) }
    }
}
