import HummingbirdCore
import NIOSSL
import PortalLinksService
import Logging
import NIOCore

/// Hummingbird's child channel (HTTP/1.1, over TLS or not) with a `ConnectionGuard` in front of it.
struct GuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let limits: HTTPLimits
    let connections: ConnectionCount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        // A refused connection is closed by the guard, not by failing the setup, which would reach the
        // listener's own channel as an error.
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits, connections: connections), position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 within `limits`, over TLS when `tls` is given (the binary listener's context, replaced with it on
    /// a reload), with forward-auth requests answered on the event loop when `forwardAuth` is given.
    static func guarded(_ limits: HTTPLimits, tls: ServerTLS?, connections: ConnectionCount,
                        forwardAuth: ForwardAuth?) -> HTTPServerBuilder {
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestBoundaries(maximumBodyBytes: limits.maximumBodyBytes)]
                + (forwardAuth.map { [InlineForwardAuth($0)] } ?? []),
            idleTimeout: nil,  // the guard's timers cover it
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maximumHeaderBytes, maxHeaderListSize: limits.maximumHeaderBytes,
                                            maxHeaderFieldCount: 100))
        return .init { responder in
            let http = HTTP1Channel(responder: responder, configuration: http1)
            guard let tls else { return GuardedChannel(base: http, limits: limits, connections: connections) }
            return GuardedChannel(base: ReloadableTLSChannel(base: http, tls: tls), limits: limits, connections: connections)
        }
    }
}

/// TLS in front of `base`, with the context `tls` holds when the connection is accepted.
struct ReloadableTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let tls: ServerTLS

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
