#if canImport(Glibc)
import Glibc
#endif
import PortalLinksWire

/// A plain blocking TCP connection to a server on loopback, for sending exactly the bytes an input holds
/// and reading answers with a time limit.
final class BlockingConnection {
    private let descriptor: Int32
    private var received: [UInt8] = []

    /// What went wrong, with the errno of the failing call where there was one.
    enum Failure: Error { case connect(errno: Int32), closed(errno: Int32), timedOut }

    init(port: Int, timeoutSeconds: Int = 15) throws(Failure) {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw .connect(errno: errno) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var noDelay: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        // Closed with a reset rather than left in TIME_WAIT: a fuzz run opens a connection per failed Hello,
        // more than the machine's ephemeral ports within TIME_WAIT's minute.
        var abortive = linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &abortive, socklen_t(MemoryLayout<linger>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let failure = errno
            close(descriptor)
            throw .connect(errno: failure)
        }
    }

    deinit { close(descriptor) }

    func send(method: UInt16, callID: UInt32, payload: [UInt8]) throws(Failure) {
        var frame: [UInt8] = [FrameHeader.requestVersion, 0]
        frame += withUnsafeBytes(of: method.bigEndian, Array.init)
        frame += withUnsafeBytes(of: callID.bigEndian, Array.init)
        frame += [0, 0, 0, 0]
        frame += withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init)
        frame += payload
        var sent = 0
        while sent < frame.count {
            let written = frame[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0, errno == EINTR { continue }  // libFuzzer's timer signal
            guard written > 0 else { throw .closed(errno: written < 0 ? errno : 0) }
            sent += written
        }
    }

    /// The next answer: header fields and payload.
    func receive() throws(Failure) -> (header: FrameHeader, payload: [UInt8]) {
        while true {
            if received.count >= FrameHeader.byteCount {
                let header = received.withUnsafeBytes { FrameHeader.peek(in: $0)! }
                let total = FrameHeader.byteCount + Int(header.payloadLength)
                if received.count >= total {
                    let payload = Array(received[FrameHeader.byteCount..<total])
                    received.removeFirst(total)
                    return (header, payload)
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            // libFuzzer's timer signal interrupts a receive with a time limit even under SA_RESTART.
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw .timedOut }
            guard count > 0 else { throw .closed(errno: count < 0 ? errno : 0) }
            received += chunk[..<count]
        }
    }
}
