import CompressNIO
import Foundation
import Histogram
import NIOCore

/// A latency histogram as HdrHistogram's log format writes one ("HISTFAAA..."): the V2 encoding (a header,
/// then the counts in index order as ZigZag LEB128 numbers, a run of zeros as its negated length), compressed
/// with zlib behind a header of its own, in Base64. Every HdrHistogram implementation (Java, C, Go, Rust,
/// Python) reads it, so a run's latencies can be merged and examined with the field's own tools.
public enum HistogramText {
    static let v2Cookie: UInt32 = 0x1c84_9313
    static let compressedV2Cookie: UInt32 = 0x1c84_9314
    /// What a decoded histogram may take: more than any run's counts need, far less than a hostile file could ask.
    static let maximumInflatedBytes = 16 << 20

    public static func encode(_ histogram: Histogram<UInt64>) -> String {
        let layout = Layout(histogram)
        var counts = ByteBuffer()
        var index = 0
        // Up to the last index in use, as the reference encoder does (it stops at the maximum's index).
        let end = histogram.totalCount == 0 ? 1 : layout.index(of: histogram.max) + 1
        while index < end {
            let count = Int64(histogram.countForValue(layout.value(at: index)))
            index += 1
            if count == 0 {
                var zeros: Int64 = 1
                while index < end, histogram.countForValue(layout.value(at: index)) == 0 { zeros += 1; index += 1 }
                writeZigZag(zeros > 1 ? -zeros : 0, to: &counts)
            } else {
                writeZigZag(count, to: &counts)
            }
        }
        var v2 = ByteBuffer()
        v2.writeInteger(v2Cookie)
        v2.writeInteger(UInt32(counts.readableBytes))
        v2.writeInteger(UInt32(0))  // normalizing index offset
        v2.writeInteger(UInt32(histogram.numberOfSignificantValueDigits.rawValue))
        v2.writeInteger(histogram.lowestDiscernibleValue)
        v2.writeInteger(histogram.highestTrackableValue)
        v2.writeInteger(Double(1).bitPattern)  // integer-to-double conversion ratio
        v2.writeBuffer(&counts)
        var compressed = (try? v2.compress(with: .zlib())) ?? ByteBuffer()
        var encoded = ByteBuffer()
        encoded.writeInteger(compressedV2Cookie)
        encoded.writeInteger(UInt32(compressed.readableBytes))
        encoded.writeBuffer(&compressed)
        return Data(encoded.readableBytesView).base64EncodedString()
    }

    /// The histogram as its encoding keeps it: the exact minimum and maximum become their ranges' tops, as
    /// after any reader's decoding. Figures reported from it are the figures a merge of it reports.
    public static func normalized(_ histogram: Histogram<UInt64>) -> Histogram<UInt64> {
        (try? decode(encode(histogram))) ?? histogram
    }

