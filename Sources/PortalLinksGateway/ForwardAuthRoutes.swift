import HTTPTypes
import Hummingbird
import NIOCore

/// Forward auth on Hummingbird's router: every request to `/auth/link` and `/auth/session` (and below) that
/// `InlineForwardAuth` passed on, which it does when a reload may be needed or a request is being answered
/// ahead of it on the connection.
struct ForwardAuthRoutes: Sendable {
    let forwardAuth: ForwardAuth

    func register(on router: Router<GatewayContext>) {
        for (endpoint, path) in [(ForwardAuth.Endpoint.link, "/auth/link"), (.session, "/auth/session")] {
            for route in [path, path + "/**"] {
                for method in ForwardAuth.Endpoint.methods {
                    router.on(RouterPath(route), method: method) { request, context in
                        let answer = await forwardAuth.answer(endpoint, request.head, peer: context.peer)
                        return Response(status: answer.status, headers: answer.headerFields,
                                        body: .init(byteBuffer: ByteBuffer(string: answer.body)))
                    }
                }
            }
        }
    }
}
