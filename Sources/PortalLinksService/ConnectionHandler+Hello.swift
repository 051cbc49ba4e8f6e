import NIOCore
import PortalLinksCore
import PortalLinksMessages
import PortalLinksWire

/// Auth.Hello: a known key authenticates the connection; failures count per connection (the connection
/// closes after `maximumFailedHellos`) and per client address across connections (`FailedHelloThrottle`).
extension ConnectionHandler {
    func hello(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        guard let request: PortalLinks_V1_HelloRequest = decode(context, header, payload) else { return }
        let keyHash = SHA256.hash(Array(request.apiKey.utf8))
        if let found = snapshot.caller(keyHash: keyHash) {
            accept(context, header, keyHash: keyHash, caller: found)
            return
        }
        if let peerHost, case .refuse(let refused) = helloThrottle.failure(from: peerHost) {
            if let refused {
                logger.warning("throttling failed hellos from this address", metadata: ["hello.refused": "\(refused)"])
            }
            respond(context, header, .resourceExhausted, message: "too many failed Hellos from this address; retry later")
            // An earlier successful Hello stays in force; a connection without one is closed.
            if caller == nil {
                refusing = true
                if inFlight == 0 { close(context, reason: "failed hellos throttled") }
            }
            return
        }
        // Counted as a failure now, so that a read full of Hellos meets the limit at once.
        failedHellos += 1
        guard !reloadedForHello, failedHellos < configuration.maximumFailedHellos else {
            refuseHello(context, header)
            return
        }
        // The caller may have been added a moment ago: reload once per connection (and at most every 250 ms
        // across the server), then answer.
        reloadedForHello = true
        afterReload(context) { handler, context in
            if let found = handler.snapshot.caller(keyHash: keyHash) {
                handler.failedHellos -= 1
                handler.accept(context, header, keyHash: keyHash, caller: found)
            } else {
                handler.refuseHello(context, header)
            }
        }
    }

    func accept(_ context: ChannelHandlerContext, _ header: FrameHeader, keyHash: [UInt8], caller found: ServingSnapshot.Caller) {
        setCaller((keyHash, found))
        logger[metadataKey: "caller"] = "\(found.name)"
        var response = PortalLinks_V1_HelloResponse()
        response.caller = found.name
        response.scopes = found.scopes.sorted()
        respond(context, header, response)
    }

    func setCaller(_ new: (keyHash: [UInt8], caller: ServingSnapshot.Caller)?) {
        caller = new
        mayVerify = new?.caller.scopes.contains("verify") ?? false
        mayIssue = new?.caller.scopes.contains("issue") ?? false
        mayManageAccounts = new?.caller.scopes.contains("accounts") ?? false
    }

    /// Refuses a Hello already counted in `failedHellos`. An earlier successful Hello stays in force.
    func refuseHello(_ context: ChannelHandlerContext, _ header: FrameHeader) {
        logger.info("hello refused", metadata: ["hello.failures": "\(failedHellos)"])
        respond(context, header, .unauthenticated, message: "unknown or revoked API key")
        if failedHellos >= configuration.maximumFailedHellos {
            refusing = true
            if inFlight == 0 { close(context, reason: "too many failed hellos") }
        }
    }
}
