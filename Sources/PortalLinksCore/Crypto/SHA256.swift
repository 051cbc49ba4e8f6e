import CPortalLinks

public enum SHA256 {
    public static func hash(_ data: some Collection<UInt8>) -> [UInt8] {
        let input = Array(data)
        var out = [UInt8](repeating: 0, count: 32)
        input.withUnsafeBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { pl_sha256(inBuf.baseAddress, inBuf.count, $0.baseAddress) }
        }
        return out
    }
}