    public struct DecodingError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func decode(_ text: String) throws -> Histogram<UInt64> {
        guard let data = Data(base64Encoded: text) else { throw DecodingError(description: "not Base64") }
        var outer = ByteBuffer(bytes: data)
        guard outer.readInteger(as: UInt32.self) == compressedV2Cookie, let length = outer.readInteger(as: UInt32.self),
              var compressed = outer.readSlice(length: Int(length)) else {
            throw DecodingError(description: "not a compressed V2 HdrHistogram")
        }
        guard var v2 = try? compressed.decompress(with: .zlib(), maxSize: maximumInflatedBytes) else {
            throw DecodingError(description: "its compressed counts do not inflate (or inflate past \(maximumInflatedBytes >> 20) MiB)")
        }
        guard v2.readInteger(as: UInt32.self) == v2Cookie, let payload = v2.readInteger(as: UInt32.self),
              v2.readInteger(as: UInt32.self) == 0, let digitsValue = v2.readInteger(as: UInt32.self),
              let lowest = v2.readInteger(as: UInt64.self), let highest = v2.readInteger(as: UInt64.self),
              v2.readInteger(as: UInt64.self) != nil, var counts = v2.readSlice(length: Int(payload)) else {
            throw DecodingError(description: "its V2 header is not one this reader takes (a normalizing offset, or cut short)")
        }
        guard let digits = SignificantDigits(rawValue: Int8(clamping: digitsValue)), lowest >= 1, lowest <= UInt64.max / 2,
              highest >= 2 * lowest, highest <= 1 << 62 else {
            throw DecodingError(description: "its range or precision is out of bounds")
        }
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: lowest, highestTrackableValue: highest, numberOfSignificantValueDigits: digits)
        let layout = Layout(histogram)
        var index = 0
        while counts.readableBytes > 0 {
            guard let count = readZigZag(from: &counts) else { throw DecodingError(description: "its counts are cut short") }
            if count < 0 {
                guard count >= -(1 << 32) else { throw DecodingError(description: "a run of zeros out of range") }
                index -= Int(count)
                continue
            }
            // At the top of its range of equivalent values, so that the maximum and the percentiles are the
            // reference implementation's (which gives each index's highest equivalent value).
            if count > 0, !histogram.record(histogram.highestEquivalentForValue(layout.value(at: index)), count: UInt64(count)) {
                throw DecodingError(description: "a count past its highest trackable value")
            }
            index += 1
        }
        return histogram
    }

    /// HdrHistogram's index of counts: bucket 0 holds `subBucketCount` values one unit apart, each later
    /// bucket the upper half of a range twice as wide.
    struct Layout {
        let subBucketHalfCountMagnitude: Int
        let unitMagnitude: Int

        init(_ histogram: Histogram<UInt64>) {
            let largestSingleUnit = 2 * pow(10, Double(histogram.numberOfSignificantValueDigits.rawValue))
            subBucketHalfCountMagnitude = max(Int(log2(largestSingleUnit).rounded(.up)), 1) - 1
            unitMagnitude = Int(log2(Double(histogram.lowestDiscernibleValue)))
        }

        func value(at index: Int) -> UInt64 {
            let subBucketHalfCount = 1 << subBucketHalfCountMagnitude
            var bucket = (index >> subBucketHalfCountMagnitude) - 1
            var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
            if bucket < 0 {
                subBucket -= subBucketHalfCount
                bucket = 0
            }
            let shift = bucket + unitMagnitude
            return shift >= 64 ? UInt64.max : UInt64(subBucket) << UInt64(shift)
        }

        func index(of value: UInt64) -> Int {
            let subBucketMask = (UInt64(1) << UInt64(subBucketHalfCountMagnitude + 1)) - 1
            let bucket = max(0, 64 - (value | (subBucketMask << UInt64(unitMagnitude))).leadingZeroBitCount - unitMagnitude
                             - (subBucketHalfCountMagnitude + 1))
            let subBucket = Int(value >> UInt64(bucket + unitMagnitude))
            return ((bucket + 1) << subBucketHalfCountMagnitude) + (subBucket - (1 << subBucketHalfCountMagnitude))
        }
    }

    /// ZigZag, then LEB128 as HdrHistogram writes it: seven bits a byte for eight bytes, all eight in a ninth.
    static func writeZigZag(_ value: Int64, to buffer: inout ByteBuffer) {
        var bits = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        for _ in 0..<8 {
            if bits < 0x80 {
                buffer.writeInteger(UInt8(bits))
                return
            }
            buffer.writeInteger(UInt8(bits & 0x7f | 0x80))
            bits >>= 7
        }
        buffer.writeInteger(UInt8(truncatingIfNeeded: bits))
    }

    static func readZigZag(from buffer: inout ByteBuffer) -> Int64? {
        var bits: UInt64 = 0
        for byteIndex in 0..<9 {
            guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
            if byteIndex == 8 {
                bits |= UInt64(byte) << 56
                break
            }
            bits |= UInt64(byte & 0x7f) << UInt64(7 * byteIndex)
            if byte < 0x80 { break }
        }
        return Int64(bitPattern: bits >> 1) ^ -Int64(bitPattern: bits & 1)
    }
}
