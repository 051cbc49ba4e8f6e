import Foundation
import NIOCore
import NIOPosix
import PortalLinksWire
import Synchronization

/// A bare TCP connection for sending arbitrary bytes and reading whatever frames come back.
public final class RawConnection: Sendable {
    public let channel: any Channel
    public let frames: AsyncStream<Frame>
    public let closed: EventLoopFuture<Void>

    public init(port: Int) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Frame.self)
        frames = stream
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(side: .client)))
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        closed = channel.closeFuture
    }

    public func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    public func send(_ frames: [Frame]) async throws {
        var buffer = ByteBuffer()
        for frame in frames { try FrameEncoder().encode(data: frame, out: &buffer) }
        try await channel.writeAndFlush(buffer)
    }

    /// The next `count` frames, or those that came if the connection closes or `seconds` pass first.
    public func receive(_ count: Int, within seconds: Double = 5) async -> [Frame] {
        let received = Received()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in self.frames {
                    if received.frames.withLock({ $0.append(frame); return $0.count }) == count { break }
                }
            }
            group.addTask { try? await Task.sleep(for: .seconds(seconds)) }
            await group.next()
            group.cancelAll()
        }
        return received.frames.withLock { $0 }
    }

    private final class Received: Sendable {
        let frames = Mutex<[Frame]>([])
    }

    /// Whether the server closes the connection within `seconds`.
    public func closesWithin(_ seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !channel.isActive
    }

    public func close() async { try? await channel.close() }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = Frame
        let continuation: AsyncStream<Frame>.Continuation
        init(continuation: AsyncStream<Frame>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}
